"""Stores many small images losslessly as WebP contact sheets.

The run store keeps each test set's images for the dashboard. Tiled into
lossless WebP sheets they take less room than raw pixels in a compressed .npz,
and decode back bit for bit.

`encode` returns plain arrays, so the sheets travel inside the same
`allow_pickle=False` .npz as the ids and labels; `decode` checks every sheet's
declared size before decoding it, so a forged file cannot make it allocate
more than the images it claims to hold.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

# Pillow refuses images above ~179M pixels; sheets stay far below that.
SHEET_SIDE = 4096
WEBP_MAX_SIDE = 16383
# method 1, quality 0: about the size of WebP's smallest lossless output (method 6, quality 100), in a fraction
# of its time to write.
_WEBP_OPTIONS = dict(format="WEBP", lossless=True, quality=0, method=1, exact=True)


def _grid(height: int, width: int) -> tuple[int, int]:
    """Columns and rows of one sheet for images of this size."""
    return max(1, SHEET_SIDE // width), max(1, SHEET_SIDE // height)


def _sheet_shape(in_sheet: int, columns: int) -> tuple[int, int]:
    """Columns and rows of a sheet holding `in_sheet` images: full rows, the last one padded."""
    sheet_columns = min(columns, in_sheet)
    return sheet_columns, -(-in_sheet // sheet_columns)


def encode(images: np.ndarray) -> dict[str, np.ndarray]:
    """Tiles (N, H, W, 3) uint8 images into lossless WebP sheets.

    Returns arrays for `np.savez`: `image_shape` (N, H, W, 3), `sheets` (the
    WebP files back to back) and `sheet_ends` (where each one ends).
    """
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"expected (N, H, W, 3) uint8 images, got {images.shape} {images.dtype}")
    count, height, width, _ = images.shape
    if max(height, width) > WEBP_MAX_SIDE:
        raise ValueError(f"images of {width}x{height} pixels exceed WebP's {WEBP_MAX_SIDE}-pixel side")
    columns, rows = _grid(height, width)
    per_sheet = columns * rows
    files = []
    for start in range(0, count, per_sheet):
        chunk = images[start:start + per_sheet]
        sheet_columns, sheet_rows = _sheet_shape(len(chunk), columns)
        padded = np.zeros((sheet_rows * sheet_columns, height, width, 3), np.uint8)
        padded[:len(chunk)] = chunk
        sheet = padded.reshape(sheet_rows, sheet_columns, height, width, 3).swapaxes(1, 2)
        buffer = io.BytesIO()
        Image.fromarray(sheet.reshape(sheet_rows * height, sheet_columns * width, 3)).save(buffer, **_WEBP_OPTIONS)
        files.append(np.frombuffer(buffer.getvalue(), np.uint8))
    return {
        "image_shape": np.array(images.shape, np.int64),
        "sheets": np.concatenate(files) if files else np.zeros(0, np.uint8),
        "sheet_ends": np.cumsum([len(f) for f in files], dtype=np.int64),
    }


def decode(image_shape: np.ndarray, sheets: np.ndarray, sheet_ends: np.ndarray) -> np.ndarray:
    """The (N, H, W, 3) uint8 images that `encode` stored; ValueError if the arrays disagree."""
    count, height, width, channels = (int(v) for v in image_shape)
    if count < 0 or height < 1 or width < 1 or channels != 3 or max(height, width) > WEBP_MAX_SIDE:
        raise ValueError(f"implausible image shape {tuple(image_shape)}")
    columns, rows = _grid(height, width)
    per_sheet = columns * rows
    expected_sheets = -(-count // per_sheet)
    if len(sheet_ends) != expected_sheets:
        raise ValueError(f"{len(sheet_ends)} sheets for {count} images; expected {expected_sheets}")
    images = np.empty((count, height, width, 3), np.uint8)
    start = 0
    for index, end in enumerate(sheet_ends.tolist()):
        first = index * per_sheet
        in_sheet = min(per_sheet, count - first)
        sheet_columns, sheet_rows = _sheet_shape(in_sheet, columns)
        try:
            with Image.open(io.BytesIO(sheets[start:end].tobytes()), formats=["WEBP"]) as sheet:
                # Checked before decoding: the header alone says how much memory decoding would take.
                if sheet.size != (sheet_columns * width, sheet_rows * height):
                    raise ValueError(f"sheet {index} is {sheet.size[0]}x{sheet.size[1]} pixels; "
                                     f"expected {sheet_columns * width}x{sheet_rows * height}")
                pixels = np.asarray(sheet.convert("RGB"))
        except Image.DecompressionBombError as error:
            raise ValueError(str(error)) from None
        tiles = pixels.reshape(sheet_rows, height, sheet_columns, width, 3).swapaxes(1, 2)
        images[first:first + in_sheet] = tiles.reshape(-1, height, width, 3)[:in_sheet]
        start = end
    return images
