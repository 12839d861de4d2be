"""Unusual but valid images, and bad files made outside the project, as the Live page and the trainers read them.

Every image is built here with Pillow, numpy or a few lines of PNG (no binary fixtures): each valid one reads
upright, in 8-bit RGB, at its full range; each bad one is refused with one message that names the file.
"""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from colour_images import COLOURS, colour_image
from paths import REPO_ROOT
from upload_files import (ODD_FILES, RAMP, STORED_AS, TRANSPARENT_FILES, constant_png, encoded, halves, iso_media,
                          palette_with_transparency, phone_photo, png, png_16_bit)
from dashboard.lib import live, process_settings
from trainers.inference import image_files
from trainers.inference.pixels import TRANSPARENT_BACKGROUND, decode_upright, image_to_pixels

WHITE = (255, 255, 255)


@pytest.fixture(autouse=True, scope="module")
def dashboard_process():
    """The Live page reads uploads in the dashboard's process, whose start-up applies its settings (Pillow's pixel
    limit, HEIC)."""
    process_settings.apply_process_settings()


def pixels_of(decoded: live.DecodedImage) -> np.ndarray:
    assert decoded.image.mode == "RGB"
    return np.asarray(decoded.image).astype(int)


RAMP_IN_8_BITS = [0, 1, 128, 255]


@pytest.mark.parametrize("format, mode", [("PNG", "RGBA"), ("JPEG", "RGB"), ("WEBP", "RGB"), ("BMP", "RGB"),
                                          ("GIF", "P")])
def test_every_accepted_format_reads(format, mode):
    decoded = live.read_image("x", encoded(colour_image(COLOURS["red"], (20, 10), mode), format))
    assert decoded.original_size == decoded.image.size == (20, 10)
    assert decoded.format == format in image_files.PILLOW_FORMATS
    assert decoded.frames == 1


# ---------------------------------------------------------------- depth: 16 bits are scaled, not clipped


def test_16_bit_greyscale_spans_0_to_255_and_mid_grey_stays_mid_grey():
    data = encoded(Image.fromarray(RAMP[None].repeat(3, axis=0)), "PNG")
    assert Image.open(io.BytesIO(data)).mode == "I;16"
    decoded = live.read_image("grey16.png", data)
    assert pixels_of(decoded)[0].tolist() == [[value] * 3 for value in RAMP_IN_8_BITS]
    assert not decoded.notes


def test_16_bit_rgb_spans_0_to_255():
    values = np.stack([RAMP, RAMP[::-1], np.full(4, 32768)], axis=-1)[None]
    decoded = live.read_image("rgb16.png", png_16_bit(values, colour_type=2))
    assert pixels_of(decoded)[0].tolist() == [[0, 255, 128], [1, 128, 128], [128, 1, 128], [255, 0, 128]]


def test_16_bit_greyscale_with_alpha_and_with_a_transparent_level_are_composited_on_white():
    with_alpha = np.stack([np.zeros(4), [65535, 32768, 0, 0]], axis=-1)[None]  # black, ever more transparent
    decoded = live.read_image("la16.png", png_16_bit(with_alpha, colour_type=4))
    assert pixels_of(decoded)[0, :, 0].tolist() == pytest.approx([0, 127, 255, 255], abs=1)
    keyed = live.read_image("keyed16.png", png_16_bit(RAMP[None], colour_type=0, transparent=struct.pack(">H", 0)))
    assert pixels_of(keyed)[0, :, 0].tolist() == [255, 1, 128, 255]  # black was the transparent level
    assert decoded.transparent and keyed.transparent


def test_the_trainers_see_16_bit_images_the_same_way():
    mid_grey = Image.fromarray(np.full((8, 8), 32768, np.uint16))
    assert (image_to_pixels(mid_grey, 4) == 128).all()
    assert (image_to_pixels(mid_grey.convert("I"), 4) == 128).all()  # Pillow's 32-bit mode, as older Pillow reads


# ---------------------------------------------------------------- modes: every one reads as the RGB it shows


