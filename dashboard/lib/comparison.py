"""The comparison table of runs, the answer above it (which run is best, by how much, and whether that is real), its
best values, the study's reported figures, and accuracy against size."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import plotly.express as px
from pandas.io.formats.style import Styler
from plotly.graph_objects import Figure

from dashboard.lib.calibration import BRIER, ECE, MCE, recorded_scores, run_scores
from dashboard.lib.runs import ARRAY_CHECKS
from trainers.analysis import uncertainty
from trainers.analysis.class_groups import group_accuracy
from trainers.analysis.ranking import ACCURACY, COMPARED_WITH_BEST, REVIEWED, TOP_5, Ranking
from trainers.presets import tta_label
from trainers.store.run_store import Run, RunError

REFERENCE_FILE = Path(__file__).resolve().parent.parent / "study_reference.csv"
REFERENCE_GROUP = "reported by the study"
MEASURED_GROUP = "measured here"

AUTHOR = "author"  # who trained the run: the study's "Dev" column
SET_ACCURACY_PREFIX = "accuracy on "  # a column of accuracy on an evaluation set: "accuracy on <set>"
# TOP_5 (in metrics.json beyond 10 classes) and REVIEWED (on the test set as people's verdicts correct it) are the
# ranking's metric names.
GROUP_ACCURACY = "class group accuracy"  # the share predicted as a class of the true class's group (superclass)
AGAINST_BEST = "against the best"  # the best run's lead over the run, and whether it is within noise
TRAINING_TIME = "training time (s)"
HIGHER_IS_BETTER = (ACCURACY, REVIEWED, TOP_5, GROUP_ACCURACY, "macro F1", "macro recall", "images / s")
LOWER_IS_BETTER = ("test log loss", ECE, MCE, BRIER, "training time (s)")
BEST_STYLE = "background-color: rgba(33, 195, 84, 0.25); font-weight: bold"

# Display formats; the table keeps full precision so sorting stays exact.
FORMATS = {
    "params": "{:,.0f}", "epochs": "{:,.0f}", "total layers": "{:,.0f}", "dense layers": "{:,.0f}", "dropout": "{:.2f}", "test accuracy": "{:.4f}", REVIEWED: "{:.4f}",
    TOP_5: "{:.4f}", GROUP_ACCURACY: "{:.4f}", "test log loss": "{:.4f}",
    "macro F1": "{:.4f}", "macro recall": "{:.4f}", "training time (s)": "{:,.1f}", "images / s": "{:,.0f}",
    ECE: "{:.4f}", MCE: "{:.4f}", BRIER: "{:.4f}",
}


def comparison_row(run: Run, class_groups: dict[str, str] | None = None, reviewed: float | None = None) -> dict:
    """The study's columns for one run, plus its calibration on the test images, training time and throughput;
    its accuracy by class group too when its test set has `class_groups`, and on the reviewed test set when it
    has one (`reviewed`)."""
    summary = run.architecture["summary"]
    metrics = run.metrics
    # Results first, then what the model is and how it was trained: the study's columns, reordered.
    return {
        "model": run.preset,
        "run": run.run_id,
        AUTHOR: run.info.get("author") or "",
        "test accuracy": metrics["accuracy"],
        **({REVIEWED: reviewed} if reviewed is not None else {}),
        TOP_5: metrics.get("top_5_accuracy"),
        **({GROUP_ACCURACY: group_accuracy(run.confusion_matrix, run.class_names, class_groups)}
           if class_groups else {}),
        "test log loss": metrics["log_loss"],
        "macro F1": metrics["macro_f1"],
        "macro recall": metrics["macro_recall"],
        **_calibration_columns(run),
        "params": summary.get("total_params"),
        "total layers": summary.get("total_layers"),
        "dense layers": summary.get("dense_layers"),
        "epochs": run.info.get("epochs_run", summary.get("epochs")),
        "augmentation": summary.get("augmentation"),
        "test-time augmentation": tta_label(run.config["flip_tta"], run.config["shift_tta"]),
        "BatchNorm": summary.get("batch_norm"),
        "dropout": summary.get("dropout"),
        "optimizer": summary.get("optimizer"),
        "loss": summary.get("loss"),
        "training time (s)": run.info.get("training_seconds"),
        "images / s": run.info.get("images_per_second"),
        "comment": run.info.get("comment") or "",
    }


def calibration_recorded(run: Run) -> bool:
    """Whether the run's metrics.json holds the calibration columns (runs recorded before it did have them
    computed from their predictions)."""
    return recorded_scores(run.metrics) is not None


def _calibration_columns(run: Run) -> dict:
    """ECE, MCE and Brier score as the run's metrics.json records them, else from its stored predictions; empty
    when they cannot be read, for a table of the others' is still worth showing (the page says why)."""
    if not calibration_recorded(run):
        try:
            ARRAY_CHECKS["predictions"](run)
        except RunError:
            return dict.fromkeys((ECE, MCE, BRIER))
    return run_scores(run)


