"""The test-set map: one point per test image where the run's features put it, and the points a user selects."""

from __future__ import annotations

import shlex

import numpy as np
import pandas as pd
import plotly.express as px
from plotly.graph_objects import Figure

from trainers.inference.onnx_model import runs_on_onnx
from trainers.inference.projection import ONNX_HAS_NO_FEATURES
from trainers.store import evaluable, run_store
from trainers.store.run_store import Run, RunError

# What the points can be coloured by -> the table's column.
COLOUR_BY = {"true class": "true", "predicted class": "predicted", "confidence": "confidence",
             "right or wrong": "outcome"}
OUTCOMES = ("right", "wrong")
MAP_COMMAND = "python -m trainers.evaluate {path} --test-map"


# What `trainers.inference.projection.penultimate_features` reads the features from, as architecture.json names the
# top-level layers of the network (the model without its test-time views): a Dense layer, and no more than one
# nested network.
DENSE_LAYER = "Dense"
NESTED_NETWORKS = ("Functional", "Sequential", "Model")
TTA_LAYER = "tta"  # `trainers.inference.network.TTA_LAYER`: its network's own layers are not recorded


def map_refusal(run: Run) -> str | None:
    """Why `python -m trainers.evaluate RUN --test-map` cannot map the run, seen from its folder and architecture.json
    (no model is loaded); None when it can, as far as those tell."""
    if run.model_path is None:  # the map is drawn from the model's features
        return run.info.get("no_model") or "it has no model"
    if runs_on_onnx(run):
        return ONNX_HAS_NO_FEATURES
    if not run.model_path.is_file():
        return f"its model file {run.model_path.name} is missing"
    if not run_store.test_images_path(run.store, run.test_key).is_file():
        return "its test images are not stored beside it to map"
    try:
        layers = run.architecture.get("layers") or []
    except RunError:
        return None  # unknown: the command says
    types = [str(layer.get("type")) for layer in layers]
    if any(layer.get("name") == TTA_LAYER for layer in layers):
        return None
    nested = sum(kind in NESTED_NETWORKS for kind in types)
    if DENSE_LAYER not in types or nested > 1:
        inside = f" (its layers sit inside a {'network' if nested == 1 else 'few networks'} the model wraps)" \
            if nested else ""
        return f"its model has no single network with a dense layer on top to read features from{inside}"
    return None


def map_command(runs) -> str | None:
    """The command, run from the working folder, that adds the test-set map to each of `runs` that can have one;
    None when none can (`map_refusal`)."""
    paths = [shlex.quote(evaluable.command_path(run)) for run in runs
             if getattr(run, "path", None) is not None and map_refusal(run) is None]
    return MAP_COMMAND.format(path=" ".join(paths)) if paths else None


def missing_map(run: Run) -> str | None:
    """Why the run has no test-set map, seen from its folder alone (no model is loaded), with the command that adds
    it when it can; None when it has one."""
    if (run.path / run_store.TEST_MAP_FILE).is_file():
        return None
    refusal = map_refusal(run)
    if refusal:
        return f"{run.label} has no test-set map: {refusal}"
    return f"{run.label} has no test-set map: add it with `{map_command([run])}`"


def map_table(run: Run) -> pd.DataFrame:
    """One row per test image of the run's map: id, x, y, true, predicted, confidence (of the pick), outcome.

    Raises:
        RunError: the run has no map, the map is unreadable, or it was made for other test images than the run's
            predictions.
    """
    test_map, predictions = run.test_map, run.predictions
    if test_map is None:  # no file; or one written after the run was read, which the run does not see
        raise RunError(missing_map(run) or f"its test-set map was written after the dashboard read {run.label}: "
                                            "restart the dashboard to read it")
    position = pd.Series(np.arange(len(predictions.ids)), index=predictions.ids)
    if len(test_map.ids) != len(position) or not position.index.isin(test_map.ids).all():
        raise RunError(f"the test-set map of {run.label} is of other test images than its predictions: "
                       f"recompute it with `{MAP_COMMAND.format(path=shlex.quote(evaluable.command_path(run)))}`")
    at = position[test_map.ids].to_numpy()
    names = np.asarray(run.class_names)
    predicted = predictions.predicted[at]
    true = predictions.labels[at]
    return pd.DataFrame({
        "id": test_map.ids, "x": test_map.coordinates[:, 0].astype(float), "y": test_map.coordinates[:, 1].astype(float),
        "true": names[true], "predicted": names[predicted],
        "confidence": predictions.confidence[at].astype(float),
        "outcome": np.where(predicted == true, *OUTCOMES),
    })


def describe_method(method: dict) -> str:
    """How a map was made, in one line: "t-SNE (perplexity 30) of PCA to 50 dimensions of the input of ..."."""
    name = method.get("method", "an unknown method")
    parameters = f" (perplexity {method['perplexity']:g})" if "perplexity" in method else ""
    pca = f" of PCA to {method['pca_components']} dimensions" if "pca_components" in method else ""
    features = f" of the {method['features']}" if "features" in method else ""
    library = f", {method['library']}" if "library" in method else ""
    return f"{name}{parameters}{pca}{features}{library}"


# Up to this many classes each has its colour and legend entry (plotly's largest qualitative palettes have 24);
# beyond, a class is a hue along one scale, named on hover: a trace per class would be 2,000 traces at 1,000.
MAX_LEGEND_CLASSES = 24


def map_figure(table: pd.DataFrame, class_names: list[str], colour_by: str = "true class") -> Figure:
    """The map as a scatter plot: coloured by `colour_by` (a key of COLOUR_BY), mistakes drawn as crosses, each
    point carrying its image id for selections. Axes carry no meaning on such a map and are hidden."""
    column = COLOUR_BY[colour_by]
    colour = column
    if column in ("true", "predicted") and len(class_names) > MAX_LEGEND_CLASSES:
        colour = table[column].map({name: index for index, name in enumerate(class_names)}).rename(f"{column} class")
    figure = px.scatter(
        table, x="x", y="y", color=colour, symbol="outcome", custom_data=["id"],
        category_orders={"true": class_names, "predicted": class_names, "outcome": list(OUTCOMES)},
        symbol_map={"right": "circle", "wrong": "x"}, color_continuous_scale="Viridis",
        range_color=(0, 1) if column == "confidence" else None,
        hover_data={"id": True, "true": True, "predicted": True, "confidence": ":.1%", "outcome": False,
                    "x": False, "y": False},
        render_mode="webgl", height=640,
    )
    figure.update_traces(marker={"size": 5, "opacity": 0.75})
    if colour is not column:  # class indices along a scale: their numbers on a colour bar say nothing
        figure.update_layout(coloraxis_showscale=False, coloraxis_colorscale="Turbo")
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False, scaleanchor="x")
    figure.update_layout(dragmode="select", legend_title_text=colour_by, margin={"t": 10, "b": 10})
    return figure


def selected_ids(selection: dict | None) -> list[str]:
    """The image ids of the points in a plotly selection event (Streamlit's `event.selection`), each once."""
    ids = [point["customdata"][0] for point in (selection or {}).get("points", []) if point.get("customdata")]
    return list(dict.fromkeys(ids))


def selected_rows(table: pd.DataFrame, ids: list[str]) -> pd.DataFrame:
    """The rows of `ids`, mistakes first, then by falling confidence (the gallery's order)."""
    chosen = table[table["id"].isin(ids)]
    return chosen.sort_values(["outcome", "confidence"], ascending=[False, False], kind="stable")
