"""The runs on new images (evaluation sets): their accuracy beside their test accuracy, the line across runs and the
runs above it (effective robustness), how often they agree, the accuracy their disagreement estimates, and how well
each tells images of none of its classes apart."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.lib.comparison import SET_ACCURACY_PREFIX
from dashboard.lib.evaluation_choice import on_set
from trainers.analysis import new_images, none_of_these, uncertainty
from trainers.analysis.new_images import RobustnessLine
from trainers.store import evaluation_sets
from trainers.store.run_store import Run, RunError

SET_ACCURACY = SET_ACCURACY_PREFIX + "{}"  # Home's column per labelled set
TEST_ACCURACY, ON_SET, CHANGE = "test accuracy", "accuracy on the set", "change (points)"
ABOVE_LINE = "above the line (points)"
ESTIMATED = "estimated from disagreement"
AUROC, FPR_95 = "AUROC (none of these)", "FPR at 95% TPR"
NONE_OF_THESE = "none of these"  # how an image of none of the runs' classes is labelled


def labelled_sets(store, test_key: str) -> list[str]:
    """The test set's evaluation sets that have labels (class folders)."""
    return [name for name in evaluation_sets.set_names(store, test_key)
            if (evaluation_sets.set_description(store, test_key, name) or {}).get("labelled")]


def set_accuracy_columns(runs: list[Run]) -> dict[str, dict[str, float]]:
    """Home's columns beside test accuracy: per labelled evaluation set of the runs' test set, each run's accuracy
    on its images of a class, by run label (a run not evaluated on it has none)."""
    if not runs:
        return {}
    columns = {}
    for name in labelled_sets(runs[0].store, runs[0].test_key):
        values = {}
        for run in runs:
            try:
                values[run.label] = evaluation_sets.set_accuracy(on_set(run, name).every_prediction)
            except RunError:
                continue
        if any(value is not None for value in values.values()):
            columns[SET_ACCURACY.format(name)] = values
    return columns


def picks(runs: list[Run]) -> dict[str, np.ndarray]:
    """Each run's pick on every image of the set, by label, in the first run's order of the images; ValueError when
    the runs predicted other images (the set changed between their evaluations)."""
    first = runs[0].every_prediction.ids
    found = {}
    for run in runs:
        predictions = run.every_prediction
        if not np.array_equal(np.sort(predictions.ids), np.sort(first)):
            raise ValueError(f"{run.label} predicted other images of the set: evaluate the runs on it again")
        found[run.label] = predictions.in_order(first).predicted
    return found


def robustness(test_runs: list[Run], set_runs: list[Run]) -> tuple[RobustnessLine | None, str]:
    """The line of accuracy on the set against test accuracy across the runs, or None with why there is none."""
    test = {run.label: run.metrics["accuracy"] for run in test_runs}
    on = {run.label: run.metrics["accuracy"] for run in set_runs if run.metrics}
    try:
        return new_images.robustness_line({label: test[label] for label in on}, on), ""
    except ValueError as error:
        return None, str(error)


def carry_over_sentence(test_runs: list[Run], set_runs: list[Run], set_name: str) -> str:
    """The set's answer in a sentence: the best run on it, how far accuracy moved from the test set, and whether the
    runs keep their order; markdown."""
    test = {run.label: run.metrics["accuracy"] for run in test_runs}
    on = {run.label: run.metrics["accuracy"] for run in set_runs if run.metrics}
    best = max(on, key=on.get)
    text = f"Best on {set_name}: **{best}** ({on[best]:.4f})."
    if len(on) < 2:
        return text
    change = {label: 100 * (on[label] - test[label]) for label in on}
    least, most = min(change, key=lambda label: abs(change[label])), max(change, key=lambda label: abs(change[label]))
    verb = "loses" if all(value < 0 for value in change.values()) else (
        "gains" if all(value > 0 for value in change.values()) else "moves")
    text += (f" Every run {verb} accuracy against its test set: from {abs(change[least]):.1f} points ({least}) to "
             f"{abs(change[most]):.1f} ({most})." if verb != "moves" else
             f" Accuracy moves from {change[least]:+.1f} points ({least}) to {change[most]:+.1f} ({most}).")
    by_test, by_set = sorted(on, key=test.get, reverse=True), sorted(on, key=on.get, reverse=True)
    if by_test == by_set:
        return text + " The runs keep their test-set order."
    swapped = next((first, second) for first in by_set for second in by_set
                   if by_set.index(first) < by_set.index(second) and test[first] < test[second])
    return text + f" **The order changes**: {swapped[0]} ranks above {swapped[1]} here, below it on the test set."


