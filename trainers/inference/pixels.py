"""A model's view of an image: any PIL image decoded upright, made 8-bit RGB and resized to the model's input.

Training data and the dashboard's uploads go through the same functions, so both see images the same way.
No TensorFlow: the dashboard decodes uploads before any model is loaded.
"""

from __future__ import annotations

import numpy as np
from PIL import ExifTags, Image, ImageOps

# The colour transparent parts of an image are composited on, as a PIL colour name (shown to users too).
TRANSPARENT_BACKGROUND = "white"
# How Pillow holds 16-bit greyscale (PNG, TIFF; "I" in older Pillow): values 0 to 65535.
SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")



def image_to_pixels(image: Image.Image, image_size: int) -> np.ndarray:
    """The model's view of any PIL image: upright, RGB, squashed to `image_size`, uint8.

    Used for training data and for the dashboard's uploads alike, so both see
    images the same way.

    Args:
        image: any PIL image; a JPEG not yet loaded is decoded at reduced size (see `decode_upright`).
        image_size: side in pixels of the square the image is resized to.

    Returns:
        (image_size, image_size, 3) uint8 pixels.
    """
    image = to_rgb(decode_upright(image, image_size))
    if image.size != (image_size, image_size):
        image = image.resize((image_size, image_size), Image.Resampling.BICUBIC)
    return np.asarray(image, dtype=np.uint8)


def decode_upright(image: Image.Image, min_side: int) -> Image.Image:
    """Decodes a PIL image and turns it upright by its EXIF orientation, in its own mode.

    A JPEG not yet loaded is decoded at 1/2, 1/4 or 1/8 of its size (libjpeg's
    reduced-size decoding, `Image.draft`) while keeping at least `min_side`
    pixels on each side: a 48-megapixel photo wanted at 1024 px then never
    takes its full size in memory. This changes the caller's unloaded image.
    Other formats are decoded at full size.

    Args:
        image: any PIL image.
        min_side: the fewest pixels on each side the caller needs.

    Returns:
        The decoded image: `image` itself when it is upright already.
    """
    image.draft("RGB", (min_side, min_side))  # a no-op for other formats and for loaded images
    image.load()
    if image.getexif().get(ExifTags.Base.Orientation, 1) != 1:
        image = ImageOps.exif_transpose(image)  # before any resizing, which squashes the sides unequally
    return image


def to_rgb(image: Image.Image) -> Image.Image:
    """Any PIL image in 8-bit RGB: 16-bit greyscale scaled, transparency composited on `TRANSPARENT_BACKGROUND`.

    Returns:
        `image` itself when it is RGB without transparency, else a new image.
    """
    if image.mode in SIXTEEN_BIT_MODES:
        image = _eight_bit(image)
    if image.has_transparency_data:
        rgba = image if image.mode == "RGBA" else image.convert("RGBA")
        # Composite rather than drop the alpha channel, which would turn transparent parts black or noise.
        image = Image.new("RGB", rgba.size, TRANSPARENT_BACKGROUND)
        image.paste(rgba, mask=rgba)
    return image if image.mode == "RGB" else image.convert("RGB")


def _eight_bit(image: Image.Image) -> Image.Image:
    """A 16-bit greyscale image scaled to 8 bits (its high byte), where Pillow's `convert` would clip at 255."""
    values = np.asarray(image)
    grey = Image.fromarray((np.clip(values, 0, 65535) >> 8).astype(np.uint8))
    transparent = image.info.get("transparency")  # a PNG's 16-bit transparent grey level
    if not isinstance(transparent, int):
        return grey
    return Image.merge("LA", (grey, Image.fromarray(np.where(values == transparent, 0, 255).astype(np.uint8))))
