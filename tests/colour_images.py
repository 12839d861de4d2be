"""Generated images of colour classes, which a tiny CNN learns in a few steps, and class-per-folder trees of them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

# Colour classes a tiny CNN learns in a few steps; the mean colour of each class's images.
COLOURS = {"blue": (30, 40, 220), "green": (40, 200, 50), "red": (220, 30, 40)}


def colour_image(colour, size=(24, 24), mode="RGB", seed=0) -> Image.Image:
    """A noisy image of one colour, converted to `mode`."""
    rng = np.random.default_rng(seed)
    pixels = np.clip(np.array(colour) + rng.normal(0, 25, (size[1], size[0], 3)), 0, 255).astype(np.uint8)
    image = Image.fromarray(pixels, "RGB")
    return image.convert(mode) if mode != "RGB" else image


def make_image_folder(root: Path, per_class: int = 8, test_per_class: int = 4, mixed: bool = False) -> Path:
    """Writes train/ and test/ class folders of colour images; `mixed` varies size, mode and format."""
    variants = [((24, 24), "RGB", "png"), ((40, 30), "RGBA", "png"), ((17, 33), "L", "jpg"),
                ((32, 32), "P", "gif"), ((20, 20), "RGB", "webp"), ((28, 28), "RGB", "bmp")]
    for split, count in (("train", per_class), ("test", test_per_class)):
        for name, colour in COLOURS.items():
            folder = root / split / name
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(count):
                size, mode, ext = variants[i % len(variants)] if mixed else variants[0]
                colour_image(colour, size, mode, seed=i).save(folder / f"{i:03d}.{ext}")
    return root
