"""What the training benchmarks share: where the CIFAR-10 copy is, and how the figures end a run."""

from __future__ import annotations

import shlex
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
# The real CIFAR-10 as JPEG files, beside the repository on the project's machines (see its README).
CIFAR10_COPY = REPO_ROOT.parent / "shared" / "datasets" / "cifar10-jpeg"


def key_values(figures: dict) -> str:
    """The figures as one line of key=value pairs, the last line a benchmark prints; values with spaces are quoted.

    Example:
        >>> key_values({"preset": "cnn_air", "wall_s": 812.4, "cpu": "Intel(R) Xeon(R)"})
        "preset=cnn_air wall_s=812.4 cpu='Intel(R) Xeon(R)'"
    """
    return " ".join(f"{key}={shlex.quote(str(value))}" for key, value in figures.items())
