"""The image files the project reads, one list for training folders and the Live page alike, and what a file it
cannot read is, for a message that names it.

HEIC photos (what iPhones take) open like any other image once `register_formats()` has run: the trainers call it
before decoding a folder, the dashboard as it starts. AVIF is Pillow's own plugin. No TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath

import pillow_heif
from PIL import Image, features


def register_formats() -> None:
    """Registers with Pillow the formats of `READABLE_FORMATS` it does not read by itself: pillow-heif's HEIC
    reader (and writer). Call it before opening a file; harmless again.

    libheif applies a HEIC's rotation itself and pillow-heif then gives EXIF orientation 1 (upright), so that
    `ImageOps.exif_transpose` does not turn the photo a second time."""
    if ".heic" not in Image.registered_extensions():
        pillow_heif.register_heif_opener()


@dataclass(frozen=True)
class ImageFormat:
    """A readable format: its name as a person says it, Pillow's names for it, and its file name extensions."""

    name: str
    pillow_formats: tuple[str, ...]
    extensions: tuple[str, ...]


# In the order a message lists them: the common ones first. MPO is the multi-picture JPEG many phone cameras write.
READABLE_FORMATS = tuple(image_format for image_format in (
    ImageFormat("JPEG", ("JPEG", "MPO"), (".jpg", ".jpeg", ".jpe", ".jfif")),
    ImageFormat("PNG", ("PNG",), (".png",)),
    ImageFormat("HEIC", ("HEIF",), (".heic", ".heif", ".hif")),
    ImageFormat("WebP", ("WEBP",), (".webp",)),
    ImageFormat("AVIF", ("AVIF",), (".avif",)),
    ImageFormat("TIFF", ("TIFF",), (".tif", ".tiff")),
    ImageFormat("BMP", ("BMP",), (".bmp",)),
    ImageFormat("GIF", ("GIF",), (".gif",)),
) if image_format.name != "AVIF" or features.check("avif"))  # a Pillow built without libavif reads no AVIF
PILLOW_FORMATS = tuple(name for image_format in READABLE_FORMATS for name in image_format.pillow_formats)
FILE_EXTENSIONS = tuple(extension for image_format in READABLE_FORMATS for extension in image_format.extensions)
FORMAT_NAMES = ", ".join(image_format.name for image_format in READABLE_FORMATS[:-1]) + \
    f" or {READABLE_FORMATS[-1].name}"
# Pillow formats whose further frames are an animation, and those whose are pages (an MPO's are previews or depth
# maps: neither).
ANIMATED_FORMATS = ("GIF", "PNG", "WEBP", "AVIF")
PAGED_FORMATS = ("TIFF",)

# Camera RAW files: several are TIFF inside, which Pillow would open as their small preview or not at all.
RAW_EXTENSIONS = (".cr2", ".cr3", ".crw", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".dng", ".raf", ".orf", ".rw2",
                  ".pef", ".srw", ".x3f", ".3fr", ".erf", ".kdc", ".mrw", ".rwl", ".iiq")


def image_of(format_name: str) -> str:
    """The phrase for an image file of a format: "a PNG image", "an AVIF image"."""
    return f"{'an' if format_name[0] in 'AEFILMNORSX' else 'a'} {format_name} image"


# Brands of ISO media files (their bytes 8 to 12): images, a RAW photo, videos, sound; the rest of the family
# (isom, mp41, mp42, avc1, 3gp4...) are MP4 videos.
HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1")
ISO_MEDIA_KINDS = {b"avif": image_of("AVIF"), b"avis": image_of("AVIF"), b"crx ": "a RAW photo (CR3)",
                   b"qt  ": "a video (QuickTime)", b"M4A ": "a sound file (M4A)"}
RIFF_KINDS = {b"WEBP": image_of("WebP"), b"AVI ": "a video (AVI)", b"WAVE": "a sound file (WAV)"}
SIGNATURES = {  # a file's first bytes: what it is
    b"\x89PNG\r\n\x1a\n": image_of("PNG"), b"\xff\xd8\xff": image_of("JPEG"), b"GIF87a": image_of("GIF"),
    b"GIF89a": image_of("GIF"), b"II*\x00": image_of("TIFF"), b"MM\x00*": image_of("TIFF"), b"BM": image_of("BMP"),
    b"%PDF-": "a PDF document", b"\x1aE\xdf\xa3": "a video (WebM or Matroska)", b"8BPS": "a Photoshop document (PSD)",
    b"PK\x03\x04": "a ZIP archive (or an Office document)", b"ID3": "a sound file (MP3)", b"OggS": "an Ogg media file",
}


def is_image_file(path: PurePath | str) -> bool:
    """Whether a training folder's file is read as an image, by its extension (any case)."""
    return PurePath(path).suffix.lower() in FILE_EXTENSIONS


def file_kind(name: str, data: bytes) -> str:
    """What a file is, as a phrase for a message ("an SVG drawing", "a video (MP4)", "a RAW photo (NEF)"), from
    its first bytes, and from its name for RAW photos; "" when neither says.

    Example:
        >>> file_kind("drawing", b'<?xml version="1.0"?><svg width="4"/>')
        'an SVG drawing'
    """
    extension = PurePath(name).suffix.lower()
    if extension in RAW_EXTENSIONS:
        return f"a RAW photo ({extension[1:].upper()})"
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        return image_of("HEIC") if brand in HEIF_BRANDS else ISO_MEDIA_KINDS.get(brand, "a video (MP4)")
    if data.startswith(b"RIFF") and data[8:12] in RIFF_KINDS:
        return RIFF_KINDS[data[8:12]]
    head = data[:4096]
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<?xml", b"<svg", b"<!doctype svg")) and b"<svg" in text:
        return "an SVG drawing"
    if text.startswith((b"<!doctype html", b"<html")):
        return "a web page (HTML)"
    kind = next((kind for signature, kind in SIGNATURES.items() if data.startswith(signature)), "")
    # Text: no NUL byte, and UTF-8 but for a character the 4096 bytes may have cut.
    if not kind and head and b"\x00" not in head and head.decode("utf-8", "replace").count("\ufffd") <= 1:
        return "a text file"
    return kind


def is_readable_kind(kind: str) -> bool:
    """Whether `file_kind` named a readable format ("a PNG image"): a file of it that Pillow cannot open is
    truncated or damaged."""
    return any(image_of(image_format.name) == kind for image_format in READABLE_FORMATS)
