"""The Robustness page's reads, tables, figure and sentences: each run's accuracy on a subset of its test images
under the 15 corruptions of CIFAR-10-C / ImageNet-C at 5 severities (`trainers.analysis.robustness`), mCE and
relative mCE against a baseline run, the ranking by clean accuracy beside the ranking by mCE, and the images a
corruption breaks, regenerated pixel for pixel.

A run's 75 units are read once per version of its corruptions folder (every unit is written by a rename in it, which
changes the folder's modification time), so a rerun of the page reads nothing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from PIL import Image
from plotly.subplots import make_subplots

from dashboard.lib import figures, samples
from dashboard.lib.store_cache import file_mtime
from trainers.analysis import robustness
from trainers.analysis.robustness import Robustness, broken_by_corruption, image_index
from trainers.inference.corruptions import corrupt
from trainers.store import corruption_results, evaluable, run_store
from trainers.store.corruption_results import CORRUPTIONS, FAMILIES, SEVERITIES
from trainers.store.run_store import Predictions, Run, RunError

UNITS = len(CORRUPTIONS) * len(SEVERITIES)  # 75
CLEAN, CORRUPTED = "clean accuracy", "corrupted accuracy"
MCE, RELATIVE_MCE = "mCE", "relative mCE"
RANK_CLEAN, RANK_MCE = "rank clean", "rank mCE"
MEAN_PANEL = "mean of the 15"
CLEAN_X = -1  # where clean accuracy is drawn, a step apart from severity 1: the label "clean" needs the room
PROFILES = {"cifar": "CIFAR-10-C's parameters (32 px images)", "imagenet": "ImageNet-C's parameters (larger images)"}
PAIR_SIZE = 96  # px of each image of a pair: 32 px images at 3x, square pixels
PAIR_GAP = 6  # px of white between the clean image and the corrupted one


def corruption_label(name: str) -> str:
    """How a corruption reads on the page: "gaussian_noise" -> "gaussian noise", "jpeg_compression" -> "JPEG
    compression"."""
    return name.replace("_", " ").replace("jpeg", "JPEG")


def ordinal(number: int) -> str:
    """1 -> "1st", 2 -> "2nd", 11 -> "11th"."""
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


# ---------------------------------------------------------------- reading, once per version of a run's units

def stored_results(run: Run) -> tuple[Robustness | None, str]:
    """The run's accuracy per corruption and severity (None with no unit) and the corruption profile its units were
    made with ("cifar", "imagenet"), read from its folder; RunError when they cannot be read."""
    try:
        found = robustness.run_robustness(run)
    except (KeyError, ValueError) as error:  # units of images its test predictions lack
        raise RunError(f"its corruption results do not match its test predictions ({error})") from None
    done = corruption_results.units(run.path)
    return found, corruption_results.unit_record(run.path, *done[-1])["profile"] if done else ""


@st.cache_resource(show_spinner="Reading the corruption results…", max_entries=256)
def _run_results(_run: Run, run_path: str, units_version: int, predictions_version: int
                 ) -> tuple[Robustness | None, str]:
    # Shared, never changed. Keyed by the corruptions folder's and the test predictions' modification times: a unit
    # written, or the run evaluated again, reads the run again.
    return stored_results(_run)


def run_results(run: Run) -> tuple[Robustness | None, str]:
    """`stored_results`, read once per version of the run's units and test predictions."""
    return _run_results(run, str(run.path), file_mtime(run.path / corruption_results.CORRUPTIONS_DIR),
                        file_mtime(run.path / run_store.PREDICTIONS_FILE))


@st.cache_resource(show_spinner=False, max_entries=64)
def _unit_predictions(run_path: str, corruption: str, severity: int, units_version: int) -> Predictions:
    return corruption_results.read_unit(run_path, corruption, severity)[0]


def unit_predictions(run: Run, corruption: str, severity: int) -> Predictions:
    """The run's predictions on one unit, read once per version of its units; RunError when unreadable."""
    return _unit_predictions(str(run.path), corruption, severity,
                             file_mtime(run.path / corruption_results.CORRUPTIONS_DIR))


