"""Live predictions: reading untrusted uploads safely, and showing what several models pick."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pandas as pd
import plotly.express as px
from PIL import Image
from plotly.graph_objects import Figure

from dashboard.lib.samples import format_top_k, top_k

MAX_UPLOAD_MB = 10  # per file
MAX_IMAGE_PIXELS = 25_000_000  # 5000 x 5000: far more than any model here needs
UPLOAD_TYPES = ("jpg", "jpeg", "png", "webp", "bmp", "gif")
# PIL's names of those formats; MPO is the multi-picture JPEG that many phone cameras write.
ACCEPTED_FORMATS = ("JPEG", "MPO", "PNG", "WEBP", "BMP", "GIF")

# PIL raises DecompressionBombError above twice this and warns above it; read_image refuses both.
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS


class UploadError(ValueError):
    """An uploaded file that cannot be used; the message names the file and says why."""


def read_image(name: str, data: bytes) -> Image.Image:
    """Decodes an uploaded file into a fully loaded PIL image (the first frame of an animation).

    Raises:
        UploadError: the file is too big, not an image of an accepted format, truncated or a
            decompression bomb.
    """
    if len(data) > MAX_UPLOAD_MB * 2**20:
        raise UploadError(f"'{name}' is {len(data) / 2**20:.1f} MB, over the {MAX_UPLOAD_MB} MB limit.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in ACCEPTED_FORMATS:
                raise UploadError(f"'{name}' is a {image.format} image; use {', '.join(UPLOAD_TYPES)}.")
            image.load()  # decodes now, so truncated data fails here and not in a page
    except UploadError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise UploadError(f"'{name}' is too large to decode safely (limit {MAX_IMAGE_PIXELS:,} pixels): "
                          f"{error}") from None
    except Image.UnidentifiedImageError:
        raise UploadError(f"'{name}' is not an image (accepted: {', '.join(UPLOAD_TYPES)}).") from None
    except Exception as error:  # noqa: BLE001 - decoders of hostile files raise many kinds of error
        raise UploadError(f"'{name}' could not be read as an image: {error}") from None
    return image


def picks_table(probabilities: dict[str, np.ndarray], class_names: list[str], *, k: int = 3) -> pd.DataFrame:
    """One row per model: the class it picks, that class's probability, and its top-k."""
    rows = []
    for run, vector in probabilities.items():
        (pick, probability), *_ = top_k(vector, class_names, k=1)
        rows.append({"run": run, "picks": pick, "probability": probability,
                     f"top {k}": format_top_k(vector, class_names, k=k, decimals=1)})
    return pd.DataFrame(rows, columns=["run", "picks", "probability", f"top {k}"])


def agreement(picks: pd.DataFrame) -> str:
    """A sentence saying whether the models pick the same class."""
    chosen = picks["picks"].unique()
    if len(picks) == 1:
        return f"{picks['run'].iloc[0]} picks **{chosen[0]}**."
    if len(chosen) == 1:
        return f"All {len(picks)} models agree: **{chosen[0]}**."
    return "The models disagree: " + ", ".join(f"{row.run} picks **{row.picks}**" for row in picks.itertuples()) + "."


def top_k_figure(probabilities: np.ndarray, class_names: list[str], *, k: int = 3, title: str = "") -> Figure:
    """Horizontal bars of the k most probable classes, the most probable on top."""
    bars = pd.DataFrame(top_k(probabilities, class_names, k=k), columns=["class", "probability"])
    figure = px.bar(bars, x="probability", y="class", orientation="h", text_auto=".1%", title=title,
                    range_x=[0, 1])
    figure.update_layout(yaxis={"autorange": "reversed", "title": ""}, xaxis_tickformat=".0%",
                         height=120 + 28 * len(bars), margin={"t": 40 if title else 10, "b": 10})
    return figure
