"""A shipped model on images, for the pages, cached: uploads decoded once, a loaded model's class probabilities and
its class activation maps (where it looked) computed once per model and images."""

from __future__ import annotations

import numpy as np
import streamlit as st

from dashboard.lib import live
from dashboard.lib.caches import model, model_files, no_model
from trainers.analysis.ensemble import Ensemble
from trainers.inference.explain import class_activation_map
from trainers.store.run_store import Run


@st.cache_resource(show_spinner=False, max_entries=32)
def _decoded_upload(file_id: str, name: str, _data: bytes) -> live.DecodedImage:
    return live.read_image(name, _data)


def decoded_upload(upload) -> live.DecodedImage:
    """An uploaded file (or photo) as `live.read_image` decodes it, once per upload rather than on every rerun of
    the page; shared: never change it. Raises live.UploadError saying why the file cannot be used."""
    return _decoded_upload(upload.file_id, upload.name, upload.getvalue())


# Keyed by the model's files and their modification times (`caches.model_files`), read before the model is loaded:
# a file written in between is then loaded anew, and its outputs computed again on the next rerun.
@st.cache_data(show_spinner=False, max_entries=1024)
def _class_probabilities(_model, model_files: tuple, pixels: np.ndarray, class_names: tuple[str, ...]) -> np.ndarray:
    return live.class_probabilities(_model, pixels, list(class_names))


def class_probabilities(run: Run | Ensemble, pixels: np.ndarray) -> np.ndarray:
    """The run's model's probabilities for the images (see `live.class_probabilities`), computed once per model
    file version and images: a rerun of the page (another top-k, a crop of another image) predicts nothing again.
    Raises what loading the model raises."""
    files = model_files(run)
    return _class_probabilities(model(run), files, pixels, tuple(run.class_names))


@st.cache_data(show_spinner=False, max_entries=1024)
def _class_activation_map(_model, model_files: tuple, pixels: np.ndarray, class_index: int) -> tuple[np.ndarray, str]:
    return class_activation_map(_model, pixels, class_index)


def where_it_looked(container, run: Run | Ensemble, pixels: np.ndarray, class_index: int, caption: str, *,
                    size: int = live.THUMBNAIL_SIZE) -> str | None:
    """Draws in `container` the run's class activation map of one image (as the model sees it) for a class; a map
    that fails gets one line instead.

    Args:
        caption: a few words under the map ("its pick: dog 87%"); the page says once, under all its maps, what
            they are and how each was drawn (`live.maps_explained` of the methods returned).
        size: about how many px the map is shown on its long side (a whole factor of the model's view).

    Returns:
        the method that drew the map (`trainers.inference.explain`'s name of it), None when there is no map.
    """
    if no_model(run):
        container.caption(f"No map of where it looked: {no_model(run)}")
        return None
    try:
        files = model_files(run)
        heatmap, method = _class_activation_map(model(run), files, pixels, class_index)
    except Exception as error:  # noqa: BLE001 - a map that fails must not hide the rest of the page
        container.caption(f"No map of where {run.label} looked: {error}")
        return None
    container.image(live.heatmap_overlay(pixels, heatmap, size), caption=caption)
    return method