def line_noise(run: Run) -> float:
    """Half the width of the 95% interval of the run's accuracy on the set (Wilson): a run nearer the line than
    this is on it, as far as the set's images can tell."""
    predictions = run.predictions
    low, high = uncertainty.accuracy_interval(int((predictions.predicted == predictions.labels).sum()),
                                              len(predictions.labels))
    return (high - low) / 2


def robustness_sentence(line: RobustnessLine, runs: list[Run]) -> str:
    """Which runs hold up better on the set than their test accuracy predicts, which worse, and which are within
    noise of the line (nearer than half their accuracy's 95% interval on the set); markdown."""
    noise = {run.label: line_noise(run) for run in runs if run.label in line.effective_robustness}
    distance = line.effective_robustness

    def named(labels):
        return ", ".join(f"**{label}** ({100 * distance[label]:+.1f} points)" for label in labels)
    above = [label for label in line.above if distance[label] > noise[label]]
    below = [label for label in line.below if -distance[label] > noise[label]]
    within = [label for label in distance if label not in above + below]
    parts = []
    if above:
        parts.append(f"Above the line, holding up better than their test accuracy predicts: {named(above)}.")
    if below:
        parts.append(f"Below it, holding up worse: {named(below)}.")
    if within:
        widest = 100 * max(noise[label] for label in within)
        parts.append(("Every run is" if len(within) == len(distance) else
                      f"{', '.join(within)} {'is' if len(within) == 1 else 'are'}")
                     + f" within noise of the line (up to ±{widest:.1f} points, the 95% interval of an accuracy on "
                     f"these images)" + (": test accuracy predicts how each holds up here." if len(within) ==
                                         len(distance) else "."))
    return " ".join(parts)


def robustness_figure(test_runs: list[Run], set_runs: list[Run], set_name: str, line: RobustnessLine | None,
                      colours: dict[str, str]) -> go.Figure:
    """Test accuracy against accuracy on the set, a point per run in its colour; the line across runs (straight on
    logit axes, as Taori et al. fit it) and where accuracy would not change."""
    test = {run.label: run.metrics["accuracy"] for run in test_runs}
    figure = go.Figure()
    points = [(run.label, test[run.label], run.metrics["accuracy"]) for run in set_runs if run.metrics]
    low = min(min(x, y) for _, x, y in points) - 0.03
    high = min(1.0, max(max(x, y) for _, x, y in points) + 0.03)
    figure.add_trace(go.Scatter(x=[low, high], y=[low, high], mode="lines", name="no change", showlegend=False,
                                line={"dash": "dot", "color": "grey", "width": 1}, hoverinfo="skip"))
    if line is not None:
        xs, ys = line.line_points(max(low, 0.0), high)
        figure.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name="line across runs", showlegend=False,
                                    line={"color": "black", "width": 1.5}, hoverinfo="skip"))
    for label, x, y in points:
        above = f"<br>{100 * line.effective_robustness[label]:+.1f} points from the line" if line is not None else ""
        figure.add_trace(go.Scatter(
            x=[x], y=[y], mode="markers", name=label, marker={"size": 12, "color": colours.get(label)},
            hovertemplate=f"<b>{label}</b><br>test %{{x:.4f}}<br>{set_name} %{{y:.4f}}{above}<extra></extra>"))
    figure.update_layout(xaxis_title="test accuracy", yaxis_title=f"accuracy on {set_name}", height=460,
                         margin={"t": 30}, legend={"orientation": "h", "yanchor": "top", "y": -0.18})
    return figure


