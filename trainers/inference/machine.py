"""What a run was trained on: the machine and the library versions, as its run.json records them."""

from __future__ import annotations

import os
import platform


def processor_name() -> str:
    """The CPU's model name ("Intel(R) Xeon(R) ..."); platform.processor() says only "x86_64" on Linux."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def hardware() -> dict:
    """The machine: architecture, CPU model, cores, and the GPUs TensorFlow sees."""
    import tensorflow as tf  # deferred: TensorFlow takes seconds to import

    return {"machine": platform.machine(), "processor": processor_name(), "cpus": os.cpu_count(),
            "gpus": len(tf.config.list_physical_devices("GPU"))}


def library_versions() -> dict:
    """The versions of the libraries that decide what a training run computes."""
    import keras
    import numpy as np
    import sklearn
    import tensorflow as tf

    return {"python": platform.python_version(), "tensorflow": tf.__version__, "keras": keras.__version__,
            "numpy": np.__version__, "scikit-learn": sklearn.__version__}
