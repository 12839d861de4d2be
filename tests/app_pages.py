"""The dashboard's pages as Streamlit's AppTest runs them: their scripts, and what a page shows, read back."""

from __future__ import annotations

import base64
import json

import numpy as np
import plotly.graph_objects as go

from dashboard_server import VIEWS

PAGES = VIEWS
MODEL_FREE_PAGES = PAGES[:-1]


def widget(widgets, label: str):
    return next(w for w in widgets if w.label == label)


def decoded(value):
    """A plotly JSON value with its base64 arrays ({"dtype", "bdata", "shape"}, plotly 6) made numpy arrays."""
    if isinstance(value, dict) and "bdata" in value:
        array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        return array.reshape([int(n) for n in str(value.get("shape", len(array))).split(",")])
    if isinstance(value, dict):
        return {key: decoded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [decoded(item) for item in value]
    return value


def figures(app) -> list[go.Figure]:
    """The plotly figures of the page, as the browser receives them."""
    return [go.Figure(decoded(json.loads(chart.proto.spec))) for chart in app.get("plotly_chart")]