def set_table(test_runs: list[Run], set_runs: list[Run], line: RobustnessLine | None) -> pd.DataFrame:
    """Per run: test accuracy, accuracy on the set and the change, its distance from the line, the accuracy the
    runs' disagreement estimates, and how well its confidence tells images of none of its classes apart."""
    test = {run.label: run.metrics["accuracy"] for run in test_runs}
    estimate = {}
    if len(set_runs) > 1:
        # On the images that may be of a class: those known to be of none have no accuracy to estimate.
        found = picks(set_runs)
        labels = set_runs[0].every_prediction.labels
        maybe = labels != evaluation_sets.NONE_OF_THESE
        estimate = new_images.estimated_accuracy({label: found[label][maybe] for label in found}) if maybe.any() else {}
    rows = []
    for run in set_runs:
        accuracy = run.metrics.get("accuracy") if run.metrics else None
        row = {"run": run.label, TEST_ACCURACY: test[run.label], ON_SET: accuracy,
               CHANGE: None if accuracy is None else 100 * (accuracy - test[run.label]),
               ABOVE_LINE: None if line is None else 100 * line.effective_robustness.get(run.label, np.nan),
               ESTIMATED: estimate.get(run.label)}
        row.update(dict(zip((AUROC, FPR_95), detection(run))))
        rows.append(row)
    table = pd.DataFrame(rows)
    return table.dropna(axis=1, how="all")


def detection(run: Run) -> tuple[float | None, float | None]:
    """How well the run's confidence (maximum softmax probability) tells the set's images of none of its classes
    from those of a class: AUROC, and the false-positive rate at 95% true positives; None without both kinds of
    image, or for a run of predicted labels alone."""
    predictions = run.every_prediction
    known = predictions.labels != evaluation_sets.UNLABELLED
    of_a_class = predictions.labels[known] >= 0
    if run.no_probabilities or of_a_class.all() or not of_a_class.any():
        return None, None
    return none_of_these.detection(none_of_these.max_softmax(predictions.probabilities[known]), of_a_class)


def agreement_figure(matrix: pd.DataFrame) -> go.Figure:
    """The share of the set's images each pair of runs picks alike, as a heat map with its values."""
    figure = go.Figure(go.Heatmap(z=matrix.to_numpy(), x=list(matrix.columns), y=list(matrix.index), zmin=0,
                                  zmax=1, colorscale="Blues", text=np.round(matrix.to_numpy(), 3),
                                  texttemplate="%{text:.1%}", hovertemplate="%{y} and %{x}: %{z:.1%}<extra></extra>"))
    figure.update_layout(height=120 + 60 * len(matrix), margin={"t": 20}, yaxis={"autorange": "reversed"})
    return figure


def picks_said(picks_of_image: dict[str, str]) -> str:
    """The runs' picks for one image, grouped by class, the class most picked first: "frog: a, b · cat: c"."""
    by_class: dict[str, list[str]] = {}
    for label, class_name in picks_of_image.items():
        by_class.setdefault(class_name, []).append(label)
    ordered = sorted(by_class.items(), key=lambda item: -len(item[1]))
    return "  \n".join(f"**{class_name}**: {', '.join(labels)}" for class_name, labels in ordered)


def disagreement_cards(runs: list[Run], picks_of: dict[str, np.ndarray]) -> pd.DataFrame:
    """The set's images for the gallery, the most disagreed on first (ties: the runs' mean probabilities the least
    sure, `new_images.most_disagreed`); with one run, the least sure first. Columns: id, true (the class, NONE_OF_THESE,
    or "" without a label), agreement (the share of runs on the most common pick; one run's confidence)."""
    every = runs[0].every_prediction
    if len(runs) > 1:
        with_probabilities = [run for run in runs if not run.no_probabilities]
        mean = (np.mean([run.every_prediction.in_order(every.ids).probabilities for run in with_probabilities], axis=0)
                if with_probabilities else None)
        order, agreement = new_images.most_disagreed(picks_of, mean), new_images.image_agreement(picks_of)
    else:
        order, agreement = np.argsort(every.confidence, kind="stable"), every.confidence
    labels = every.labels
    names = np.asarray([*runs[0].class_names, ""])[np.clip(labels, 0, None)]
    true = np.where(labels >= 0, names, np.where(labels == evaluation_sets.NONE_OF_THESE, NONE_OF_THESE, ""))
    return pd.DataFrame({"id": every.ids[order], "true": true[order], "agreement": agreement[order]})
