"""A shipped model on images, for the pages, cached: uploads decoded once, and reduced once to the models' views and
a thumbnail; a loaded model's class probabilities computed once per model and image, its class activation maps
(where it looked) once per model and image, and each run's none-of-these threshold once per predictions file."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

import numpy as np
import streamlit as st

from dashboard.lib import live
from dashboard.lib.caches import model, model_files, no_model
from dashboard.lib.store_cache import file_mtime
from trainers.analysis import none_of_these
from trainers.analysis.ensemble import Ensemble
from trainers.analysis.on_set import run_on_test
from trainers.inference.explain import class_activation_map
from trainers.inference.pixels import image_to_pixels
from trainers.store import run_store
from trainers.store.run_store import Run, RunError

KEPT_OUTPUTS = 4096  # images' probabilities kept in the process, every model's together: C floats each


@st.cache_resource(show_spinner=False, max_entries=32)
def _decoded_upload(file_id: str, name: str, _data: bytes) -> live.DecodedImage:
    return live.read_image(name, _data)


def decoded_upload(upload) -> live.DecodedImage:
    """An uploaded file (or photo) as `live.read_image` decodes it, once per upload rather than on every rerun of
    the page; shared: never change it. Raises live.UploadError saying why the file cannot be used."""
    return _decoded_upload(upload.file_id, upload.name, upload.getvalue())


@st.cache_data(show_spinner=False, max_entries=512)
def _model_views(key: str, _image, sizes: tuple[int, ...]) -> dict[int, np.ndarray]:
    return {size: image_to_pixels(_image, size) for size in sizes}


def model_views(key: str | None, image, sizes) -> dict[int, np.ndarray]:
    """The image as models of each size see it (`image_to_pixels`), by size: computed once per `key` (what names the
    image for good: an upload's file id), or every time for an image without one (a crop being dragged)."""
    if key is None:
        return {size: image_to_pixels(image, size) for size in sizes}
    return _model_views(key, image, tuple(sizes))


@st.cache_data(show_spinner=False, max_entries=512)
def _thumbnail_uri(key: str, _image) -> str:
    return live.thumbnail_uri(_image)


def thumbnail_uri(key: str | None, image) -> str:
    """The image's thumbnail for a table (`live.thumbnail_uri`), made once per `key` as `model_views`'s."""
    return live.thumbnail_uri(image) if key is None else _thumbnail_uri(key, image)


class _KeptOutputs:
    """Each image's probabilities by model file version and the image's pixels, the least recently used dropped
    past `size`; shared by every session, so guarded by a lock.

    Not `st.cache_data`, which keeps one call's outputs whole: twenty photos and one more would be twenty-one new
    images to predict, where here they are one.
    """

    def __init__(self, size: int):
        self.size = size
        self._outputs: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, keys: list) -> list[np.ndarray | None]:
        with self._lock:
            found = [self._outputs.get(key) for key in keys]
            for key, value in zip(keys, found):
                if value is not None:
                    self._outputs.move_to_end(key)
            return found

    def put(self, keys: list, values) -> None:
        with self._lock:
            for key, value in zip(keys, values):
                self._outputs[key] = value
                self._outputs.move_to_end(key)
            while len(self._outputs) > self.size:
                self._outputs.popitem(last=False)


@st.cache_resource(show_spinner=False)
def _kept_outputs() -> _KeptOutputs:
    return _KeptOutputs(KEPT_OUTPUTS)


def _pixels_key(pixels: np.ndarray) -> tuple:
    """An image's pixels as a short key: their shape and a digest of their bytes."""
    pixels = np.ascontiguousarray(pixels)
    return pixels.shape, str(pixels.dtype), hashlib.blake2b(pixels.tobytes(), digest_size=16).digest()


def class_probabilities(run: Run | Ensemble, pixels: np.ndarray) -> np.ndarray:
    """The run's model's probabilities for the images (N, H, W, 3) (see `live.class_probabilities`), each image's
    computed once per model file version (`caches.model_files`): the model is called once, on the images it has
    not seen alone, so that a later upload costs one image, and a rerun of the page (another top-k, another photo
    shown in detail) none. Raises what loading the model raises."""
    files = model_files(run)
    keys = [(files, tuple(run.class_names), _pixels_key(image)) for image in pixels]
    kept = _kept_outputs()
    found = kept.get(keys)
    missing = [number for number, value in enumerate(found) if value is None]
    if missing:
        computed = live.class_probabilities(model(run), np.asarray(pixels)[missing], list(run.class_names))
        kept.put([keys[number] for number in missing], computed)
        for number, vector in zip(missing, computed):
            found[number] = vector
    if not len(found):
        return np.zeros((0, len(run.class_names)), np.float32)
    return np.stack(found)


@st.cache_data(show_spinner=False, max_entries=64)
def _threshold(_run: Run | Ensemble, label: str, predictions_files: tuple) -> none_of_these.Threshold:
    # Its own test predictions, whatever images the sidebar scores it on.
    probabilities = run_on_test(_run).predictions.probabilities
    return none_of_these.threshold_on_test(none_of_these.max_softmax(probabilities))


def threshold(run: Run | Ensemble) -> none_of_these.Threshold | None:
    """The run's none-of-these threshold: on the maximum softmax probability, set so that 95% of its test images
    pass (`none_of_these.threshold_on_test`), computed once per version of its test predictions (an ensemble's,
    its members'); None for a run recorded from its predicted labels alone (`run.no_probabilities`). Raises
    RunError when its test predictions cannot be read."""
    if run.no_probabilities:
        return None
    members = run.members if isinstance(run, Ensemble) else [run]
    files = tuple((str(path), file_mtime(path)) for path in (member.path / run_store.PREDICTIONS_FILE
                                                              for member in members))
    return _threshold(run, run.label, files)


NO_THRESHOLD = "it was recorded from its predicted labels alone, without the probabilities a threshold is set on"


def thresholds(runs) -> tuple[dict[str, none_of_these.Threshold | None], dict[str, str]]:
    """Each run's threshold (`threshold`) by label, None for a run without one; and, by label, why each run without
    one has none, in words that follow "has no threshold: "."""
    found, without = {}, {}
    for run in runs:
        try:
            found[run.label] = threshold(run)
        except RunError as error:
            found[run.label] = None
            without[run.label] = f"its test predictions cannot be read ({error})"
            continue
        if found[run.label] is None:
            without[run.label] = NO_THRESHOLD
    return found, without


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
