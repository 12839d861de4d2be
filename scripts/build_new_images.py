"""Builds the folders of new images the shipped runs are evaluated on (`trainers.evaluate --eval-set`), from what a
machine without a network has: CIFAR-10's test images and scikit-learn's handwritten digits.

    python scripts/build_new_images.py ../shared/datasets/cifar10-jpeg OUT

OUT/recaptured/<class>/*.jpg   1,000 test images (100 per class), each photographed again: enlarged to a 128 px
                               print, framed anew (turned up to 15 degrees, zoomed 0.8 to 1.25 times, moved up to a
                               tenth of the frame; the edges continued by reflection), lit anew (brightness, contrast,
                               saturation, colour temperature) and brought back to 32 px as a JPEG of quality 60 to
                               95: the shift of framing, light and compression that a photo taken by hand has.
OUT/recaptured/digits/*.jpg    300 handwritten digits (scikit-learn's `load_digits`): images of none of the classes.
OUT/unsorted/*.jpg             300 other test images recaptured alike and 40 other digits, in one flat folder: a set
                               without labels. Its true classes are in OUT/unsorted-truth.csv, kept out of the folder,
                               to check the estimates made without them.

The test images are new to the models as CIFAR-10's test set is (never trained on); their recaptured pixels are new
to every model. Deterministic: the same inputs and seed give the same files.
"""

from __future__ import annotations

import argparse
import csv
import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance
from sklearn.datasets import load_digits

PRINT_SIZE = 128  # px: the size the image is "printed" at before it is photographed again
SIDE = 32


def recaptured(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """The image photographed again: framed, lit and compressed anew (see the module's docstring)."""
    big = np.asarray(image.convert("RGB").resize((PRINT_SIZE, PRINT_SIZE), Image.Resampling.BICUBIC))
    pad = PRINT_SIZE // 2
    padded = Image.fromarray(np.pad(big, ((pad, pad), (pad, pad), (0, 0)), mode="reflect"))
    angle, zoom = rng.uniform(-15, 15), rng.uniform(0.8, 1.25)
    shift = rng.uniform(-0.1, 0.1, size=2) * PRINT_SIZE
    turned = padded.rotate(angle, resample=Image.Resampling.BICUBIC, translate=tuple(shift))
    middle, half = padded.width / 2, PRINT_SIZE / (2 * zoom)
    framed = turned.crop((round(middle - half), round(middle - half), round(middle + half), round(middle + half)))
    for enhancer, low, high in ((ImageEnhance.Brightness, 0.7, 1.3), (ImageEnhance.Contrast, 0.7, 1.3),
                                (ImageEnhance.Color, 0.6, 1.4)):
        framed = enhancer(framed).enhance(rng.uniform(low, high))
    warmth = rng.uniform(-0.1, 0.1)
    pixels = np.asarray(framed, np.float32) * np.array([1 + warmth, 1.0, 1 - warmth], np.float32)
    small = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).resize((SIDE, SIDE), Image.Resampling.LANCZOS)
    return _as_jpeg(small, int(rng.integers(60, 96)))


def digit(pixels: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """An 8x8 digit of 0 to 16 as ink on paper at 32 px, in a random ink and paper colour."""
    ink, paper = rng.integers(0, 90, size=3), rng.integers(150, 256, size=3)
    share = (pixels / 16.0)[..., None]
    image = Image.fromarray((paper * (1 - share) + ink * share).astype(np.uint8))
    return _as_jpeg(image.resize((SIDE, SIDE), Image.Resampling.BILINEAR), 90)


def _as_jpeg(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue()))


def build(cifar: Path, out: Path, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    classes = sorted(path.name for path in (cifar / "test").iterdir() if path.is_dir())
    digits = load_digits().images
    digit_order = rng.permutation(len(digits))
    truth = []
    for class_name in classes:
        files = sorted((cifar / "test" / class_name).glob("*.jpg"))
        chosen = rng.permutation(len(files))[:130]
        (out / "recaptured" / class_name).mkdir(parents=True, exist_ok=True)
        for position in chosen[:100]:
            recaptured(Image.open(files[position]), rng).save(
                out / "recaptured" / class_name / files[position].name, quality=100)
        (out / "unsorted").mkdir(parents=True, exist_ok=True)
        for position in chosen[100:]:
            name = f"{len(truth):04d}.jpg"
            recaptured(Image.open(files[position]), rng).save(out / "unsorted" / name, quality=100)
            truth.append((name, class_name))
    (out / "recaptured" / "digits").mkdir(parents=True, exist_ok=True)
    for position in digit_order[:300]:
        digit(digits[position], rng).save(out / "recaptured" / "digits" / f"{position:04d}.jpg", quality=100)
    for position in digit_order[300:340]:
        name = f"{len(truth):04d}.jpg"
        digit(digits[position], rng).save(out / "unsorted" / name, quality=100)
        truth.append((name, "digits"))
    # Shuffled names: the flat folder's order says nothing of the classes.
    order = rng.permutation(len(truth))
    renamed = []
    for new_position, old_position in enumerate(order):
        old_name, class_name = truth[old_position]
        new_name = f"photo-{new_position:04d}.jpg"
        (out / "unsorted" / old_name).rename(out / "unsorted" / f"tmp-{new_name}")
        renamed.append((new_name, class_name))
    for new_name, _ in renamed:
        (out / "unsorted" / f"tmp-{new_name}").rename(out / "unsorted" / new_name)
    with open(out / "unsorted-truth.csv", "w", newline="") as file:
        csv.writer(file).writerows([("id", "class"), *sorted(renamed)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("cifar", type=Path, help="a CIFAR-10 folder with test/<class>/*.jpg")
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if (args.out / "recaptured").exists() or (args.out / "unsorted").exists():
        parser.error(f"'{args.out}' already holds the sets: give an empty folder")
    build(args.cifar, args.out, args.seed)
    print(f"wrote {args.out / 'recaptured'} and {args.out / 'unsorted'}")


if __name__ == "__main__":
    main()
