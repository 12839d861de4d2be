"""What a run was trained on: the machine and the library versions, as its run.json records them."""

from __future__ import annotations

import os
import platform
import shlex
import sys


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


def start_tensorflow_quietly() -> None:
    """Imports TensorFlow and looks for GPUs with the process's standard error (file descriptor 2) sent to
    /dev/null, for a command's output without TensorFlow's C++ start-up lines (oneDNN, "Could not find cuda
    drivers", "failed call to cuInit" on a machine without a GPU): they are written before its logging starts, past
    sys.stderr and TF_CPP_MIN_LOG_LEVEL. Does nothing when TensorFlow is imported already or the user set
    TF_CPP_MIN_LOG_LEVEL, to see them. A Python exception (TensorFlow not installed, say) is raised as usual."""
    if "tensorflow" in sys.modules or "TF_CPP_MIN_LOG_LEVEL" in os.environ:
        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"  # what TensorFlow logs later: warnings and errors only
    sys.stderr.flush()
    saved, sink = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(sink, 2)
    try:
        import tensorflow as tf

        tf.config.list_physical_devices("GPU")
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(sink)


def hardware(*, count_gpus: bool = True) -> dict:
    """The machine: architecture, CPU model, cores, and the GPUs TensorFlow sees (`count_gpus`: it imports
    TensorFlow, which a run recorded from another framework's arrays does not need)."""
    found = {"machine": platform.machine(), "processor": processor_name(), "cpus": os.cpu_count()}
    if not count_gpus:
        return found
    import tensorflow as tf  # deferred: TensorFlow takes seconds to import

    return {**found, "gpus": len(tf.config.list_physical_devices("GPU"))}


def library_versions() -> dict:
    """The versions of the libraries that decide what a training run computes."""
    import keras
    import numpy as np
    import sklearn
    import tensorflow as tf

    return {"python": platform.python_version(), "tensorflow": tf.__version__, "keras": keras.__version__,
            "numpy": np.__version__, "scikit-learn": sklearn.__version__}


# The frameworks a run recorded from arrays may come from, by module name and as run.json names them.
FRAMEWORKS = {"torch": "torch", "jax": "jax", "tensorflow": "tensorflow", "keras": "keras", "sklearn": "scikit-learn",
              "lightning": "lightning", "numpy": "numpy"}


def loaded_library_versions() -> dict:
    """The versions of the frameworks this process has imported already, importing none."""
    found = {"python": platform.python_version()}
    for module, name in FRAMEWORKS.items():
        version = getattr(sys.modules.get(module), "__version__", None)
        if isinstance(version, str):
            found[name] = version
    return found


def command_line() -> str:
    """What the run was started from: the notebook's path (Jupyter and VS Code name it), else the command."""
    main = sys.modules.get("__main__")
    notebook = os.environ.get("JPY_SESSION_NAME") or getattr(main, "__vsc_ipynb_file__", None)
    if notebook:
        return f"notebook {notebook}"
    return "python " + shlex.join(sys.argv) if sys.argv and sys.argv[0] else ""