def comparison_table(runs: list[Run], class_groups: dict[str, str] | None = None,
                     reviewed: dict[str, float] | None = None, ranking: Ranking | None = None,
                     set_columns: dict[str, dict[str, float]] | None = None) -> pd.DataFrame:
    """One row per run; top-5 accuracy only when a run records it (beyond 10 classes), accuracy by class group
    when the test set has `class_groups`, on the reviewed test set where `reviewed` (by run label) has it.

    With a `ranking` of (some of) the runs, in its order, best first (the runs it leaves out last, in the order
    given), with its metric's 95% interval (INTERVAL) and the best run's lead over each run (AGAINST_BEST) after
    the accuracies; else in the order given. `set_columns`: more accuracies, each a column of values by run label
    (the accuracy on each labelled evaluation set, `SET_ACCURACY`), after those.
    """
    table = pd.DataFrame([comparison_row(run, class_groups, (reviewed or {}).get(run.label)) for run in runs])
    if TOP_5 in table and table[TOP_5].isna().all():
        table = table.drop(columns=TOP_5)
    for number, (column, values) in enumerate((set_columns or {}).items()):
        after = max(list(table.columns).index(name) for name in (ACCURACY, TOP_5, REVIEWED) if name in table)
        table.insert(after + 1 + number, column, [values.get(run.label) for run in runs])
    if ranking is None:
        return table
    standings = [ranking.of(run.label) for run in runs]
    place = {standing.label: number for number, standing in enumerate(ranking.standings)}
    after = max(list(table.columns).index(column) for column in (ACCURACY, TOP_5, REVIEWED, *(set_columns or {}))
                if column in table)
    table.insert(after + 1, INTERVAL, [_interval(standing) for standing in standings])
    table.insert(after + 2, AGAINST_BEST, [against_best(standing, ranking.best.label) for standing in standings])
    order = sorted(range(len(runs)), key=lambda row: place.get(runs[row].label, len(place)))
    return table.iloc[order].reset_index(drop=True)


INTERVAL = "95% interval"  # of the ranked metric, over the test images (Wilson)


def _interval(standing) -> str:
    return "" if standing is None else f"{standing.low:.4f} – {standing.high:.4f}"


def _p(p_value: float) -> str:
    """A p-value in two significant digits, or "< 0.001"."""
    return "< 0.001" if p_value < 0.001 else f"= {p_value:.2g}"


def against_best(standing, best: str) -> str:
    """How the best run's lead over this run reads in the table: "best", "tied" (the same images right),
    "within noise (p = 0.21)" or "−0.51 points (p = 0.003)"; empty for a run not compared with the best (`standing`
    None, or past `ranking.COMPARED_WITH_BEST`)."""
    if standing is None:
        return ""
    if standing.label == best:
        return "best"
    if standing.lead is None:
        return ""
    if standing.lead.only_first + standing.lead.only_second == 0:
        return "tied"
    p_value = _p(standing.lead.p_value)
    if standing.within_noise:
        return f"within noise (p {p_value})"
    return f"−{100 * standing.lead.difference:.2f} points (p {p_value})"


def answer(ranking: Ranking, images: str = "test images", metric: str | None = None) -> str:
    """The first line of Home: which run is best on the ranking's metric (named `metric` when given), by how much
    over the runner-up with the 95% interval of that lead, and whether the lead is real (McNemar's test); markdown.
    `images` names the images scored ("test images", or an evaluation set's).

    Example: "**a** is best on test accuracy: **0.9233** (95% interval 0.9179 – 0.9284), **0.51 points** ahead of
    **b** (95% interval of the lead +0.14 to +0.89). **A real lead**: of the 361 test images only one of them gets
    right, a gets 206 and b 155; McNemar's p = 0.0084."
    """
    best, second = ranking.best, ranking.runner_up
    head = (f"**{best.label}** is best on {metric or ranking.metric}: **{best.score:.4f}** "
            f"(95% interval {best.low:.4f} – {best.high:.4f})")
    if second is None:
        return head + ". Select another run to see whether it is really better."
    lead = second.lead
    # Tied: right on exactly the same images (the same model recorded twice, say): no lead to test.
    tied = [standing.label for standing in ranking.standings[1:]
            if standing.lead is not None and standing.lead.only_first + standing.lead.only_second == 0]
    also = [standing.label for standing in ranking.standings[2:] if standing.within_noise and standing.label not in tied]
    also_text = ("" if not also else f" Also within noise of the best: {', '.join(also)}." if len(also) < 4
                 else f" {len(also)} other runs are also within noise of the best.")
    if second.label in tied:
        shown = [f"**{label}**" for label in tied[:3]] + ([f"{len(tied) - 3} more"] if len(tied) > 3 else [])
        names = " and ".join(shown) if len(shown) < 3 else ", ".join(shown[:-1]) + " and " + shown[-1]
        return (f"{head}, **tied** with {names}: {'the two' if len(tied) == 1 else 'they'} get exactly the same "
                f"{images} right, so nothing on {'this test set' if images == 'test images' else 'these images'} "
                f"tells them apart.{also_text}")
    split = (f"of the {lead.only_first + lead.only_second:,} {images} only one of them gets right, "
             f"{best.label} gets {lead.only_first:,} and {second.label} {lead.only_second:,}; McNemar's p "
             f"{_p(lead.p_value)}")
    text = (f"{head}, **{100 * lead.difference:.2f} points** ahead of **{second.label}** (95% interval of the lead "
            f"{100 * lead.low:+.2f} to {100 * lead.high:+.2f}). ")
    text += (f"**Within noise**: {split}, so on these {images} the two cannot be told apart." if lead.within_noise
             else f"**A real lead**: {split}.")
    return text + also_text


