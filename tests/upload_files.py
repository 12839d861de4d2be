"""Images a user could upload, built with Pillow (and pillow-heif), numpy or a few lines of PNG (no binary
fixtures): every mode Pillow reads from a readable format, phone photos turned by their orientation, and the
opening of files the Live page names but cannot read."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image

from colour_images import COLOURS, colour_image
from trainers.inference.image_files import register_formats


def encoded(image: Image.Image, format: str, **options) -> bytes:
    data = io.BytesIO()
    image.save(data, format=format, **options)
    return data.getvalue()


def png(width: int, height: int, rows, *, bit_depth: int = 8, colour_type: int = 2, transparent: bytes = b"") -> bytes:
    """A PNG written by hand, for what Pillow cannot write (16-bit RGB, gigapixel bombs).

    `rows` yields each row's bytes with its filter byte; colour types: 0 grey, 2 RGB, 4 grey + alpha, 6 RGBA.
    """
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    # Run-length strategy: a constant row filtered with Sub is one pixel then zeros, compressed in no time.
    compressor = zlib.compressobj(9, strategy=zlib.Z_RLE)
    pixels = b"".join(compressor.compress(row) for row in rows) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + (chunk(b"tRNS", transparent) if transparent else b"")
            + chunk(b"IDAT", pixels) + chunk(b"IEND", b""))


def png_16_bit(values: np.ndarray, colour_type: int, transparent: bytes = b"") -> bytes:
    """A 16-bit PNG of (H, W) or (H, W, channels) values 0-65535."""
    rows = values.astype(">u2").reshape(len(values), -1)
    return png(values.shape[1], len(values), (b"\0" + row.tobytes() for row in rows), bit_depth=16,
               colour_type=colour_type, transparent=transparent)


def constant_png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """An RGB PNG of one colour at any size, a few hundred KB per 100 megapixels."""
    row = b"\x01" + bytes(rgb) + bytes(3 * (width - 1))  # Sub filter: each byte minus its left neighbour
    return png(width, height, (row for _ in range(height)))


RAMP = np.array([0, 256, 32768, 65535], np.uint16)  # black, the least step of 8 bits, mid-grey, white


def palette_with_transparency() -> Image.Image:
    image = colour_image(COLOURS["red"], (8, 8)).quantize(4)
    image.info["transparency"] = image.getpixel((0, 0))
    return image


def with_a_transparent_corner(mode: str) -> Image.Image:
    image = colour_image(COLOURS["red"], mode="RGBA")
    image.putpixel((0, 0), (0, 0, 0, 0))
    return image.convert(mode)


# Every mode Pillow reads from an accepted format, as files a user could upload.
ODD_FILES = {
    "grey.png": encoded(colour_image(COLOURS["red"], mode="L"), "PNG"),
    "grey16.png": encoded(Image.fromarray(RAMP[None].repeat(4, axis=0)), "PNG"),
    "rgb16.png": png_16_bit(np.full((4, 4, 3), 40000), colour_type=2),
    "bilevel.png": encoded(colour_image(COLOURS["red"], mode="1"), "PNG"),
    "palette.png": encoded(colour_image(COLOURS["red"], mode="P"), "PNG"),
    "keyed.png": encoded(palette_with_transparency(), "PNG"),
    "rgba.png": encoded(with_a_transparent_corner("RGBA"), "PNG"),
    "la.png": encoded(with_a_transparent_corner("LA"), "PNG"),
    "cmyk.jpg": encoded(colour_image(COLOURS["red"], mode="CMYK"), "JPEG"),
    "grey.jpg": encoded(colour_image(COLOURS["red"], mode="L"), "JPEG"),
    "rgba.webp": encoded(with_a_transparent_corner("RGBA"), "WEBP", lossless=True),
    "grey.bmp": encoded(colour_image(COLOURS["red"], mode="L"), "BMP"),
    "bilevel.bmp": encoded(colour_image(COLOURS["red"], mode="1"), "BMP"),
    "palette.bmp": encoded(colour_image(COLOURS["red"], mode="P"), "BMP"),
    "palette.gif": encoded(colour_image(COLOURS["red"], mode="P"), "GIF"),
    "transparent.gif": encoded(palette_with_transparency(), "GIF"),
}


TRANSPARENT_FILES = ("keyed.png", "rgba.png", "la.png", "rgba.webp", "transparent.gif")


def iso_media(brand: bytes) -> bytes:
    """The opening box of an ISO media file, as HEIC and AVIF images and MP4 videos start."""
    return struct.pack(">I", 24) + b"ftyp" + brand + struct.pack(">I", 0) + b"mif1" + brand + bytes(64)


def halves(top, bottom, size=(20, 40)) -> Image.Image:
    """An RGB image, `top` colour above `bottom`."""
    image = Image.new("RGB", size, bottom)
    image.paste(top, (0, 0, size[0], size[1] // 2))
    return image


# EXIF orientations, and how a camera stores the pixels of an upright picture for each.
STORED_AS = {3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}


def phone_photo(format: str, orientation: int = 6, **options) -> bytes:
    """A 20 x 40 picture, red above blue, stored turned as a phone held sideways stores it, with its EXIF
    orientation; a HEIC gets it as its container's rotation too (pillow-heif writes it, as iPhones do)."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encoded(halves(COLOURS["red"], COLOURS["blue"]).transpose(STORED_AS[orientation]), format,
                   exif=exif.tobytes(), quality=90, **options)


register_formats()  # the HEIC writer, for tests that build no image through the project first
HEIC = phone_photo("HEIF")  # what iPhones take