def test_transparency_is_composited_on_the_background_the_page_names():
    rgba = Image.new("RGBA", (4, 1), (0, 0, 0, 255))
    rgba.putpixel((1, 0), (0, 0, 0, 128))
    rgba.putpixel((2, 0), (220, 30, 40, 0))
    for mode in ("RGBA", "LA"):
        decoded = live.read_image(f"{mode}.png", encoded(rgba.convert(mode), "PNG"))
        assert pixels_of(decoded)[0, :3, 0].tolist() == pytest.approx([0, 127, 255], abs=1)
        assert decoded.transparent
        assert decoded.notes == [f"It has transparency: shown, and seen by the models, on a {TRANSPARENT_BACKGROUND} "
                                 "background."]
    assert Image.new("RGB", (1, 1), TRANSPARENT_BACKGROUND).getpixel((0, 0)) == WHITE


def test_a_palette_reads_its_colours_and_its_transparent_index_as_white():
    plain = colour_image(COLOURS["red"], (8, 8)).quantize(4)
    decoded = live.read_image("palette.png", encoded(plain, "PNG"))
    assert (pixels_of(decoded) == np.asarray(plain.convert("RGB"))).all() and not decoded.transparent
    keyed = palette_with_transparency()
    decoded = live.read_image("keyed.png", encoded(keyed, "PNG"))
    transparent = np.asarray(keyed) == keyed.info["transparency"]
    assert (pixels_of(decoded)[transparent] == WHITE).all() and (pixels_of(decoded)[~transparent] != WHITE).any()
    assert decoded.transparent


def test_a_cmyk_jpeg_reads_as_its_rgb_colours():
    red = Image.new("RGB", (16, 16), COLOURS["red"])
    data = encoded(red.convert("CMYK"), "JPEG")
    assert Image.open(io.BytesIO(data)).mode == "CMYK"
    assert pixels_of(live.read_image("cmyk.jpg", data))[8, 8].tolist() == pytest.approx(COLOURS["red"], abs=6)


def test_a_progressive_jpeg_reads_as_the_baseline_one():
    image = colour_image(COLOURS["blue"], (64, 48))
    progressive = live.read_image("progressive.jpg", encoded(image, "JPEG", progressive=True, quality=95))
    baseline = live.read_image("baseline.jpg", encoded(image, "JPEG", quality=95))
    assert progressive.original_size == (64, 48)
    assert np.abs(pixels_of(progressive) - pixels_of(baseline)).max() <= 2


@pytest.mark.parametrize("format", ["JPEG", "HEIF", "AVIF", "WEBP", "PNG"])
@pytest.mark.parametrize("orientation", STORED_AS)
def test_phone_photos_are_turned_upright_before_resizing(format, orientation):
    data = phone_photo(format, orientation)  # 20 x 40 once upright, red on top
    decoded = live.read_image("phone", data)  # no extension: read by what the file is
    assert decoded.format == format
    assert decoded.original_size == decoded.image.size == (20, 40)
    for pixels in (image_to_pixels(decoded.image, 16), image_to_pixels(Image.open(io.BytesIO(data)), 16)):
        top, bottom = pixels[:4].mean(axis=(0, 1)), pixels[-4:].mean(axis=(0, 1))
        assert top[0] > 200 > top[2] and bottom[2] > 200 > bottom[0]  # squashed after turning: red stays on top


def test_a_heic_photo_is_upright_once_and_keeps_its_size():
    """libheif turns a HEIC by its container's rotation and pillow-heif then says orientation 1: turned twice, a
    sideways photo would come out upside down."""
    with Image.open(io.BytesIO(phone_photo("HEIF", 6))) as opened:
        assert opened.format == "HEIF" and opened.size == (20, 40) and opened.info["original_orientation"] == 6
    decoded = live.read_image("IMG_0001.HEIC", phone_photo("HEIF", 6))
    assert decoded.original_size == (20, 40) and not decoded.notes


def test_a_tiff_scan_gives_its_first_page_and_says_so():
    pages = [Image.new("RGB", (8, 8), COLOURS[name]) for name in ("red", "green", "blue")]
    decoded = live.read_image("scan.tif", encoded(pages[0], "TIFF", save_all=True, append_images=pages[1:],
                                                  compression="tiff_lzw"))
    assert decoded.format == "TIFF" and decoded.frames == 3
    assert pixels_of(decoded)[4, 4].tolist() == list(COLOURS["red"])
    assert decoded.notes == ["A TIFF of 3 pages: the models see the first, shown here."]


