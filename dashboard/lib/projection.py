"""The test-set map: one point per test image where the run's features put it, and the points a user selects."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.express as px
from plotly.graph_objects import Figure

from trainers.inference.onnx_model import runs_on_onnx
from trainers.inference.projection import ONNX_HAS_NO_FEATURES
from trainers.store import run_store
from trainers.store.run_store import Run, RunError

# What the points can be coloured by -> the table's column.
COLOUR_BY = {"true class": "true", "predicted class": "predicted", "confidence": "confidence",
             "right or wrong": "outcome"}
OUTCOMES = ("right", "wrong")
MAP_COMMAND = "python -m trainers.evaluate {path} --test-map"


def missing_map(run: Run) -> str | None:
    """Why the run has no test-set map, seen from its folder alone (nothing is read); None when it has one."""
    if (run.path / run_store.TEST_MAP_FILE).is_file():
        return None
    if run.model_path is None:  # the map is drawn from the model's features
        return f"{run.label} has no test-set map: {run.info.get('no_model') or 'it has no model'}"
    if runs_on_onnx(run):
        return f"{run.label} has no test-set map: {ONNX_HAS_NO_FEATURES}"
    return f"{run.label} has no test-set map: add it with `{MAP_COMMAND.format(path=run.path)}`"


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
                       f"recompute it with `{MAP_COMMAND.format(path=run.path)}`")
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