@st.cache_resource(show_spinner="Corrupting the images…", max_entries=32)
def _corrupted(_clean: np.ndarray, store: str, test_key: str, ids: tuple[str, ...], corruption: str,
               severity: int) -> np.ndarray:
    # Shared, never changed (a page of zoom blur takes a fraction of a second to make); not st.cache_data, which
    # warns on import wherever no Streamlit runs, and `python -m dashboard.report` imports this module.
    return corrupt(_clean, corruption, severity, indices=[image_index(image_id) for image_id in ids])


def corrupted_pixels(clean: np.ndarray, run: Run, ids, corruption: str, severity: int) -> np.ndarray:
    """The images `ids` (their clean pixels `clean`) as the run was evaluated on them under the corruption: the
    same pixels, as `image_index` seeds each image by its id alone."""
    return _corrupted(clean, str(run.store), run.test_key, tuple(ids), corruption, severity)


# ---------------------------------------------------------------- which runs have what

def read_results(runs: list[Run], read=run_results
                 ) -> tuple[dict[str, Robustness], dict[str, str], list[tuple[str, str]]]:
    """The runs' results by label (those with at least one unit), the corruption profile of each, and the runs whose
    results cannot be read, with why; `read` is `run_results` (cached) or `stored_results`."""
    results, profiles, unreadable = {}, {}, []
    for run in runs:
        try:
            found, profile = read(run)
        except RunError as error:
            unreadable.append((run.label, str(error)))
            continue
        if found is not None:
            results[run.label], profiles[run.label] = found, profile
    return results, profiles, unreadable


def corruptions_command(runs: list[Run]) -> str:
    """The command that predicts the runs' missing units (the ones with a model; "" when none has one)."""
    with_model = [run for run in runs if run.model_path is not None]
    if not with_model:
        return ""
    # The command takes several runs: the others' folders follow the first's.
    return evaluable.evaluate_command(with_model[0], *map(evaluable.command_path, with_model[1:]), "--corruptions")


def split_by_units(results: dict[str, Robustness]) -> tuple[dict[str, Robustness], dict[str, Robustness]]:
    """The runs with all 75 units on the subset most of them share (the largest, on a tie), to be compared; and the
    others with some units."""
    complete = {label: found for label, found in results.items() if found.complete}
    if complete:
        sizes = pd.Series({label: found.images for label, found in complete.items()})
        counts = sizes.value_counts()
        size = max(counts[counts == counts.max()].index)
        complete = {label: found for label, found in complete.items() if found.images == size}
    return complete, {label: found for label, found in results.items() if label not in complete}


def missing_units_note(runs: dict[str, Run], results: dict[str, Robustness], compared: dict[str, Robustness]
                       ) -> str:
    """One line naming the runs left out of mCE (some units, none, or another subset), and the command that adds
    what they lack; "" when every run is compared."""
    left_out = [label for label in runs if label not in compared]
    if not left_out:
        return ""
    size = next(iter(compared.values())).images if compared else None

    def what(label: str) -> str:
        found = results.get(label)
        if found is None:
            return f"{label} (none)"
        done = int(found.accuracy.notna().to_numpy().sum())
        if size is not None and found.images != size:
            return f"{label} ({done} on {found.images:,} images, not {size:,})"
        return f"{label} ({done} of {UNITS})"

    without = [label for label in left_out if runs[label].model_path is None]
    text = f"No mCE for runs without all {UNITS} units: {', '.join(what(label) for label in left_out)}."
    command = corruptions_command([runs[label] for label in left_out])
    if command:
        # The compared runs' subset, when it is not the default's (a test set smaller than it is taken whole).
        whole = len(runs[left_out[0]].predictions.labels)
        images = f" --images {size}" if size not in (None, robustness.DEFAULT_IMAGES, whole) else ""
        text += f" Add them with `{command}{images}` (it goes on where it stopped)."
    if without:
        text += (f" {', '.join(without)} {'has' if len(without) == 1 else 'have'} no model to predict corrupted "
                 "images with.")
    return text


def default_baseline(compared: dict[str, Robustness]) -> str:
    """The run the baseline starts on: the least accurate on the clean subset (the paper's AlexNet was its least
    accurate model); the first of a tie."""
    return min(compared, key=lambda label: compared[label].clean)


# ---------------------------------------------------------------- the answer and the tables