@pytest.mark.parametrize("mode", ["CMYK", "RGBA", "L", "I;16"])
def test_tiff_modes_read_as_the_trainers_read_them(mode):
    image = Image.new("RGB", (8, 8), COLOURS["red"]).convert(mode if mode != "I;16" else "L")
    image = image if mode != "I;16" else Image.fromarray(np.full((8, 8), 40_000, np.uint16))
    data = encoded(image, "TIFF")
    decoded = live.read_image("scan.tiff", data)
    expected = [40_000 >> 8] * 3 if mode == "I;16" else np.asarray(image.convert("RGB"))[4, 4].tolist()
    assert pixels_of(decoded)[4, 4].tolist() == expected
    with Image.open(io.BytesIO(data)) as opened:
        assert (image_to_pixels(decoded.image, 8) == image_to_pixels(opened, 8)).all()


@pytest.mark.parametrize("format", ["GIF", "WEBP", "PNG", "AVIF"])
def test_an_animation_shows_its_first_frame_and_says_so(format):
    frames = [Image.new("RGB", (8, 8), COLOURS[name]) for name in ("red", "green", "blue")]
    data = encoded(frames[0], format, save_all=True, append_images=frames[1:], duration=100)
    decoded = live.read_image("animation", data)
    assert decoded.frames == 3
    assert pixels_of(decoded)[4, 4].tolist() == pytest.approx(COLOURS["red"], abs=8)
    assert decoded.notes == [f"An animated {format} of 3 frames: the models see the first, shown here."]


def test_a_phones_multi_picture_jpeg_is_one_photo_not_an_animation():
    photo, preview = halves(COLOURS["red"], COLOURS["blue"]), Image.new("RGB", (20, 40), COLOURS["green"])
    decoded = live.read_image("phone.jpg", encoded(photo, "MPO", save_all=True, append_images=[preview]))
    assert decoded.format == "MPO" and decoded.frames == 1 and not decoded.notes
    assert pixels_of(decoded)[2, 10, 0] > 200


@pytest.mark.parametrize("size", [(1, 1), (10_000, 10), (10, 10_000)])
def test_tiny_and_extreme_shapes_read_and_show(size):
    decoded = live.read_image("odd.png", encoded(Image.new("RGB", size, COLOURS["green"]), "PNG"))
    assert decoded.original_size == size
    assert max(decoded.image.size) == min(max(size), live.WORKING_SIZE)
    assert image_to_pixels(decoded.image, 16)[8, 8].tolist() == list(COLOURS["green"])
    shown = live.thumbnail(decoded.image)
    assert shown.mode == "RGB" and max(shown.size) == live.THUMBNAIL_SIZE


@pytest.mark.parametrize("name", ODD_FILES)
def test_every_mode_reaches_the_page_and_the_browser_as_rgb(name):
    decoded = live.read_image(name, ODD_FILES[name])
    shown = live.thumbnail(decoded.image)
    assert decoded.image.mode == shown.mode == "RGB"
    assert decoded.transparent == (name in TRANSPARENT_FILES)
    encoded(shown, "JPEG")  # what Streamlit does with an RGB image, which failed on "I;16"


@pytest.mark.parametrize("name", ODD_FILES)
def test_the_page_and_the_trainers_see_an_image_alike(name):
    decoded = live.read_image(name, ODD_FILES[name])
    with Image.open(io.BytesIO(ODD_FILES[name])) as opened:
        assert (image_to_pixels(decoded.image, 16) == image_to_pixels(opened, 16)).all()


# ---------------------------------------------------------------- size: phone photos in, bombs out


def test_a_jpeg_is_decoded_at_a_fraction_of_its_size():
    data = encoded(Image.linear_gradient("L").resize((4000, 3000)).convert("RGB"), "JPEG", quality=95)
    with Image.open(io.BytesIO(data)) as image:
        assert decode_upright(image, live.WORKING_SIZE).size == (2000, 1500)  # libjpeg's half size
    with Image.open(io.BytesIO(data)) as image:
        assert decode_upright(image, 32).size == (500, 375)  # an eighth, the least it decodes
    decoded = live.read_image("photo.jpg", data)
    assert decoded.original_size == (4000, 3000) and decoded.image.size == (1024, 768)


