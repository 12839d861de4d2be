"""A report to share: the dashboard's tables and figures of some runs in one self-contained HTML file.

The comparison table, training curves, confusion matrices and per-class scores, each run's most confident
mistakes, the head-to-head figures and the images only one run gets right (when exactly two runs are given),
calibration, and robustness to common corruptions (when runs have corruption results), all built by `dashboard.lib`
as the pages build them. plotly.js is written inline once and the test images are embedded as PNG `data:` URIs, so
the file opens in a browser with no network and no server. Reads only the stored results and test images: no model
is loaded. `python -m dashboard.report` writes one from the command line, the sidebar's "Download report" from the
dashboard.
"""

from __future__ import annotations

import base64
import functools
import html
import io
import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pandas as pd
from PIL import Image
import plotly.io as pio
from plotly.graph_objects import Figure

from dashboard.lib import (calibration, comparison, confusion, curves, figures, head_to_head, label_review, robustness,
                           samples)
from dashboard.lib.runs import dataset_labels
from trainers.analysis.ensemble import Ensemble
from trainers.analysis.label_review import CorrectedLabels
from trainers.analysis.on_set import images_named, stored_images
from trainers.analysis.ranking import rank
from trainers.analysis.uncertainty import ACCURACY_METHOD, LEAD_METHOD
from trainers.store import run_store
from trainers.store.run_store import Predictions, RunError, TestImages

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; padding: 0 1em; color: #222; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0 1.5em; width: max-content; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.5em; text-align: right; vertical-align: top; max-width: 30em; }
th { background: #f4f4f4; }
.table { overflow-x: auto; }
.caption { color: #666; font-size: 0.9em; }
.images { display: grid; grid-template-columns: repeat(6, 10.5em); gap: 1em 1.5em; margin: 0.5em 0 1.5em;
          overflow-x: auto; }
.images figure { margin: 0; font-size: 0.85em; }
.images img { display: block; margin-bottom: 0.25em; }
"""
FIGURE_HEIGHT = 450  # px, for the figures that set no height of their own
IMAGE_SIZE = 96  # px: a test image enlarged by a whole factor, so 32 px CIFAR images show at 3x with square pixels
MISTAKES_SHOWN = 12  # per run, its most confident mistakes
ONE_RIGHT_SHOWN = 6  # per head-to-head gallery (only A right, only B right), the most confident first
REPORT_TEMPLATE = "plotly"
ImagesOf = Callable[[Path, str], TestImages]  # (store, test key) -> the test set's images; RunError if unreadable


class _Figures:
    """Writes figures as HTML: the first with plotly.js inline, the others without, as they share it."""

    def __init__(self):
        self.written = 0

    def __call__(self, figure: Figure) -> str:
        # plotly's own template: inside the dashboard's server, plotly's default is Streamlit's, whose colours are
        # placeholders that only Streamlit's page replaces (a report built there would draw every run near-black).
        figure.update_layout(template=pio.templates[REPORT_TEMPLATE])
        html_text = figure.to_html(full_html=False, include_plotlyjs=self.written == 0, default_width="100%",
                                   default_height=f"{figure.layout.height or FIGURE_HEIGHT}px",
                                   config={"displaylogo": False})
        self.written += 1
        return html_text


def _table(table: pd.DataFrame, *, float_format: str = "{:.4f}") -> str:
    """A DataFrame as an HTML table (escaped), floats to `float_format`."""
    return '<div class="table">' + table.to_html(index=False, float_format=float_format.format, na_rep="",
                                                  border=0) + "</div>"


def _styled(styler) -> str:
    return '<div class="table">' + styler.hide(axis="index").to_html() + "</div>"


def _escaped(table: pd.DataFrame) -> pd.DataFrame:
    """The table with its text cells escaped: a Styler writes cells into HTML as they are."""
    return table.map(lambda value: html.escape(value) if isinstance(value, str) else value)


def _text(text: str, *, tag: str = "p", cls: str | None = None) -> str:
    attribute = f' class="{cls}"' if cls else ""
    return f"<{tag}{attribute}>{html.escape(text)}</{tag}>"


def _bold_markdown(text: str, *, cls: str | None = None) -> str:
    """A paragraph of text whose only markdown is **bold** and `code` (Home's answer), as HTML."""
    escaped = re.sub(r"`(.+?)`", r"<code>\1</code>", re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", html.escape(text)))
    return (f'<p class="{cls}">' if cls else "<p>") + escaped + "</p>"


def _png_data_uri(image: Image.Image) -> str:
    """The image as a base64 PNG `data:` URI, for an `<img>` that needs no file beside the page."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _image_cards(run, shown: pd.DataFrame, images_of: ImagesOf, caption: Callable[[pd.Series], str]) -> str:
    """The test images of `shown` (rows with an "id", in order) enlarged, each above `caption(row)` (HTML); one line
    saying why instead when the run's test images cannot be read or lack some of these.
    """
    try:
        pixels = images_of(run.store, run.test_key, run.evaluation).select(shown["id"])
    except RunError as error:
        return _text(f"The test images of {run.label} cannot be shown: {error}.", cls="caption")
    cards = []
    for image_pixels, (_, row) in zip(pixels, shown.iterrows()):
        image = samples.upscale(image_pixels, IMAGE_SIZE)
        image_id = html.escape(str(row["id"]))
        cards.append(f'<figure><img src="{_png_data_uri(image)}" width="{image.width}" height="{image.height}" '
                     f'alt="{image_id}" title="{image_id}"><figcaption>{caption(row)}</figcaption></figure>')
    return '<div class="images">' + "".join(cards) + "</div>"


def _mistakes(run, images_of: ImagesOf) -> list[str]:
    """The run's most confident mistakes, picked and ordered as the Misclassified page does."""
    mistakes = samples.samples_by_class(run.predictions, run.class_names, mistakes_only=True)
    parts = [_text(run.label, tag="h3"),
             _text(f"{len(mistakes)} of {len(run.predictions.labels)} {images_named(run)} wrong"
                   + (f"; the {min(MISTAKES_SHOWN, len(mistakes))} most confident:" if len(mistakes) else "."),
                   cls="caption")]
    if len(mistakes):
        parts.append(_image_cards(run, mistakes.head(MISTAKES_SHOWN), images_of, lambda row: (
            f"true <b>{html.escape(row['true'])}</b><br>predicted <b>{html.escape(row['predicted'])}</b> "
            f"({row['confidence']:.1%})")))
    return parts


def _one_right(a, first: Predictions, second: Predictions, images_of: ImagesOf) -> list[str]:
    """The images only A, and only B, gets right (the head-to-head page's galleries), the most confident first."""
    parts = [_text("Images only one gets right", tag="h3")]
    for kind in (head_to_head.ONLY_A, head_to_head.ONLY_B):
        shown = head_to_head.gallery(first, second, a.class_names, kind)
        order = f", by {head_to_head.GALLERIES[kind]}:" if len(shown) else "."
        parts.append(_text(f"{kind}: {len(shown)} images{order}", cls="caption"))
        if len(shown):
            parts.append(_image_cards(a, shown.head(ONE_RIGHT_SHOWN), images_of, lambda row: (
                f"true <b>{html.escape(row['true'])}</b><br>A: {html.escape(row['A'])} ({row['A confidence']:.1%})"
                f"<br>B: {html.escape(row['B'])} ({row['B confidence']:.1%})")))
    return parts


def _head_to_head(a, b, figure, images_of: ImagesOf, corrected: CorrectedLabels | None) -> list[str]:
    """McNemar's test in words, the 2x2 outcome table, the images only one gets right, the confusion difference and
    the recall table of A and B; on the labels `corrected` (in A's order) when given."""
    parts = [_text("Head to head", tag="h2"), _text(f"A: {a.label}; B: {b.label}.", cls="caption")]
    try:
        first, second = head_to_head.aligned_predictions(a, b)
    except ValueError as error:
        return parts + [_text(f"A and B cannot be compared: {error}")]
    if corrected is not None:
        first, second, caption = label_review.reviewed_pair(first, second, corrected)
        parts.append(_text(caption, cls="caption"))
    parts += [_text(head_to_head.mcnemar_sentence(head_to_head.disagreement(first, second))),
              '<div class="table">' + head_to_head.outcome_table(first, second).to_html(border=0) + "</div>"]
    parts += _one_right(a, first, second, images_of)
    difference = head_to_head.confusion_difference(first, second, a.class_names)
    classes, cut_note = _shown_classes(a.class_names, [confusion.confusion_frame(p, a.class_names)
                                                       for p in (first, second)])
    recall = head_to_head.recall_table(first, second, a.class_names)
    parts += [_text("Where B confuses classes more or less often than A", tag="h3"),
              _text(head_to_head.confusion_change_sentence(difference)),
              figure(head_to_head.difference_figure(confusion.cut(difference, classes))),
              _text("B's row-normalised confusion matrix minus A's, in points of each true class: blue where B makes "
                    "a confusion less often, red where more often; the diagonal, each class's change in recall, "
                    f"is written without colour.{cut_note}", cls="caption"),
              _table(recall[recall["class"].isin(classes)], float_format="{:.1f}")]
    return parts


def _robustness(runs: list) -> list[str]:
    """The Robustness page's answer and table against its starting baseline (the least accurate clean), when two
    runs or more have all 75 corruption units; the runs without them named. Nothing when no run has a unit."""
    plain = [run for run in runs if not isinstance(run, Ensemble)]
    results, _, unreadable = robustness.read_results(plain, read=robustness.stored_results)
    if not results:
        return []
    compared, _ = robustness.split_by_units(results)
    note = robustness.missing_units_note({run.label: run for run in plain}, results, compared)
    parts = [_text("Robustness to common corruptions", tag="h2")]
    if len(compared) >= 2:
        baseline = robustness.default_baseline(compared)
        table = robustness.summary_table(compared, baseline)
        parts += [_text(f"On {next(iter(compared.values())).images:,} test images (the same share of each class), "
                        f"each corrupted 15 ways at 5 severities (CIFAR-10-C / ImageNet-C). mCE in percent of the "
                        f"baseline's errors, {baseline}: the least accurate clean (the Robustness page lets you pick "
                        "another). Lower is better.", cls="caption"),
                  _bold_markdown(robustness.answer(table, baseline)),
                  _styled(_escaped(table).style.format("{:.4f}", subset=[robustness.CLEAN, robustness.CORRUPTED])
                          .format("{:.1f}", subset=[robustness.MCE, robustness.RELATIVE_MCE]))]
    else:
        parts.append(_text("mCE compares two runs or more with all 75 units.", cls="caption"))
    parts += [_bold_markdown(text, cls="caption") for text in [note] if text]
    parts += [_text(f"{label}: its corruption results cannot be read: {reason}", cls="caption")
              for label, reason in unreadable]
    return parts


def _class_groups(run) -> dict[str, str] | None:
    """The class groups of the run's test set, when it has groups of its classes that can be read."""
    try:
        groups = run_store.load_class_groups(run.store, run.test_key)
    except RunError:
        return None  # the dashboard's pages say why
    return groups if groups is not None and list(groups) == list(run.class_names) else None


def _shown_classes(class_names: list[str], counts: list[pd.DataFrame]) -> tuple[list[str], str]:
    """The classes a report's matrices show: all up to `confusion.MAX_WHOLE_CLASSES`, as the pages start;
    beyond, those of the most confused pairs of `counts`, with a sentence saying so."""
    if len(class_names) <= confusion.MAX_WHOLE_CLASSES:
        return list(class_names), ""
    classes = confusion.most_confused_classes(sum(counts), confusion.MOST_CONFUSED_DEFAULT) or list(class_names)
    return classes, (f" Of the {len(class_names)} classes, the {len(classes)} of the most confused pairs; the "
                     "dashboard's pages show any others.")


def store_colours(runs: list) -> dict[str, str]:
    """Each run's colour as the dashboard gives it: from every readable run of the store on the runs' test set."""
    stored, _ = run_store.list_runs(runs[0].store)
    return figures.run_colours([run for run in stored if run.test_key == runs[0].test_key] + list(runs))


def report_html(runs: list, *, created: datetime | None = None, reviewed: bool = False,
                colours: dict[str, str] | None = None) -> str:
    """The report of `runs` (runs or ensembles of one test set) as one self-contained HTML page.

    Args:
        runs: the runs, in the order of the comparison table; at least one.
        created: the date written under the title; now by default.
        reviewed: on the test set as its verdicts (Suspect labels) correct it, as far as the dashboard's pages use
            it: the comparison table's reviewed test accuracy and head to head. Why not, when they cannot be used.
        colours: each run's colour by label (`figures.run_colours`); by default as the dashboard colours the
            store's runs, so that a run has one colour in the report and on the pages.

    Returns:
        The page, with plotly.js inline once and the test images it shows embedded: it needs no network.

    Example:
        >>> page = report_html([run_store.load_run("artifacts/cnn_v3-cifar10")])
    """
    if not runs:
        raise ValueError("A report needs at least one run")
    created = created or datetime.now()
    colours = colours or store_colours(runs)
    dataset = dataset_labels({runs[0].test_key: runs})[runs[0].test_key]
    labels = [run.label for run in runs]
    figure = _Figures()
    # Every run of a report shares one test set: its images are decoded once, not once per run.
    images_of = functools.cache(stored_images)

    corrected, problem = label_review.reviewed_labels(runs[0]) if reviewed else (None, None)
    if reviewed and corrected is None:
        problem = problem or "The test set has no verdicts yet: the Suspect labels page gives them."
    on_reviewed = label_review.reviewed_accuracy(runs, corrected) if corrected is not None else None

    try:
        ranked = rank(runs)
    except ValueError:
        ranked = None  # runs of other images: each section says so where it compares them
    parts = [_text(f"Report: {', '.join(labels)}", tag="h1"),
             _text(f"{len(runs)} runs on {dataset}" + (f", scored on the images of its evaluation set "
                                                       f"{runs[0].evaluation} (not its test set)" if runs[0].evaluation
                                                       else "") + f"; written {created:%Y-%m-%d %H:%M}.", cls="caption"),
             *([_bold_markdown(comparison.answer(ranked, images_named(runs[0]), (
                 comparison.SET_ACCURACY_PREFIX + runs[0].evaluation) if runs[0].evaluation else None)),
                _text(f"Intervals: {ACCURACY_METHOD} for an accuracy, {LEAD_METHOD} for a lead.", cls="caption")]
               if ranked else []),
             _text("Comparison", tag="h2"),
             _text(f"Best first by {'accuracy on ' + runs[0].evaluation if runs[0].evaluation else 'test accuracy'}"
                   ". The best value of each metric column is highlighted.", cls="caption"),
             _styled(comparison.styled_comparison(_escaped(comparison.comparison_table(
                 runs, _class_groups(runs[0]), on_reviewed, ranked))))]
    if problem:
        parts.append(_text(f"Not on the reviewed test set: {problem}", cls="caption"))
    if corrected is not None:
        swap = label_review.ranking_swap(runs, on_reviewed)
        parts += [_text(f"{label_review.accuracy_caption(corrected)} The confusion matrices, mistakes and "
                        "calibration below are on the given labels.", cls="caption"), *([_text(swap)] if swap else [])]

    histories = {run.label: run.history for run in runs if not run.history.empty}
    if histories:
        table = curves.curves_table(histories)
        parts += [_text("Training curves", tag="h2"),
                  figure(curves.curves_figure(table, "loss", colours)),
                  figure(curves.curves_figure(table, "accuracy", colours))]

    parts.append(_text("Confusion matrices and per-class scores", tag="h2"))
    for run in runs:
        counts = confusion.confusion_frame(run.predictions, run.class_names)
        classes, cut_note = _shown_classes(run.class_names, [counts])
        parts += [_text(run.label, tag="h3"), figure(confusion.confusion_figure(confusion.cut(counts, classes))),
                  *([_text(cut_note.strip(), cls="caption")] if cut_note else []),
                  _table(confusion.per_class_table(run.metrics, classes), float_format="{:.3f}")]

    parts += [_text("Most confident mistakes", tag="h2"),
              _text(f"The test images each run got wrong with the highest confidence (as the Misclassified page "
                    f"orders them), enlarged to {IMAGE_SIZE} px; hover over one for its id.", cls="caption")]
    for run in runs:
        parts += _mistakes(run, images_of)

    if len(runs) == 2:
        parts += _head_to_head(*runs, figure, images_of, corrected)

    scores = _escaped(calibration.calibration_table(runs))
    parts += [_text("Calibration", tag="h2"),
              _text(f"From the stored test predictions; ECE and MCE use {calibration.BINNING}. Lower is better "
                    "for ECE, MCE and the Brier score.", cls="caption"),
              _styled(comparison.styled_comparison(scores).format("{:.4f}", subset=["mean confidence"])),
              figure(calibration.reliability_figure(
                  calibration.reliability_frame({run.label: run.predictions for run in runs}), colours))]

    parts += _robustness(runs)

    title = html.escape(f"Report: {', '.join(labels)}")
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{title}</title>\n'
            f"<style>{STYLE}</style>\n</head>\n<body>\n" + "\n".join(parts) + "\n</body>\n</html>\n")