def summary_table(compared: dict[str, Robustness], baseline: str) -> pd.DataFrame:
    """Per run, the lowest mCE first: mCE and relative mCE in percent of the baseline's (first: what a narrow window
    shows), clean accuracy on the subset, mean accuracy over the 75 units, and the two ranks; a "run" column."""
    table = robustness.summary(compared, baseline)[[MCE, RELATIVE_MCE, CLEAN, CORRUPTED, RANK_CLEAN, RANK_MCE]]
    table = table.sort_values([MCE, RANK_CLEAN], kind="stable")
    return table.rename_axis("run").reset_index()


def answer(table: pd.DataFrame, baseline: str) -> str:
    """The page's answer in markdown: the run with the lowest mCE, its mCE and relative mCE against the baseline;
    then whether it is also the most accurate on clean images, naming the runs that move between the rankings."""
    best = table.iloc[0]
    if best["run"] == baseline and len(table) > 1:
        runner_up = table.iloc[1]
        text = (f"**{baseline}**, the baseline, holds up best under corruption: the next lowest mCE is "
                f"**{runner_up[MCE]:.1f}** ({runner_up['run']}).")
    else:
        text = (f"**{best['run']}** holds up best under corruption: mCE **{best[MCE]:.1f}**, relative mCE "
                f"{best[RELATIVE_MCE]:.1f}, against {baseline}.")
        if best[RELATIVE_MCE] > 100:
            text += (f" Its relative mCE above 100 says corruption costs it more than it costs {baseline}: it stays "
                     "ahead by being more accurate clean.")
    if len(table) < 2:
        return text
    moved = table[table[RANK_CLEAN] != table[RANK_MCE]]
    if moved.empty:
        return text + " It is also the most accurate on clean images: the ranking by mCE is the ranking by clean " \
                      "accuracy."
    clean_best = table.loc[table[RANK_CLEAN] == 1, "run"].tolist()
    first = ("It is also the most accurate on clean images, but the ranking below it changes"
             if best[RANK_CLEAN] == 1 else f"**The ranking changes**: on clean images {' and '.join(clean_best)} "
                                           f"{'is' if len(clean_best) == 1 else 'are'} the most accurate")
    moves = [f"{row['run']} {'rises' if row[RANK_MCE] < row[RANK_CLEAN] else 'falls'} from "
             f"{ordinal(int(row[RANK_CLEAN]))} to {ordinal(int(row[RANK_MCE]))}"
             for _, row in moved.sort_values(RANK_CLEAN).iterrows()]
    return text + f" {first}. By mCE rather than clean accuracy, {'; '.join(moves)}."


def corruption_error_table(compared: dict[str, Robustness], baseline: str) -> pd.DataFrame:
    """Per run (rows, in `compared`'s order) and corruption (columns, the paper's order): the corruption error in
    percent of the baseline's, of which mCE is the mean."""
    base = 1 - compared[baseline].accuracy
    rows = {label: 100 * robustness.corruption_errors(1 - found.accuracy, base) for label, found in compared.items()}
    table = pd.DataFrame(rows).T
    table.columns = [corruption_label(name) for name in table.columns]
    return table.rename_axis("run").reset_index()


def accuracy_points(results: dict[str, Robustness]) -> pd.DataFrame:
    """Long table for the figure: run, panel (a corruption, or MEAN_PANEL: the mean of the 15 where a run has them
    all at a severity), severity (CLEAN_X for clean) and accuracy (NaN where a run has no unit)."""
    rows = []
    for label, found in results.items():
        mean = found.accuracy.mean(axis=0, skipna=False)
        for panel, accuracies in [(MEAN_PANEL, mean), *found.accuracy.iterrows()]:
            rows.append({"run": label, "panel": panel, "severity": CLEAN_X, "accuracy": found.clean})
            rows += [{"run": label, "panel": panel, "severity": int(severity), "accuracy": float(value)}
                     for severity, value in accuracies.items()]
    return pd.DataFrame(rows, columns=["run", "panel", "severity", "accuracy"])