def test_a_reduced_jpeg_decodes_to_the_same_picture():
    data = encoded(Image.linear_gradient("L").resize((2400, 1800)).convert("RGB"), "JPEG", quality=95)
    with Image.open(io.BytesIO(data)) as reduced, Image.open(io.BytesIO(data)) as full:
        full.load()  # loaded before draft, so decoded at full size
        assert np.abs(image_to_pixels(reduced, 64).astype(int) - image_to_pixels(full, 64)).max() <= 3


MEASURE = """
import sys
from dashboard.lib import live

def peak_megabytes():
    # The peak resident size of this process since it started (not ru_maxrss, which starts at its parent's).
    status = open("/proc/self/status").read()
    return int(status.split("VmHWM:")[1].split()[0]) // 1024

data = open(sys.argv[1], "rb").read()
before = peak_megabytes()
decoded = live.read_image("photo.jpg", data)
print(peak_megabytes() - before, *decoded.original_size)
"""


@pytest.mark.slow  # a fresh interpreter
@pytest.mark.skipif(sys.platform != "linux", reason="reads the peak resident size from /proc")
def test_a_48_megapixel_photo_is_read_in_a_fraction_of_its_memory(tmp_path):
    path = tmp_path / "photo.jpg"
    Image.linear_gradient("L").resize((8000, 6000)).convert("RGB").save(path, quality=90)
    # Pillow's buffers are not Python objects (tracemalloc misses them): a fresh process's peak size tells.
    result = subprocess.run([sys.executable, "-c", MEASURE, str(path)], capture_output=True, text=True, check=True,
                            cwd=REPO_ROOT, timeout=60)
    megabytes, width, height = map(int, result.stdout.split())
    assert (width, height) == (8000, 6000)
    decoded_whole = 8000 * 6000 * 4 / 2**20  # MB: Pillow holds an RGB pixel in 4 bytes
    assert megabytes < decoded_whole / 4


def test_100_megapixels_are_accepted_and_reduced():
    data = constant_png(10_000, 10_000, COLOURS["blue"])
    assert len(data) < live.MAX_UPLOAD_MB * 2**20
    decoded = live.read_image("scan.png", data)
    assert decoded.original_size == (10_000, 10_000) and decoded.image.size == (1024, 1024)
    assert pixels_of(decoded)[512, 512].tolist() == list(COLOURS["blue"])


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_more_pixels_than_the_cap_are_refused_where_pillow_only_warns():
    header = png(12_000, 12_000, [])  # 144 megapixels: over the cap, under Pillow's error at twice it
    with pytest.raises(live.UploadError, match="'big.png' is too large to decode safely: 12,000 x 12,000 pixels"):
        live.read_image("big.png", header)