KEY_COLUMNS = ("run", AUTHOR, ACCURACY, TOP_5, REVIEWED, INTERVAL, AGAINST_BEST, "params", TRAINING_TIME)


def key_columns(table: pd.DataFrame) -> list[str]:
    """The columns Home shows first (those of KEY_COLUMNS the table has, the accuracy on each evaluation set after
    the others), in that order."""
    keys = [column for column in KEY_COLUMNS if column in table]
    at = max(keys.index(column) for column in (ACCURACY, TOP_5, REVIEWED) if column in keys) + 1 if ACCURACY in keys \
        else len(keys)
    return keys[:at] + set_accuracy_columns(table) + keys[at:]


def set_accuracy_columns(table: pd.DataFrame) -> list[str]:
    """The table's columns of accuracy on an evaluation set."""
    return [column for column in table if str(column).startswith(SET_ACCURACY_PREFIX)]


def more_columns(table: pd.DataFrame) -> list[str]:
    """The table's other columns, in its order: shown when asked for."""
    return [column for column in table if column not in KEY_COLUMNS and column not in set_accuracy_columns(table)]


def by_author(table: pd.DataFrame, metric: str = ACCURACY) -> pd.DataFrame:
    """The table's rows grouped by author (in alphabetical order), each author's best on `metric` first."""
    order = table.assign(_author=table[AUTHOR].str.casefold()).sort_values(
        ["_author", metric], ascending=[True, False], kind="stable")
    return order.drop(columns="_author").reset_index(drop=True)