def accuracy_figure(results: dict[str, Robustness], colours: dict[str, str]) -> go.Figure:
    """Accuracy against severity (clean first), a line per run in its colour, a panel per corruption: a row per
    family (noise, blur, weather, digital), the noise row led by the mean of the 15."""
    points = accuracy_points(results)
    grid = [[MEAN_PANEL, *FAMILIES["noise"]], *[list(names) for family, names in FAMILIES.items() if family != "noise"]]
    titles = [corruption_label(panel) for row in grid for panel in row]
    figure = make_subplots(rows=len(grid), cols=4, subplot_titles=titles, shared_yaxes=True, shared_xaxes=True,
                           vertical_spacing=0.07, horizontal_spacing=0.03)
    many = figures.many_runs(points)
    traces, rows, columns = [], [], []
    for row_number, row in enumerate(grid, start=1):
        for column_number, panel in enumerate(row, start=1):
            shown = points[points["panel"] == panel]
            panel_traces = ([figures.runs_in_one_trace(shown, "severity", "accuracy", name="runs")] if many else
                            figures.lines_by_run(shown, "severity", "accuracy", colours=colours))
            for trace in panel_traces:
                trace.showlegend = row_number == 1 and column_number == 1
                if not many:
                    trace.text = ["clean" if severity == CLEAN_X else f"severity {severity}" for severity in trace.x]
                    trace.hovertemplate = (f"{trace.name}<br>{corruption_label(panel)}, %{{text}}<br>accuracy "
                                           "%{y:.1%}<extra></extra>")
            traces += panel_traces
            rows += [row_number] * len(panel_traces)
            columns += [column_number] * len(panel_traces)
    figure.add_traces(traces, rows=rows, cols=columns)  # at once: a trace at a time takes ten times as long
    # Every other severity named: four labels fit a panel a quarter of a narrow window wide.
    figure.update_xaxes(tickvals=[CLEAN_X, 1, 3, 5], ticktext=["clean", "1", "3", "5"], tickangle=0,
                        range=[CLEAN_X - 0.6, 5.4])
    figure.update_xaxes(title_text="severity", row=len(grid))
    figure.update_yaxes(range=[0, 1.02], tickformat=".0%")
    figure.update_yaxes(title_text="accuracy", col=1)
    figure.update_annotations(font_size=13)
    figure.update_layout(height=200 * len(grid) + 140, margin={"t": 30, "l": 10, "r": 10},
                         legend={"orientation": "h", "yanchor": "top", "y": -0.08})
    return figure


# ---------------------------------------------------------------- the images a corruption breaks

def broken_table(run: Run, corrupted: Predictions) -> pd.DataFrame:
    """The images the run gets right clean and wrong corrupted, the most confident mistake first: id, true (class
    name), called (the corrupted image's pick), confidence."""
    broken = broken_by_corruption(run.predictions, corrupted)
    picked = corrupted.in_order(broken)
    names = np.asarray(run.class_names)
    table = pd.DataFrame({"id": broken, "true": names[picked.labels], "called": names[picked.predicted],
                          "confidence": picked.confidence.astype(float)})
    return table.sort_values("confidence", ascending=False, kind="stable").reset_index(drop=True)


def broken_sentence(run: Run, corrupted: Predictions, broken: int, corruption: str, severity: int) -> str:
    """How many of the subset's images the run gets right clean, how many of those the corruption breaks, and how
    many it mends (wrong clean, right corrupted)."""
    clean = run.predictions.in_order(corrupted.ids)
    right_clean = clean.predicted == clean.labels
    right_corrupted = corrupted.predicted == corrupted.labels
    mended = int((~right_clean & right_corrupted).sum())
    return (f"{run.label} gets {int(right_clean.sum()):,} of the {len(right_clean):,} images right clean. Under "
            f"{corruption_label(corruption)} at severity {severity} it gets **{broken:,}** of them wrong"
            + (f", and {mended:,} it got wrong clean right." if mended else "."))


def side_by_side(clean: np.ndarray, corrupted: np.ndarray) -> Image.Image:
    """The clean image and its corrupted copy, enlarged alike, abreast with a white gap."""
    left, right = samples.upscale(clean, PAIR_SIZE), samples.upscale(corrupted, PAIR_SIZE)
    pair = Image.new("RGB", (left.width + PAIR_GAP + right.width, max(left.height, right.height)), "white")
    pair.paste(left, (0, 0))
    pair.paste(right, (left.width + PAIR_GAP, 0))
    return pair
