"""Where this tool keeps what it can make again: decoded data sets, and the local mirror of a bucket's runs."""

from __future__ import annotations

import os
from pathlib import Path


def default_cache_dir() -> Path:
    return Path(os.environ.get("CNN_COMPARE_CACHE", Path.home() / ".cache" / "cnn-compare"))
