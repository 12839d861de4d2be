"""Loads cached for the pages, once per process and file version: a test set's stored images, a run's Keras model,
a run's test-set map and its figure. Shared: never change them."""

from __future__ import annotations

import streamlit as st

from dashboard.lib import projection
from dashboard.lib.evaluation_choice import set_images
from dashboard.lib.store_cache import file_mtime
from trainers.analysis.ensemble import Ensemble
from trainers.inference.ensemble_model import mean_model
from trainers.inference.predict import load_model
from trainers.store import evaluable, evaluation_sets, run_store
from trainers.store.run_store import Run, RunError, TestImages


@st.cache_resource(show_spinner="Loading test images…", max_entries=2)
def _test_images(store: str, test_key: str, mtime: int) -> TestImages:
    # Shared, never copied: a copy of 10,000 images per script run costs more than the rest of most pages.
    return run_store.load_test_images(store, test_key)


def test_images(run: Run) -> TestImages | None:
    """The stored test images of a run's test set, or of the evaluation set its predictions are of
    (`Run.evaluation`); None, with a warning shown, when they cannot be used."""
    store = run.store
    try:
        if run.evaluation:
            images = set_images(store, run.test_key, run.evaluation)
        else:
            images = _test_images(str(store), run.test_key,
                                  file_mtime(run_store.test_images_path(store, run.test_key)))
    except RunError as error:
        st.warning(f"The images of {run.evaluation or run.dataset.get('name', run.test_key)} cannot be read: {error}")
        return None
    try:
        missing = images.missing(run.predictions.ids)
    except RunError as error:
        st.warning(f"The test images cannot be matched to {run.label}'s predictions: {error}")
        return None
    if missing and run.evaluation:
        source = (evaluation_sets.set_description(store, run.test_key, run.evaluation) or {}).get("source", "")
        st.warning(f"The images of {run.evaluation} lack {missing} of those {run.label} predicted: the set was read "
                   f"again since. Evaluate the run again with "
                   f"`{evaluable.evaluate_command(run, '--eval-set', source)}`.")
        return None
    if missing:
        refusal = evaluable.evaluation_refusal(run)
        st.warning(f"The stored test images lack {missing} of the images {run.label} predicted: its test set has "
                   "changed since. " + (f"Evaluate the run again with `{evaluable.evaluate_command(run)}`."
                                        if refusal is None else f"It cannot be evaluated again: {refusal}."))
        return None
    return images


@st.cache_data(show_spinner=False, max_entries=8)
def _class_groups(store: str, test_key: str, mtime: int) -> dict[str, str] | None:
    return run_store.load_class_groups(store, test_key)


def class_groups(run: Run | Ensemble) -> dict[str, str] | None:
    """The class groups (superclasses) of the run's test set; None when it has none or, with a warning shown, when
    they cannot be read or do not fit its classes."""
    try:
        groups = _class_groups(str(run.store), run.test_key,
                               file_mtime(run_store.class_groups_path(run.store, run.test_key)))
    except RunError as error:
        st.warning(f"The class groups of {run.dataset.get('name', run.test_key)} cannot be read: {error}")
        return None
    if groups is not None and list(groups) != list(run.class_names):
        st.warning(f"The class groups of {run.dataset.get('name', run.test_key)} are of other classes than "
                   f"{run.label}'s: store them again with "
                   f"`{evaluable.evaluate_command(run, '--class-groups', 'GROUPS.csv')}`.")
        return None
    return groups


# The most models a page runs at once (the Live page, an image's view of every run). The cache keeps twice as
# many, so that a page's models stay loaded while another set is used, instead of being loaded on every rerun.
MAX_MODELS = 8


@st.cache_resource(show_spinner=False, max_entries=2 * MAX_MODELS)
def _model(_run: Run, model_file: tuple[str, int]):
    # Keyed by path and modification time, so a retrained run is loaded again.
    return load_model(_run)


def model_files(run: Run | Ensemble) -> tuple[tuple[str, int], ...]:
    """The model files the run's model is loaded from (an ensemble's, each member's), each with its modification
    time: the key of what the model computes, which changes when a file is written again and, unlike `id()` of a
    loaded model, never names another model."""
    members = run.members if isinstance(run, Ensemble) else [run]
    return tuple((str(member.model_path), file_mtime(member.model_path)) for member in members
                 if member.model_path is not None)


def no_model(run: Run | Ensemble) -> str | None:
    """Why the run (or a member of the ensemble) has no model to run, in one line; None when it has one."""
    members = run.members if isinstance(run, Ensemble) else [run]
    return next((member.no_model for member in members if member.no_model), None)


def model(run: Run | Ensemble):
    """The run's Keras model, loaded once per process (shared: never change it); for an ensemble, the mean of its
    members' models."""
    if isinstance(run, Ensemble):
        return mean_model(run, model_of=model)
    if run.model_path is None:
        raise RunError(run.no_model)
    return _model(run, model_files(run)[0])


@st.cache_resource(show_spinner=False, max_entries=8)
def _test_map(_run: Run, run_path: str, mtime: int, colour_by: str):
    table = projection.map_table(_run)
    return table, projection.map_figure(table, _run.class_names, colour_by)


def test_map_and_figure(run: Run, colour_by: str):
    """The run's test-set map as a table and as a figure coloured by `colour_by` (see `dashboard.lib.projection`),
    built once per run and colouring: ten thousand points take most of a second. Shared: never change them.
    Raises RunError when the map cannot be drawn."""
    return _test_map(run, str(run.path), file_mtime(run.path / run_store.RUN_FILE), colour_by)
