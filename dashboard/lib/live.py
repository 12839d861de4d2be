"""Live predictions: reading untrusted uploads safely, cropping them to what the models should see, and showing
what several models pick, and where one finds none of its classes."""

from __future__ import annotations

import base64
import io
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from PIL import ExifTags, Image

from dashboard.lib.process_settings import MAX_IMAGE_PIXELS
from dashboard.lib.samples import format_top_k, top_k, upscale
from trainers.analysis.none_of_these import Threshold
from trainers.inference import image_files
from trainers.store.evaluation_sets import NONE_OF_THESE, UNLABELLED
from trainers.inference.pixels import TRANSPARENT_BACKGROUND, decode_upright, to_rgb
from trainers.inference.predict import predict

MAX_UPLOAD_MB = 50  # per file: a phone's full-resolution photo; .streamlit/config.toml says the same
WORKING_SIZE = 1024  # px on the long side of the image kept per upload: more than any model or the page needs
THUMBNAIL_SIZE = 160  # px on the long side of the image as shown: beside the models' answers, not above them
TABLE_THUMBNAIL_SIZE = 96  # px on the long side of a photo in the table of several: enough to tell them apart
DEFAULT_CROP_SHARE = 0.8  # of the short side: the first crop box, inset so that its corners can be grabbed
# px on the short side below which no crop box is offered: too thin to drag a box on, and streamlit-cropper
# fails on an image that its reduction to 700 px would leave 0 px high.
MIN_CROP_SIDE = 16
# Modes resized as well before their conversion to RGB as after it (alpha is premultiplied), so a large image
# is reduced first; a palette would be resized by nearest neighbour, 16 bits not at all, a transparent colour lost.
REDUCED_AS_DECODED = ("L", "LA", "RGB", "RGBA")


class UploadError(ValueError):
    """An uploaded file that cannot be used; the message names the file and says why."""


@dataclass(frozen=True)
class DecodedImage:
    """An image ready for the page and the models, with what the page should say about it.

    Attributes:
        image: upright RGB, at most `WORKING_SIZE` px on its long side; the models' views are taken from it.
        original_size: (width, height) of the upright original, in pixels.
        format: PIL's name of the file's format ("" for images that come from no file).
        frames: frames in the file; above 1, an animation of which the models see the first (or a TIFF's pages).
        transparent: the original had transparency, composited on `TRANSPARENT_BACKGROUND`.
    """

    image: Image.Image
    original_size: tuple[int, int]
    format: str = ""
    frames: int = 1
    transparent: bool = False

    @property
    def notes(self) -> list[str]:
        """Sentences telling how the models' view differs from the file."""
        notes = []
        if self.frames > 1 and self.format in image_files.PAGED_FORMATS:
            notes.append(f"A {self.format} of {self.frames} pages: the models see the first, shown here.")
        elif self.frames > 1:
            notes.append(f"An animated {self.format} of {self.frames} frames: the models see the first, shown here.")
        if self.transparent:
            notes.append(f"It has transparency: shown, and seen by the models, on a {TRANSPARENT_BACKGROUND} "
                         "background.")
        return notes


