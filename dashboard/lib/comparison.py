"""The comparison table of runs, its best values, the study's reported figures, and accuracy against size."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import plotly.express as px
from pandas.io.formats.style import Styler
from plotly.graph_objects import Figure

from dashboard.lib.calibration import BRIER, ECE, MCE, recorded_scores, run_scores
from dashboard.lib.runs import check_predictions
from trainers.analysis.class_groups import group_accuracy
from trainers.presets import tta_label
from trainers.store.run_store import Run, RunError

REFERENCE_FILE = Path(__file__).resolve().parent.parent / "study_reference.csv"
REFERENCE_GROUP = "reported by the study"
MEASURED_GROUP = "measured here"

AUTHOR = "author"  # who trained the run: the study's "Dev" column
TOP_5 = "top-5 accuracy"  # in metrics.json beyond 10 classes
GROUP_ACCURACY = "class group accuracy"  # the share predicted as a class of the true class's group (superclass)
REVIEWED = "reviewed test accuracy"  # on the test set as people's verdicts correct it
HIGHER_IS_BETTER = ("test accuracy", REVIEWED, TOP_5, GROUP_ACCURACY, "macro F1", "macro recall", "images / s")
LOWER_IS_BETTER = ("test log loss", ECE, MCE, BRIER, "training time (s)")
BEST_STYLE = "background-color: rgba(33, 195, 84, 0.25); font-weight: bold"

# Display formats; the table keeps full precision so sorting stays exact.
FORMATS = {
    "params": "{:,.0f}", "epochs": "{:,.0f}", "dropout": "{:.2f}", "test accuracy": "{:.4f}", REVIEWED: "{:.4f}",
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
            check_predictions(run)
        except RunError:
            return dict.fromkeys((ECE, MCE, BRIER))
    return run_scores(run)


def comparison_table(runs: list[Run], class_groups: dict[str, str] | None = None,
                     reviewed: dict[str, float] | None = None) -> pd.DataFrame:
    """One row per run, in the order given; top-5 accuracy only when a run records it (beyond 10 classes), accuracy
    by class group when the test set has `class_groups`, on the reviewed test set where `reviewed` (by run label)
    has it."""
    table = pd.DataFrame([comparison_row(run, class_groups, (reviewed or {}).get(run.label)) for run in runs])
    return table.drop(columns=TOP_5) if TOP_5 in table and table[TOP_5].isna().all() else table


def by_author(table: pd.DataFrame) -> pd.DataFrame:
    """The table's rows grouped by author (in alphabetical order), each author's best test accuracy first."""
    order = table.assign(_author=table[AUTHOR].str.casefold()).sort_values(
        ["_author", "test accuracy"], ascending=[True, False], kind="stable")
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
    for column in (*HIGHER_IS_BETTER, *LOWER_IS_BETTER):
        if column not in table:
            continue
        values = pd.to_numeric(table[column], errors="coerce")
        if values.notna().any():
            best = values.max() if column in HIGHER_IS_BETTER else values.min()
            mask[column] = np.isclose(values, best) & values.notna()
    return mask


def styled_comparison(table: pd.DataFrame) -> Styler:
    """The table with each metric column's best value highlighted and numbers formatted."""
    mask = best_mask(table)
    styles = mask.replace({True: BEST_STYLE, False: ""})
    formats = {column: fmt for column, fmt in FORMATS.items() if column in table}
    return table.style.apply(lambda _: styles, axis=None).format(formats, na_rep="")


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


def accuracy_vs_params_figure(table: pd.DataFrame, reference: pd.DataFrame | None = None) -> Figure:
    """Test accuracy against parameter count; the study's figures, when given, as their own marked group."""
    points = table[["run", "model", "params", "test accuracy"]].assign(source=MEASURED_GROUP)
    if reference is not None:
        reported = reference.dropna(subset=["params", "test accuracy"])
        points = pd.concat([points, reported[["model", "params", "test accuracy"]]
                            .assign(run=reported["model"] + " (study)", source=REFERENCE_GROUP)])
    figure = px.scatter(
        points, x="params", y="test accuracy", color="model", symbol="source", hover_name="run",
        symbol_map={MEASURED_GROUP: "circle", REFERENCE_GROUP: "diamond-open"},
        labels={"params": "parameters", "source": ""},
    )
    figure.update_traces(marker_size=13)
    figure.update_layout(xaxis_tickformat=",.3~s", yaxis_tickformat=".0%", legend_title_text="", margin={"t": 30})
    return figure
