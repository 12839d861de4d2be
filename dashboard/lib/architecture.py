"""What the models are made of: the study's summary row per run, and one model's layers."""

from __future__ import annotations

import pandas as pd

from trainers.inference.onnx_model import runs_on_onnx
from trainers.store.run_store import KIND_ENSEMBLE, Run

# architecture.json summary key -> column of the study's table.
SUMMARY_COLUMNS = {
    "total_layers": "total layers", "conv_layers": "conv layers", "dense_layers": "dense layers",
    "total_params": "params", "trainable_params": "trainable params", "augmentation": "augmentation",
    "batch_norm": "BatchNorm", "dropout": "dropout", "optimizer": "optimizer", "loss": "loss", "epochs": "epochs",
}
LAYER_COLUMNS = {"name": "name", "type": "type", "output_shape": "output shape", "params": "params",
                 "trainable": "trainable"}


def architecture_summary(runs: list[Run]) -> pd.DataFrame:
    """The study's summary table: one row per run."""
    rows = []
    for run in runs:
        summary = run.architecture["summary"]
        rows.append({"model": run.preset, "run": run.run_id,
                     **{column: summary.get(key) for key, column in SUMMARY_COLUMNS.items()}})
    return pd.DataFrame(rows, columns=["model", "run", *SUMMARY_COLUMNS.values()])


def without_layers(runs: list[Run]) -> dict[str, list[str]]:
    """The runs that have no layers to show, by why (as the page says it), in the order given."""
    found: dict[str, list[str]] = {}
    for run in runs:
        if run.architecture["layers"]:
            continue
        if run.kind == KIND_ENSEMBLE:
            reason = "an ensemble averages its members' models: select them to see theirs"
        elif runs_on_onnx(run):
            reason = "an ONNX model: ONNX Runtime does not list its layers"
        else:
            reason = run.info.get("no_model") or "its model's layers were not recorded"
        found.setdefault(reason, []).append(run.label)
    return found


def layer_table(run: Run) -> pd.DataFrame:
    """One row per top-level layer: name, type, output shape, params, trainable."""
    layers = pd.DataFrame(run.architecture["layers"])
    return layers.reindex(columns=list(LAYER_COLUMNS)).rename(columns=LAYER_COLUMNS)
