"""Settings of the whole dashboard process, applied once as it starts (Home.py), never on importing a module:
Pillow's decompression-bomb limit, the image formats Pillow reads (HEIC), and Keras' session kept between script
runs."""

from __future__ import annotations

from PIL import Image

from dashboard.lib.keras_session import keep_keras_session
from trainers.inference import image_files

# 12,000 x 10,000: phones' 48 and 108 MP photos pass; Pillow refuses twice this before decoding (a decompression
# bomb), and the Live page refuses more than this itself.
MAX_IMAGE_PIXELS = 120_000_000


def apply_process_settings() -> None:
    """Applies the dashboard's process-wide settings; harmless again."""
    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    image_files.register_formats()
    keep_keras_session()