def read_image(name: str, data: bytes) -> DecodedImage:
    """Decodes an upload into an upright RGB image of at most `WORKING_SIZE` px, never keeping the full size.

    Reads the formats of `image_files.READABLE_FORMATS`, whatever the file's name says; an animation gives its
    first frame, a TIFF its first page. A JPEG is decoded at a half, a quarter or an eighth of its size when
    that is still at least `WORKING_SIZE` px; other formats are decoded at full size and reduced at once.
    The header's size is checked against `MAX_IMAGE_PIXELS` before decoding.

    Raises:
        UploadError: the file is empty or too big, not an image, of another format (the message says which:
            an SVG drawing, a PDF, a video, a RAW photo...), truncated or damaged, or too many pixels (a
            decompression bomb).

    Example:
        >>> decoded = read_image("cat.png", Path("cat.png").read_bytes())
        >>> decoded.image.mode, decoded.original_size
        ('RGB', (640, 480))
    """
    if not data:
        raise UploadError(f"'{name}' is empty (0 bytes).")
    if len(data) > MAX_UPLOAD_MB * 2**20:
        raise UploadError(f"'{name}' is {len(data) / 2**20:.1f} MB, over the {MAX_UPLOAD_MB} MB limit.")
    kind = image_files.file_kind(name, data)
    if kind.startswith("a RAW photo"):  # some are TIFF inside: Pillow would read their small preview, if anything
        raise _not_readable(name, kind)
    try:
        # Not `with`: closing the file would drop the pixels of an image that needs no conversion.
        opened = Image.open(io.BytesIO(data))
        if opened.format not in image_files.PILLOW_FORMATS:
            raise _not_readable(name, f"in {opened.format} format")
        if opened.width * opened.height > MAX_IMAGE_PIXELS:  # PIL only warns up to twice its limit
            raise _too_large(name, f"{opened.width:,} x {opened.height:,} pixels")
        multi_frame = (*image_files.ANIMATED_FORMATS, *image_files.PAGED_FORMATS)
        frames = getattr(opened, "n_frames", 1) if opened.format in multi_frame else 1
        original_size, transparent = _upright_size(opened), opened.has_transparency_data
        image = decode_upright(opened, WORKING_SIZE)
        if image.mode not in REDUCED_AS_DECODED or "transparency" in image.info:
            image = to_rgb(image)
        # In place, so that the full-size pixels go as soon as the reduced ones exist.
        image.thumbnail((WORKING_SIZE, WORKING_SIZE), Image.Resampling.BICUBIC)
        image = to_rgb(image)
    except UploadError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Pillow's own limit: the process's (`process_settings`), or Pillow's default where it is not applied.
        raise _too_large(name, f"over {2 * Image.MAX_IMAGE_PIXELS:,} pixels") from None
    except Image.UnidentifiedImageError:
        if image_files.is_readable_kind(kind):
            raise UploadError(f"'{name}' starts as {kind} but is truncated or damaged.") from None
        if kind:
            raise _not_readable(name, kind) from None
        raise UploadError(f"'{name}' is not an image this page can read: upload {image_files.FORMAT_NAMES}.") from None
    except Exception as error:  # noqa: BLE001 - decoders of hostile files raise many kinds of error
        raise UploadError(f"'{name}' could not be read: truncated or damaged ({error}).") from None
    return DecodedImage(image, original_size, opened.format, frames, transparent)


def _not_readable(name: str, what: str) -> UploadError:
    return UploadError(f"'{name}' is {what}, which this page does not read: upload {image_files.FORMAT_NAMES}.")


def _too_large(name: str, size: str) -> UploadError:
    return UploadError(f"'{name}' is too large to decode safely: {size}, where the limit is {MAX_IMAGE_PIXELS:,}.")


def _upright_size(image: Image.Image) -> tuple[int, int]:
    """The image's (width, height) once turned upright: EXIF orientations 5 to 8 turn it by a quarter."""
    quarter_turn = image.getexif().get(ExifTags.Base.Orientation, 1) in (5, 6, 7, 8)
    return (image.height, image.width) if quarter_turn else image.size


def thumbnail(image: Image.Image, size: int = THUMBNAIL_SIZE) -> Image.Image:
    """The RGB image as the page shows it, about `size` px on its long side: reduced smoothly, or a small
    image enlarged by a whole factor with its pixels kept square and sharp."""
    if max(image.size) <= size:
        return upscale(np.asarray(image.convert("RGB")), size)
    shown = image.convert("RGB")  # a copy, even of an RGB image
    shown.thumbnail((size, size), Image.Resampling.BICUBIC)
    return shown


def croppable(size: tuple[int, int], model_size: int) -> bool:
    """Whether an image of (width, height) gets a crop box: it has more pixels than the models' square view on
    its long side (a 32 x 32 test image has none to spare), and room for a box on its short side."""
    return max(size) > model_size and min(size) >= MIN_CROP_SIDE


