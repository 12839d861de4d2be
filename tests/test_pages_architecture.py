"""The Architecture page under Streamlit's AppTest, on the tiny run store."""

from __future__ import annotations


def test_architecture_summary_and_two_models_layers(open_app, tiny_store, tiny_runs):
    app = open_app(tiny_store, "views/architecture.py")
    assert app.title[0].value == "Architecture"
    summary, left, right = (frame.value for frame in app.dataframe)
    summary = summary.set_index("run")
    for run_id, run in tiny_runs.items():
        assert summary.loc[run_id, "params"] == run.architecture["summary"]["total_params"]
        assert summary.loc[run_id, "conv layers"] == run.architecture["summary"]["conv_layers"]
    runs = {run.label: run for run in tiny_runs.values()}
    for frame, selectbox in zip((left, right), app.selectbox):
        layers = runs[selectbox.value].architecture["layers"]
        assert frame["name"].tolist() == [layer["name"] for layer in layers]
        assert frame["output shape"].tolist() == [layer["output_shape"] for layer in layers]
        assert frame["params"].sum() == runs[selectbox.value].architecture["summary"]["total_params"]