def test_a_decompression_bomb_is_refused_before_decoding():
    # 50,000 x 50,000 black-and-white pixels: 2.5 gigapixels, in less than half a megabyte.
    row = bytes(1 + 50_000 // 8)  # the filter byte, then 8 pixels a byte
    bomb = png(50_000, 50_000, (row for _ in range(50_000)), bit_depth=1, colour_type=0)
    assert len(bomb) < 2**19
    start = time.perf_counter()
    with pytest.raises(live.UploadError, match="'bomb.png' is too large to decode safely: over 240,000,000 pixels"):
        live.read_image("bomb.png", bomb)
    assert time.perf_counter() - start < 1  # decoding it would take seconds, and gigabytes


# ---------------------------------------------------------------- bad files: one message naming the file


def truncated(data: bytes, keep: float) -> bytes:
    return data[:int(len(data) * keep)]


PHOTO_JPEG = encoded(colour_image(COLOURS["red"], (64, 64)), "JPEG")
PHOTO_PNG = encoded(colour_image(COLOURS["red"], (64, 64)), "PNG")


SVG = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>'
TIFF = encoded(colour_image(COLOURS["red"]), "TIFF")


BAD_FILES = {
    "empty": (b"", "is empty"),
    "text": (b"just some notes, not an image", "is a text file, which"),
    "binary": (bytes(range(256)) * 4, "is not an image this page can read"),
    "jpeg cut in its signature": (PHOTO_JPEG[:2], "is not an image this page can read"),
    "jpeg cut in its header": (PHOTO_JPEG[:100], "could not be read: truncated or damaged"),
    "jpeg cut in its pixels": (truncated(PHOTO_JPEG, 0.5), "could not be read: truncated or damaged"),
    "png cut in its header": (PHOTO_PNG[:40], "starts as a PNG image but is truncated or damaged"),
    "png cut in its pixels": (truncated(PHOTO_PNG, 0.5), "could not be read: truncated or damaged"),
    "heic cut in its header": (phone_photo("HEIF")[:60], "starts as a HEIC image but is truncated or damaged"),
    "avif's opening alone": (iso_media(b"avif"), "starts as an AVIF image but is truncated or damaged"),
    "svg": (SVG, "is an SVG drawing, which"),
    "svg without a declaration": (b"\xef\xbb\xbf  <svg width='1'/>", "is an SVG drawing, which"),
    "web page": (b"<!DOCTYPE html><html><body>cat</body></html>", r"is a web page \(HTML\), which"),
    "pdf": (encoded(colour_image(COLOURS["red"]), "PDF"), "is a PDF document, which"),
    "mp4 video": (iso_media(b"isom"), r"is a video \(MP4\), which"),
    "iphone video": (iso_media(b"qt  "), r"is a video \(QuickTime\), which"),
    "webm video": (b"\x1aE\xdf\xa3" + bytes(60), r"is a video \(WebM or Matroska\), which"),
    "canon raw": (iso_media(b"crx "), r"is a RAW photo \(CR3\), which"),
    "icon": (encoded(colour_image(COLOURS["red"]), "ICO"), "is in ICO format, which"),
    "zip": (b"PK\x03\x04" + bytes(60), r"is a ZIP archive \(or an Office document\), which"),
}


@pytest.mark.parametrize("data, reason", BAD_FILES.values(), ids=BAD_FILES)
def test_bad_files_are_refused_with_one_message_naming_them(data, reason):
    with pytest.raises(live.UploadError, match=reason) as error:
        live.read_image("holiday.jpg", data)
    assert str(error.value).startswith("'holiday.jpg' ") and "\n" not in str(error.value)
    if ", which" in str(error.value):
        assert str(error.value).endswith(f"which this page does not read: upload {image_files.FORMAT_NAMES}.")


@pytest.mark.parametrize("extension", [".NEF", ".dng", ".cr2", ".arw"])
def test_a_raw_photo_is_named_by_its_extension_though_it_is_a_tiff_inside(extension):
    with pytest.raises(live.UploadError, match=rf"is a RAW photo \({extension[1:].upper()}\), which this page"):
        live.read_image(f"DSC_0001{extension}", TIFF)


def test_every_readable_format_is_read_by_its_own_bytes_whatever_its_name():
    files = {"JPEG": PHOTO_JPEG, "PNG": PHOTO_PNG, "HEIC": phone_photo("HEIF"), "WebP": phone_photo("WEBP"),
             "AVIF": phone_photo("AVIF"), "TIFF": TIFF, "BMP": encoded(colour_image(COLOURS["red"]), "BMP"),
             "GIF": encoded(colour_image(COLOURS["red"]), "GIF")}
    assert list(files) == [image_format.name for image_format in image_files.READABLE_FORMATS]
    for name, data in files.items():
        decoded = live.read_image("download", data)  # no extension
        assert decoded.format in next(image_format.pillow_formats for image_format in image_files.READABLE_FORMATS
                                      if image_format.name == name)


def test_a_file_over_the_upload_limit_is_refused_unread():
    limit = live.MAX_UPLOAD_MB
    with pytest.raises(live.UploadError, match=f"'huge.jpg' is {limit}.0 MB, over the {limit} MB limit"):
        live.read_image("huge.jpg", bytes(limit * 2**20 + 1))


# ---------------------------------------------------------------- the crop box


@pytest.mark.parametrize("size, box", [
    ((1000, 500), {"left": 300, "top": 50, "width": 400, "height": 400}),  # wide: 80% of its height
    ((500, 1000), {"left": 50, "top": 300, "width": 400, "height": 400}),  # tall: 80% of its width
    ((1024, 767), {"left": 205, "top": 76, "width": 614, "height": 614}),
    ((1, 1), {"left": 0, "top": 0, "width": 1, "height": 1}),
])
def test_the_default_crop_is_a_centred_square_of_most_of_the_short_side(size, box):
    assert live.default_crop(size) == box
    assert live.crop(Image.new("RGB", size), box).size == (box["width"], box["width"])


def test_the_default_crop_reaches_the_cropper_as_its_corners():
    assert live.corners(live.default_crop((1000, 500))) == (300, 700, 50, 450)  # left, right, top, bottom


def test_a_crop_takes_the_pixels_inside_the_box():
    image = Image.new("RGB", (300, 100), COLOURS["red"])
    image.paste(COLOURS["green"], (100, 0, 200, 100))  # red, green, red thirds
    cropped = live.crop(image, live.default_crop(image.size))
    assert cropped.size == (80, 80)
    assert np.unique(np.asarray(cropped).reshape(-1, 3), axis=0).tolist() == [list(COLOURS["green"])]


@pytest.mark.parametrize("box, bounds", [
    ({"left": 10, "top": 5, "width": 20, "height": 20}, (10, 5, 30, 25)),
    ({"left": 10.4, "top": 4.6, "width": 19.8, "height": 20.2}, (10, 5, 30, 25)),  # the cropper's floats
    ({"left": 80, "top": 30, "width": 40, "height": 40}, (80, 30, 100, 50)),  # dragged past the bottom right
    ({"left": -15, "top": -5, "width": 40, "height": 40}, (0, 0, 25, 35)),  # past the top left
    ({"left": -10, "top": -10, "width": 500, "height": 500}, (0, 0, 100, 50)),  # larger than the image
], ids=["inside", "floats", "past the bottom right", "past the top left", "around the image"])
def test_a_crop_box_from_the_browser_is_cut_to_the_image(box, bounds):
    assert live.crop_bounds(box, (100, 50)) == bounds
    left, top, right, bottom = bounds
    assert live.crop(Image.new("RGB", (100, 50)), box).size == (right - left, bottom - top)


@pytest.mark.parametrize("box", [
    {"left": 10, "top": 10, "width": 0, "height": 20},
    {"left": 10, "top": 10, "width": 20, "height": -5},
    {"left": 10, "top": 10, "width": 0.4, "height": 0.4},
    {"left": 500, "top": 10, "width": 20, "height": 20},
    {"left": 10, "top": -90, "width": 20, "height": 20},
    {"left": 10, "top": 10, "width": 20},
    {"left": None, "top": 10, "width": 20, "height": 20},
    {"left": float("nan"), "top": 10, "width": 20, "height": 20},
    {"left": 0, "top": 0, "width": float("inf"), "height": 20},
    {"left": "a", "top": 10, "width": 20, "height": 20},
    {},
], ids=["no width", "negative height", "under a pixel", "right of the image", "above the image", "no height",
        "None", "NaN", "infinite", "text", "empty"])
def test_an_empty_or_unreadable_crop_box_gives_the_whole_image(box):
    assert live.crop_bounds(box, (100, 50)) == (0, 0, 100, 50)
    assert live.crop(Image.new("RGB", (100, 50)), box).size == (100, 50)


@pytest.mark.parametrize("size, model_size, offered", [
    ((1024, 768), 32, True),
    ((40, 30), 16, True),
    ((32, 32), 32, False),  # a test image: no pixels to spare
    ((24, 20), 32, False),
    ((1024, 15), 32, False),  # no room for a box
    ((1024, 1), 32, False),  # streamlit-cropper would reduce it to 0 px high
])
def test_a_crop_box_is_offered_for_images_larger_than_the_models_view(size, model_size, offered):
    assert live.croppable(size, model_size) is offered


def test_the_models_view_caption_gives_the_crop_in_the_originals_pixels():
    decoded = live.DecodedImage(Image.new("RGB", (1024, 768)), (4096, 3072))
    assert live.model_view_caption(decoded, decoded.image, 32) == "as the models see it: 32 x 32 px"
    cropped = live.crop(decoded.image, {"left": 100, "top": 100, "width": 412, "height": 412})
    assert live.model_view_caption(decoded, cropped, 32) == ("as the models see it: crop 1648 x 1648 px of "
                                                             "4096 x 3072, 32 x 32 px")