def default_crop(size: tuple[int, int]) -> dict[str, int]:
    """The crop box offered first: a centred square of `DEFAULT_CROP_SHARE` of the image's short side.

    Returns:
        {"left", "top", "width", "height"} in pixels, the box that streamlit-cropper returns.

    Example:
        >>> default_crop((1000, 500))
        {'left': 300, 'top': 50, 'width': 400, 'height': 400}
    """
    width, height = size
    side = max(1, round(DEFAULT_CROP_SHARE * min(width, height)))
    return {"left": (width - side) // 2, "top": (height - side) // 2, "width": side, "height": side}


def corners(box: Mapping) -> tuple[int, int, int, int]:
    """A box as streamlit-cropper's `default_coords`: (left, right, top, bottom)."""
    return box["left"], box["left"] + box["width"], box["top"], box["top"] + box["height"]


def crop_bounds(box: Mapping, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """PIL's (left, upper, right, lower) of a box from the browser, cut to the image of (width, height).

    The box may lie partly or wholly outside the image (the cropper lets it be dragged off the edge), and its
    values may be floats, negative or missing: the part inside the image is kept, and an empty or unreadable
    box gives the whole image, so that no box from the browser can stop the page.
    """
    width, height = size
    try:
        left, top = round(float(box["left"])), round(float(box["top"]))
        right, bottom = left + round(float(box["width"])), top + round(float(box["height"]))
    except (KeyError, TypeError, ValueError, OverflowError):  # missing, None, NaN or infinite
        return 0, 0, width, height
    left, top, right, bottom = max(left, 0), max(top, 0), min(right, width), min(bottom, height)
    if right - left < 1 or bottom - top < 1:
        return 0, 0, width, height
    return left, top, right, bottom


def crop(image: Image.Image, box: Mapping) -> Image.Image:
    """The part of the image inside a box from the browser (see `crop_bounds`); the whole image for a bad box."""
    return image.crop(crop_bounds(box, image.size))


def model_view_caption(decoded: DecodedImage, seen: Image.Image, model_size: int) -> str:
    """The caption of what the models see: the image `seen` (the whole working image, or a crop of it)
    reduced to `model_size`; a crop is given in the original's pixels, as the page gives the upload's size."""
    if seen.size == decoded.image.size:
        return f"as the models see it: {model_size} x {model_size} px"
    width, height = decoded.original_size
    scale = width / decoded.image.width  # the crop is taken from the working image, at most WORKING_SIZE px
    return (f"as the models see it: crop {round(seen.width * scale)} x {round(seen.height * scale)} px "
            f"of {width} x {height}, {model_size} x {model_size} px")


NONE_FOUND = "none of its classes"  # the column saying whether a model finds none of its classes in the image
THRESHOLD = "threshold"  # the column of each model's threshold (`trainers.analysis.none_of_these`)


def picks_table(probabilities: dict[str, np.ndarray], class_names: list[str], *, k: int = 3,
                thresholds: Mapping[str, Threshold | None] | None = None) -> pd.DataFrame:
    """One row per model: the class it picks, that class's probability, and its top-k; with `thresholds` (each
    model's, None for one without), whether it finds none of its classes in the image (None without a threshold)
    and its threshold."""
    rows = []
    for run, vector in probabilities.items():
        (pick, probability), *_ = top_k(vector, class_names, k=1)
        row = {"run": run, "picks": pick, "probability": probability,
               f"top {k}": format_top_k(vector, class_names, k=k, decimals=1)}
        if thresholds is not None:
            threshold = thresholds.get(run)
            row[NONE_FOUND] = None if threshold is None else threshold.finds_none(probability)
            row[THRESHOLD] = None if threshold is None else threshold.value
        rows.append(row)
    columns = ["run", "picks", "probability", f"top {k}", *([NONE_FOUND, THRESHOLD] if thresholds is not None else [])]
    return pd.DataFrame(rows, columns=columns)


def agreement(picks: pd.DataFrame) -> str:
    """A sentence saying whether the models pick the same class, and which of them find none of their classes."""
    chosen = picks["picks"].unique()
    if len(picks) == 1:
        sentence = f"{picks['run'].iloc[0]} picks **{chosen[0]}**."
    elif len(chosen) == 1:
        sentence = f"All {len(picks)} models agree: **{chosen[0]}**."
    else:
        sentence = ("The models disagree: " + ", ".join(f"{row.run} picks **{row.picks}**"
                                                        for row in picks.itertuples()) + ".")
    finding_none = picks["run"][picks[NONE_FOUND] == True].tolist() if NONE_FOUND in picks else []  # noqa: E712
    if len(finding_none) == 1:
        sentence += f" {'It' if len(picks) == 1 else finding_none[0]} finds none of its classes in this image."
    elif finding_none:
        who = f"All {len(picks)}" if len(finding_none) == len(picks) else ", ".join(finding_none)
        sentence += f" {who} find none of their classes in this image."
    return sentence


def none_found(score: float, threshold: float) -> str:
    """The words under a model's answer when its score is below its threshold, both given with as many decimals as
    tell them apart (two at least).

    Example:
        >>> none_found(0.41, 0.6199)
        'finds none of its classes in this image (score 0.41, threshold 0.62)'
    """
    decimals = next((d for d in range(2, 7) if f"{score:.{d}f}" != f"{threshold:.{d}f}"), 7)
    return f"finds none of its classes in this image (score {score:.{decimals}f}, threshold {threshold:.{decimals}f})"


def thresholds_explained(thresholds: Mapping[str, Threshold | None], without: Mapping[str, str] | None = None, *,
                         table: bool = False) -> str:
    """The sentence said once near the answers: when a model finds none of its classes, how each model's threshold
    was set, and its value; then, for each model without a threshold, why (`without`, by model). Under the table of
    several photos (`table`), it says what "none" there means.

    Example:
        >>> thresholds_explained({"a": Threshold(MSP, 0.62, 0.95, 10_000)}, {"b": "it has no probabilities"})
        '... its threshold, set so that 95% of its 10,000 test images pass: a 0.62. b has no threshold: it has no
        probabilities.'
    """
    set_on = {label: threshold for label, threshold in thresholds.items() if threshold is not None}
    parts = []
    if set_on:
        how = {threshold.description for threshold in set_on.values()}
        values = ", ".join(f"{label} {threshold.value:.3g}" + ("" if len(how) == 1 else f" ({threshold.description})")
                           for label, threshold in set_on.items())
        common = f", {next(iter(how))}" if len(how) == 1 else ""
        in_table = f' ("{NONE_IN_TABLE}" in the table)' if table else ""
        parts.append(f"A model finds none of its classes in an image{in_table} when its top probability falls below "
                     f"its threshold{common}: {values}.")
    parts += [f"{label} has no threshold: {reason}." for label, reason in (without or {}).items()]
    return " ".join(parts)


def true_class(label: int, class_names: list[str]) -> str:
    """What a test image's label says, as the page names the image: its class, or, for an image of an evaluation
    set, that it is of none of the runs' classes or has no label.

    Example:
        >>> true_class(1, ["cat", "dog"]), true_class(NONE_OF_THESE, ["cat", "dog"])
        ('true class: dog', "of none of the runs' classes")
    """
    if label == NONE_OF_THESE:
        return "of none of the runs' classes"
    if label == UNLABELLED:
        return "unlabelled"
    return f"true class: {class_names[label]}"


def photo_labels(names: list[str]) -> list[str]:
    """The photos' names as the table and the chooser show them: a name given twice is numbered the second time.

    Example:
        >>> photo_labels(["a.png", "b.png", "a.png"])
        ['a.png', 'b.png', 'a.png (2)']
    """
    seen: Counter = Counter()
    labels = []
    for name in names:
        seen[name] += 1
        labels.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return labels


def thumbnail_uri(image: Image.Image, size: int = TABLE_THUMBNAIL_SIZE) -> str:
    """A small JPEG of the image as a data URI, which a table's image column shows (`st.column_config.ImageColumn`)."""
    data = io.BytesIO()
    thumbnail(image, size).save(data, format="JPEG", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(data.getvalue()).decode("ascii")


PHOTO, FILE = "photo", "file"  # the table of several photos' first columns: a thumbnail, its name
NONE_IN_TABLE = "none"  # a model's answer in that table when it finds none of its classes in the photo


def table_pick(vector: np.ndarray, class_names: list[str], threshold: Threshold | None) -> str:
    """A model's answer in the table of several photos: its pick and confidence, or "none" when it finds none of its
    classes, with the pick it would have made (short: a column per model has to fit beside the others).

    Example:
        >>> table_pick(np.array([0.3, 0.7]), ["cat", "dog"], Threshold(MSP, 0.8, 0.95, 100))
        'none (dog 70%)'
    """
    (pick, probability), *_ = top_k(vector, class_names, k=1)
    answer = f"{pick} {probability:.0%}"
    return f"{NONE_IN_TABLE} ({answer})" if threshold is not None and threshold.finds_none(probability) else answer


def photos_table(names: list[str], thumbnails: list[str] | None, probabilities: Mapping[str, np.ndarray],
                 class_names: list[str], thresholds: Mapping[str, Threshold | None]) -> pd.DataFrame:
    """One row per photo: its thumbnail (a data URI, `thumbnail_uri`; no column without them), its name
    (`photo_labels`) and, in a column per model, the model's answer (`table_pick`).

    Args:
        probabilities: each model's probabilities (N, C) of the N photos, by model.
        thresholds: each model's threshold, None for a model without one.
    """
    table = pd.DataFrame({FILE: photo_labels(names)})
    if thumbnails is not None:
        table.insert(0, PHOTO, thumbnails)
    for label, vectors in probabilities.items():
        table[label] = [table_pick(vector, class_names, thresholds.get(label)) for vector in vectors]
    return table


def class_probabilities(model, pixels: np.ndarray, class_names: list[str]) -> np.ndarray:
    """A model's probabilities for each of the images (N, H, W, 3); ValueError if they do not fit the classes."""
    probabilities = predict(model, pixels)
    if probabilities.shape != (len(pixels), len(class_names)):
        raise ValueError(f"it returns {probabilities.shape[1:]} outputs per image for {len(class_names)} classes")
    return probabilities


# A jet-like ramp, from cold (no evidence) to hot (the strongest): colours at evenly spaced stops.
HEAT_RAMP = np.array([[0, 0, 128], [0, 0, 255], [0, 255, 255], [255, 255, 0], [255, 0, 0], [128, 0, 0]], np.float32)
HEAT_OPACITY = 0.5  # of the map over the pixels


def heat_colours(heatmap: np.ndarray) -> np.ndarray:
    """RGB uint8 (H, W, 3) of a map in [0, 1], through `HEAT_RAMP`."""
    position = np.clip(np.asarray(heatmap, np.float32), 0, 1) * (len(HEAT_RAMP) - 1)
    low = np.minimum(position.astype(int), len(HEAT_RAMP) - 2)
    share = (position - low)[..., None]
    return np.rint(HEAT_RAMP[low] * (1 - share) + HEAT_RAMP[low + 1] * share).astype(np.uint8)


def maps_explained(methods: Mapping[str, str]) -> str:
    """The sentence said once over several runs' maps, each captioned briefly: the method that drew them (by run,
    where the runs' methods differ) and what the colours mean.

    Args:
        methods: each run's label and the method of its maps, as `class_activation_map` names it.

    Example:
        >>> maps_explained({"a": "occlusion", "b": "Grad-CAM", "c": "occlusion"}).split(":")[0]
        'Where each run looked, by occlusion for a, c; Grad-CAM for b'
    """
    if not methods:
        raise ValueError("No maps to explain: give at least one run's method.")
    by_method: dict[str, list[str]] = {}
    for run, method in methods.items():
        by_method.setdefault(method, []).append(run)
    how = (next(iter(by_method)) if len(by_method) == 1 else
           "; ".join(f"{method} for {', '.join(runs)}" for method, runs in by_method.items()))
    return (f"Where each run looked, by {how}: the warmer the colour (blue to red), the more that part of the image "
            "counted for the class under the map.")


def heatmap_overlay(pixels: np.ndarray, heatmap: np.ndarray, size: int = THUMBNAIL_SIZE) -> Image.Image:
    """The map blended over the image as the model sees it, enlarged to about `size` px with square pixels."""
    pixels = np.asarray(pixels, np.float32)
    if pixels.shape[:2] != np.shape(heatmap):
        raise ValueError(f"The map is {np.shape(heatmap)} for an image of {pixels.shape[:2]} pixels.")
    blended = (1 - HEAT_OPACITY) * pixels + HEAT_OPACITY * heat_colours(heatmap)
    return upscale(np.rint(blended).clip(0, 255).astype(np.uint8), size)
