"""What every page shares through Streamlit: the run store, the sidebar's run selection, run pickers, and cached
loads."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import streamlit as st

from dashboard.lib import curves, live, samples, test_map
from dashboard.lib.runs import TRAIN_COMMAND, dataset_labels, group_by_dataset, readable_runs, split_readable
from trainers.store import progress, remote_store, run_store
from trainers.analysis.ensemble import Ensemble
from trainers.inference.ensemble_model import mean_model, save_ensemble
from trainers.inference.explain import class_activation_map
from trainers.store.run_store import Run, RunError, TestImages
from trainers.inference.predict import load_model

REPO_ROOT = Path(__file__).resolve().parents[2]
SELECTION_KEY = "selection"
SAVED_ENSEMBLE_KEY = "saved_ensemble"


@dataclass(frozen=True)
class Selection:
    """The sidebar's choice: runs of one data set (and the ensemble of some, if asked for), out of the store's
    readable and broken runs."""

    store: Path
    runs: list[Run | Ensemble] = field(default_factory=list)
    dataset: str = ""
    readable: int = 0
    broken: list[tuple[str, str]] = field(default_factory=list)


def store_path() -> Path:
    """The run store; a relative path is taken from the repository root, whatever the working folder. A bucket's URL
    (s3://, gs://) gives the local folder that mirrors it, brought up to date at most every REMOTE_SYNC_SECONDS."""
    url = remote_store.store_url()
    if url:
        try:
            return Path(_mirrored(url))
        except remote_store.StoreError as error:
            st.error(str(error))
            st.stop()
    store = run_store.resolve_store()
    return store if store.is_absolute() else REPO_ROOT / store


# How long the dashboard shows a bucket's runs as it last listed them: a rerun does not list the bucket each time.
REMOTE_SYNC_SECONDS = 30


@st.cache_data(ttl=REMOTE_SYNC_SECONDS, show_spinner="Downloading new runs from the bucket…")
def _mirrored(url: str) -> str:
    return str(remote_store.mirror(url))


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


def store_signature(store: Path) -> tuple:
    """Changes whenever a run folder appears, goes, or has its run.json rewritten."""
    if not store.is_dir():
        return ()
    return tuple(sorted((path.name, _mtime(path / run_store.RUN_FILE)) for path in store.iterdir() if path.is_dir()))


@st.cache_resource(show_spinner="Reading the run store…", max_entries=4)
def _readable_runs(store: str, signature: tuple) -> tuple[list[Run], list[tuple[str, str]]]:
    # Shared by every session: Run objects are read-only and keep their arrays once a page has read them.
    return readable_runs(store)


def sidebar_selection() -> Selection:
    """Draws the store, its broken runs, the data set and the runs to show; remembers the choice for the page."""
    store = store_path()
    runs, broken = _readable_runs(str(store), store_signature(store))
    groups = group_by_dataset(runs)
    selection = Selection(store, readable=len(runs), broken=broken)
    with st.sidebar:
        if groups:
            labels = dataset_labels(groups)
            test_key = next(iter(groups))
            if len(groups) > 1:
                # Runs of different test sets are never ranked together: one data set at a time.
                test_key = st.selectbox("Data set", list(groups), format_func=labels.get, key="dataset")
            by_id = {run.run_id: run for run in groups[test_key]}
            key = f"runs:{test_key}"
            _keep_choice_current(key, list(by_id))
            chosen = st.multiselect("Runs", list(by_id), key=key, format_func=lambda run_id: by_id[run_id].label)
            ensemble = _ensemble_choice(store, test_key, by_id)
            selection = Selection(store, [by_id[run_id] for run_id in chosen] + ([ensemble] if ensemble else []),
                                  labels[test_key], len(runs), broken)
        if broken:
            st.warning("**Runs that cannot be read:**\n\n"
                       + "\n".join(f"- `{name}`: {reason}" for name, reason in broken))
        url = remote_store.mirrored_url(store)
        st.caption(f"Run store: `{url}`, mirrored at `{store}`" if url else f"Run store: `{store}`")
    if selection.runs:
        download_report(selection.runs)
    st.session_state[SELECTION_KEY] = selection
    return selection


def download_report(runs: list[Run | Ensemble]) -> None:
    """Draws "Download report" in the sidebar: the runs' report as one self-contained HTML file, built only when
    the button is clicked (see `dashboard.lib.report`)."""
    def report() -> str:
        # Imported on a click: the report builds on this package's modules (not the other way), and importing it
        # (scikit-learn, SciPy) would cost the first page a second.
        from dashboard.lib.report import report_html

        return report_html(split_readable(runs, "predictions", "history")[0])  # the pages name the others

    st.sidebar.download_button("Download report", data=report, file_name="report.html",
                               mime="text/html", on_click="ignore", icon=":material/download:",
                               help="The comparison table, curves, confusion matrices, head to head (two runs) and "
                                    "calibration of the selected runs, in one HTML file that opens offline.")


def _keep_choice_current(key: str, run_ids: list[str]) -> None:
    """The runs chosen under `key`: all at first; later, the chosen ones that still exist, plus every run
    committed since the last script run (a new run shows up without a click; one deleted drops out)."""
    known_key = f"{key}:known"
    if key not in st.session_state:
        st.session_state[key] = run_ids
    else:
        known = set(st.session_state.get(known_key, run_ids))
        st.session_state[key] = [run_id for run_id in st.session_state[key] if run_id in run_ids] + [
            run_id for run_id in run_ids if run_id not in known]
    st.session_state[known_key] = run_ids


@st.cache_resource(show_spinner=False, max_entries=8)
def _ensemble(_members: tuple[Run, ...], store: str, signature: tuple, run_ids: tuple[str, ...]) -> Ensemble:
    # Shared like the runs it is made of; read-only, it keeps its mean probabilities once computed.
    return Ensemble(_members)


def _ensemble_choice(store: Path, test_key: str, by_id: dict[str, Run]) -> Ensemble | None:
    """Draws "Ensemble of" and, with two runs or more picked, how to save their ensemble; the ensemble, if any.

    Saving is the dashboard's only write to the store. The saved run replaces the ensemble in the selection:
    the picks are cleared, and the page runs again so that the store lists the new run.
    """
    key = f"ensemble:{test_key}"
    saved = st.session_state.pop(SAVED_ENSEMBLE_KEY, None)
    if saved:
        st.session_state[key] = []
        st.success(saved)
    elif key in st.session_state:  # runs deleted since the last script run drop out
        st.session_state[key] = [run_id for run_id in st.session_state[key] if run_id in by_id]
    picked = st.multiselect("Ensemble of", list(by_id), key=key, format_func=lambda run_id: by_id[run_id].label,
                            help="Two runs or more: the mean of their probabilities joins the runs above on every "
                                 "page. Nothing is written unless you save it.")
    if len(picked) < 2:
        return None
    members, unreadable = split_readable([by_id[run_id] for run_id in picked], "predictions")
    try:
        if unreadable:
            raise ValueError("; ".join(f"{label}: {reason}" for label, reason in unreadable))
        ensemble = _ensemble(tuple(members), str(store), store_signature(store), tuple(picked))
    except ValueError as error:
        st.error(f"These runs make no ensemble: {error}")
        return None
    members_name = "+".join(picked)
    name = st.text_input("Run folder name", value=f"ensemble-{members_name}", key=f"ensemble_name:{members_name}")
    if st.button("Save as a run folder", icon=":material/save:",
                 help="Writes the ensemble into the run store, with a model.keras that averages its members."):
        try:
            with st.spinner("Saving the ensemble…"):
                run = save_ensemble(ensemble, store, name.strip())
        except (ValueError, OSError, RunError) as error:
            st.error(f"Not saved: {error}")
        else:
            st.session_state[SAVED_ENSEMBLE_KEY] = f"Saved {ensemble.label} as the run `{run.run_id}`."
            st.rerun()
    return ensemble


def selection() -> Selection:
    """The choice the sidebar made in this script run."""
    return st.session_state.get(SELECTION_KEY) or Selection(store_path())


def selected_runs(*parts: str) -> list[Run | Ensemble]:
    """The runs chosen in the sidebar, then the ensemble picked there (if any); with none, says how to get some and
    stops the page.

    Args:
        parts: what the page reads of each run besides its JSON files ("predictions", "history"): read now, and
            a run whose parts cannot be read is left out, named in a warning with the reason.
    """
    chosen = selection()
    if not chosen.readable:
        st.info(f"No runs in `{chosen.store}` yet. Train one from the repository root with:")
        st.code(TRAIN_COMMAND, language="bash")
        st.caption("`python -m trainers.train --list` shows every preset. To read another store, "
                   "set `ARTIFACTS_DIR` before `streamlit run dashboard/Home.py`.")
        st.stop()
    if not chosen.runs:
        st.info("Select at least one run in the sidebar.")
        st.stop()
    runs = readable(chosen.runs, *parts, left_out="Not shown on this page")
    if not runs:
        st.info("None of the selected runs can be shown on this page.")
        st.stop()
    return runs


def readable(runs: list[Run | Ensemble], *parts: str, left_out: str) -> list[Run | Ensemble]:
    """The runs whose `parts` ("predictions", "history") can be read, read now; the others are named in one
    warning that starts with `left_out` and gives each reason."""
    kept, unreadable = split_readable(runs, *parts)
    if unreadable:
        st.warning(f"{left_out}: runs whose files cannot be read.\n\n"
                   + "\n".join(f"- {label}: {reason}" for label, reason in unreadable))
    return kept


def choose_run(runs: list[Run], *, label: str = "Run", key: str | None = None, index: int = 0, container=st) -> Run:
    """A selectbox of `runs` by their labels, in `container` (the page by default); the run chosen."""
    by_label = {run.label: run for run in runs}
    return by_label[container.selectbox(label, list(by_label), index=index, key=key)]


def side_by_side(runs: list[Run], *, key: str, label: str = "Run") -> Iterator[Run]:
    """Two columns, each choosing one of `runs` (the first and the second to start with; one column for one run).

    Yields each column's run while inside that column, so what the caller draws for it lands there.
    """
    for side, column in enumerate(st.columns(2 if len(runs) > 1 else 1)):
        with column:
            yield choose_run(runs, label=label, index=side, key=f"{key}_{side}")


@st.cache_resource(show_spinner="Loading test images…", max_entries=2)
def _test_images(store: str, test_key: str, mtime: int) -> TestImages:
    # Shared, never copied: a copy of 10,000 images per script run costs more than the rest of most pages.
    return run_store.load_test_images(store, test_key)


def test_images(run: Run) -> TestImages | None:
    """The stored test images of a run's test set; None, with a warning shown, when they cannot be used."""
    store = run.store
    try:
        images = _test_images(str(store), run.test_key, _mtime(run_store.test_images_path(store, run.test_key)))
    except RunError as error:
        st.warning(f"The test images of {run.dataset.get('name', run.test_key)} cannot be read: {error}")
        return None
    try:
        missing = images.missing(run.predictions.ids)
    except RunError as error:
        st.warning(f"The test images cannot be matched to {run.label}'s predictions: {error}")
        return None
    if missing:
        st.warning(f"The stored test images lack {missing} of the images {run.label} predicted: "
                   "its test set has changed since. Re-evaluate the run with `python -m trainers.evaluate`.")
        return None
    return images


# The most models a page runs at once (the Live page, an image's view of every run). The cache keeps twice as
# many, so that a page's models stay loaded while another set is used, instead of being loaded on every rerun.
MAX_MODELS = 8


@st.cache_resource(show_spinner=False, max_entries=2 * MAX_MODELS)
def _model(_run: Run, model_path: str, mtime: int):
    # Keyed by path and modification time, so a retrained run is loaded again.
    return load_model(_run)


def keep_keras_session() -> None:
    """Stops Streamlit from clearing Keras' session after every script run.

    Streamlit's `_clean_problem_modules` calls `keras.backend.clear_session()` at the end of each run, which
    empties TensorFlow's kernel cache (every cached model then builds its kernels again on its next call: most of
    a second per model on a 2-core CPU) and runs a full garbage collection after every click. The dashboard
    builds no model in a script run, it loads each once (`model`), so the clean-up only costs; matplotlib's part of
    it is kept. Does nothing on a Streamlit without that function.
    """
    from streamlit.runtime.scriptrunner import script_runner

    streamlits = getattr(script_runner, "_clean_problem_modules", None)
    if streamlits is None or hasattr(streamlits, "replaced"):
        return

    def clean_matplotlib_only() -> None:
        if "matplotlib.pyplot" in sys.modules:
            sys.modules["matplotlib.pyplot"].close("all")

    clean_matplotlib_only.replaced = streamlits
    script_runner._clean_problem_modules = clean_matplotlib_only


def model(run: Run | Ensemble):
    """The run's Keras model, loaded once per process (shared: never change it); for an ensemble, the mean of its
    members' models."""
    if isinstance(run, Ensemble):
        return mean_model(run, model_of=model)
    return _model(run, str(run.model_path), _mtime(run.model_path))


@st.cache_resource(show_spinner=False, max_entries=8)
def _test_map(_run: Run, run_path: str, mtime: int, colour_by: str):
    table = test_map.map_table(_run)
    return table, test_map.map_figure(table, _run.class_names, colour_by)


def test_map_and_figure(run: Run, colour_by: str):
    """The run's test-set map as a table and as a figure coloured by `colour_by` (see `dashboard.lib.test_map`),
    built once per run and colouring: ten thousand points take most of a second. Shared: never change them.
    Raises RunError when the map cannot be drawn."""
    return _test_map(run, str(run.path), _mtime(run.path / run_store.RUN_FILE), colour_by)


@st.cache_resource(show_spinner=False, max_entries=32)
def _decoded_upload(file_id: str, name: str, _data: bytes) -> live.DecodedImage:
    return live.read_image(name, _data)


def decoded_upload(upload) -> live.DecodedImage:
    """An uploaded file (or photo) as `live.read_image` decodes it, once per upload rather than on every rerun of
    the page; shared: never change it. Raises live.UploadError saying why the file cannot be used."""
    return _decoded_upload(upload.file_id, upload.name, upload.getvalue())


@st.cache_data(show_spinner=False, max_entries=1024)
def _class_probabilities(_model, model_key: tuple, pixels: np.ndarray, class_names: tuple[str, ...]) -> np.ndarray:
    return live.class_probabilities(_model, pixels, list(class_names))


def class_probabilities(run: Run | Ensemble, loaded, pixels: np.ndarray) -> np.ndarray:
    """The run's loaded model's probabilities for the images (see `live.class_probabilities`), computed once per
    model and images: a rerun of the page (another top-k, a crop of another image) predicts nothing again."""
    return _class_probabilities(loaded, (run.label, id(loaded)), pixels, tuple(run.class_names))


@st.cache_data(show_spinner=False, max_entries=1024)
def _class_activation_map(_model, model_key: tuple, pixels: np.ndarray, class_index: int) -> tuple[np.ndarray, str]:
    # Keyed by the run and its loaded model, the image's pixels and the class: a rerun of the page recomputes none.
    return class_activation_map(_model, pixels, class_index)


def where_it_looked(container, run: Run | Ensemble, pixels: np.ndarray, class_index: int, why: str, *,
                    size: int = live.THUMBNAIL_SIZE) -> None:
    """Draws in `container` the run's class activation map of one image (as the model sees it) for a class,
    captioned with `why` that class and the method used; a map that fails gets one line instead."""
    try:
        loaded = model(run)
        heatmap, method = _class_activation_map(loaded, (run.label, id(loaded)), pixels, class_index)
    except Exception as error:  # noqa: BLE001 - a map that fails must not hide the rest of the page
        container.caption(f"No map of where {run.label} looked: {error}")
        return
    container.image(live.heatmap_overlay(pixels, heatmap, size), caption=f"Where it looked for {why}: {method}")


MAPS_PER_ROW = 4  # runs abreast in an image's dialog


@st.dialog("Test image", width="large")
def _every_runs_view(images: TestImages, runs: list, image_id: str, true_class: str) -> None:
    pixels = images.select([image_id])[0]
    st.image(samples.upscale(pixels, 384))
    st.markdown(f"`{image_id}`, true class **{true_class}**. What every selected run predicted:")
    st.dataframe(samples.predictions_for_image(runs, image_id), hide_index=True,
                 column_config={"confidence": st.column_config.NumberColumn(format="percent")})
    st.markdown("**Where each run looked**, for its pick and, when it is wrong, for the true class"
                + (f" (the first {MAX_MODELS} runs selected):" if len(runs) > MAX_MODELS else ":"))
    mapped = runs[:MAX_MODELS]  # a model each: more would be loaded again on every view
    for start in range(0, len(mapped), MAPS_PER_ROW):
        for column, run in zip(st.columns(MAPS_PER_ROW), mapped[start:start + MAPS_PER_ROW]):
            predictions = run.predictions
            positions = np.flatnonzero(predictions.ids == image_id)
            if not len(positions):
                continue
            predicted = int(predictions.probabilities[positions[0]].argmax())
            true_index = int(predictions.labels[positions[0]])
            column.markdown(f"**{run.label}**")
            where_it_looked(column, run, pixels, predicted, f"its pick, {run.class_names[predicted]}", size=192)
            if predicted != true_index:
                where_it_looked(column, run, pixels, true_index, f"the true class, {true_class}", size=192)


def gallery(table, run: Run, runs: list, *, page_size: int, key: str, describe, empty: str,
            button: str = "Open", per_row: int = 4) -> None:
    """Pages of test-image cards, `per_row` abreast, each with a button opening every run's view of the image.

    Args:
        table: one row per image of `run`'s test set, in the order shown, with at least "id" and "true"
            (its class name); when it is empty, the `empty` message is shown instead.
        runs: the runs whose view of an image its button shows.
        describe: (position, row) -> (a markdown line, a caption) written under the image.
        key: names this gallery's choice of page, so another gallery or filter starts again at page 1.
    """
    if table.empty:
        st.success(empty)
        return
    images = test_images(run)
    if images is None:
        return
    pages = samples.page_count(len(table), page_size)
    page = st.number_input(f"Page (of {pages})", 1, pages, 1, key=f"page:{key}:{page_size}") if pages > 1 else 1
    shown = table.iloc[samples.page_slice(page, page_size)]
    for start in range(0, len(shown), per_row):
        row = shown.iloc[start:start + per_row]
        for column, pixels, (position, sample) in zip(st.columns(per_row), images.select(row["id"]), row.iterrows()):
            with column, st.container(border=True):
                st.image(samples.upscale(pixels))
                line, caption = describe(position, sample)
                st.markdown(line)
                st.caption(caption)
                if st.button(button, key=f"open:{sample['id']}", icon=":material/zoom_in:"):
                    _every_runs_view(images, runs, sample["id"], sample["true"])


REFRESH_SECONDS = 5  # how often a page re-reads the runs being trained


def runs_in_progress(*, curves_too: bool = False) -> None:
    """The store's runs being trained, re-read every few seconds: a table, and with `curves_too` their curves so far.

    They are never ranked: a run joins the comparison only once it is committed complete. A page opened
    while nothing trains does not poll (a run started later shows on the next visit).
    """
    if progress.runs_in_progress(store_path()):
        _runs_in_progress(curves_too)


@st.fragment(run_every=REFRESH_SECONDS)
def _runs_in_progress(curves_too: bool) -> None:
    training = progress.runs_in_progress(store_path())
    if not training:
        st.caption("No run is being trained any more: reload the page to see the finished ones.")
        return
    st.subheader("In progress")
    st.caption(f"Runs being trained (or interrupted), re-read every {REFRESH_SECONDS} s; "
               "not ranked until they are complete.")
    st.dataframe(progress.progress_table(training), hide_index=True,
                 column_config={name: st.column_config.NumberColumn(format="%.3f")
                                for name in ("validation accuracy", "train accuracy")})
    with_epochs = {run.label: run.history for run in training if len(run.history)}
    if curves_too and with_epochs:
        table = curves.curves_table(with_epochs)
        loss_column, accuracy_column = st.columns(2)
        loss_column.plotly_chart(curves.curves_figure(table, "loss"), key="in_progress_loss")
        accuracy_column.plotly_chart(curves.curves_figure(table, "accuracy"), key="in_progress_accuracy")