def author_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per author: how many runs, the best run and its test accuracy, and the mean test accuracy of their runs."""
    rows = []
    for author, runs in by_author(table).groupby(AUTHOR, sort=False):
        rows.append({AUTHOR: author or "(none)", "runs": len(runs), "best run": runs["run"].iloc[0],
                     "best test accuracy": runs["test accuracy"].iloc[0],
                     "mean test accuracy": runs["test accuracy"].mean()})
    return pd.DataFrame(rows)


def best_mask(table: pd.DataFrame) -> pd.DataFrame:
    """True where a cell holds the best value of its metric column (every tied cell; never a missing one)."""
    mask = pd.DataFrame(False, index=table.index, columns=table.columns)
    higher = (*HIGHER_IS_BETTER, *set_accuracy_columns(table))
    for column in (*higher, *LOWER_IS_BETTER):
        if column not in table:
            continue
        values = pd.to_numeric(table[column], errors="coerce")
        if values.notna().any():
            best = values.max() if column in higher else values.min()
            mask[column] = np.isclose(values, best) & values.notna()
    return mask


def styled_comparison(table: pd.DataFrame) -> Styler:
    """The table with each metric column's best value highlighted, numbers formatted (counts as integers) and
    missing values blank."""
    mask = best_mask(table)
    styles = mask.replace({True: BEST_STYLE, False: ""})
    formats = {column: fmt for column, fmt in FORMATS.items() if column in table}
    formats.update(dict.fromkeys(set_accuracy_columns(table), "{:.4f}"))
    others = [column for column in table if column not in formats]
    return (table.style.apply(lambda _: styles, axis=None).format(formats, na_rep="")
            .format(na_rep="", subset=others))


# What each column of the comparison table is, on hover over its header.
BLANK = " Blank where the run does not record it (an imported, recorded or ensembled model)."
COLUMN_HELP = {
    "run": "The run's folder in the store.",
    "model": "The preset it was trained with (empty for a model trained elsewhere).",
    AUTHOR: "Who trained it (run.json's author).",
    ACCURACY: "Share of the test images whose top-1 prediction is the label.",
    TOP_5: "Share of the test images whose label is among the 5 most probable classes.",
    REVIEWED: "Accuracy on the test set as the Suspect labels page's verdicts correct it (ambiguous images left "
              "out).",
    INTERVAL: f"95% interval of the ranked accuracy: {uncertainty.ACCURACY_METHOD}.",
    AGAINST_BEST: ("The best run's lead over this run on the same test images, and McNemar's exact test: within "
                   f"noise when p ≥ {uncertainty.NOISE_LEVEL}. Blank past the {COMPARED_WITH_BEST} runs after the best."),
    GROUP_ACCURACY: "Share of the test images predicted as a class of the true class's group (superclass).",
    "test log loss": "Mean negative log probability of the label; lower is better.",
    "macro F1": "F1 score averaged over the classes, each counting the same.",
    "macro recall": "Recall averaged over the classes (balanced accuracy).",
    ECE: "Expected calibration error: confidence against accuracy, weighted by bin (Calibration page).",
    MCE: "Maximum calibration error over the confidence bins (Calibration page).",
    BRIER: "Mean squared error of the probabilities, 0 to 2; lower is better.",
    "params": "Parameters of the model." + BLANK,
    "total layers": "Layers of the model." + BLANK,
    "dense layers": "Dense layers of the model." + BLANK,
    "epochs": "Epochs trained." + BLANK,
    "augmentation": "Whether training augmented the images." + BLANK,
    "test-time augmentation": "What the test predictions average over (flips, shifts).",
    "BatchNorm": "Whether the model has batch normalisation." + BLANK,
    "dropout": "The dropout rate." + BLANK,
    "optimizer": "The optimizer." + BLANK,
    "loss": "The training loss." + BLANK,
    TRAINING_TIME: "Wall-clock training time on the machine in run.json." + BLANK,
    "images / s": "Test images classified per second when it was evaluated." + BLANK,
    "comment": "The comment given at training.",
}


def study_reference(path: Path = REFERENCE_FILE) -> pd.DataFrame:
    """The figures the study reported for its own models (empty where it gave none)."""
    return pd.read_csv(path, dtype={"augmentation": "boolean", "BatchNorm": "boolean", "dropout": "boolean",
                                    "params": "Int64", "epochs": "Int64"})


def reference_for_display(reference: pd.DataFrame) -> pd.DataFrame:
    """The study's figures with counts written out and the cells it left unknown empty (not "None")."""
    shown = reference.copy()
    for column in ("params", "epochs"):
        shown[column] = shown[column].map(lambda count: "" if pd.isna(count) else f"{int(count):,}")
    return shown


def left_out_of_chart(table: pd.DataFrame) -> list[str]:
    """The runs of `table` that "accuracy against parameters" cannot place: they record no parameter count."""
    return table.loc[table["params"].isna(), "run"].tolist()


def accuracy_vs_params_figure(table: pd.DataFrame, reference: pd.DataFrame | None = None,
                              colours: dict[str, str] | None = None) -> Figure:
    """Test accuracy against parameter count, each run a point named beside it in its colour (`colours`, by the
    table's "run"); the study's figures, when given, as hollow diamonds. Runs without a parameter count are left
    out (`left_out_of_chart` names them)."""
    points = table.dropna(subset=["params"])[["run", "model", "params", "test accuracy"]].assign(source=MEASURED_GROUP)
    if reference is not None:
        reported = reference.dropna(subset=["params", "test accuracy"])
        points = pd.concat([points, reported[["model", "params", "test accuracy"]]
                            .assign(run=reported["model"] + " (study)", source=REFERENCE_GROUP)])
    points = points.astype({"params": float, "test accuracy": float})
    figure = px.scatter(
        points, x="params", y="test accuracy", color="run", symbol="source", text="run", hover_name="run",
        color_discrete_map=colours or {}, hover_data={"model": True, "params": ":,", "test accuracy": ":.4f"},
        symbol_map={MEASURED_GROUP: "circle", REFERENCE_GROUP: "diamond-open"},
        labels={"params": "parameters", "source": ""},
    )
    figure.update_traces(marker_size=13, textposition="top center", cliponaxis=False)
    # Names of runs close in accuracy (a run and its distilled copy) alternate above and below their points.
    for number, trace in enumerate(sorted(figure.data, key=lambda trace: -max(trace.y))):
        trace.textposition = "top center" if number % 2 == 0 else "bottom center"
    # Counts that differ in the fourth digit (2,158,808 and 2,200,394) would repeat under a 3-digit tick format:
    # plotly's own ticks show as many digits as their step needs.
    figure.update_layout(xaxis_exponentformat="SI", yaxis_tickformat=".1%", showlegend=False, margin={"t": 30})
    return figure
