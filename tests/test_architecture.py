"""dashboard.lib.architecture: the summary table across runs and a model's layers."""

from __future__ import annotations

from dashboard.lib import architecture
from fake_runs import write_fake_run


def test_architecture_summary_and_layer_table(tmp_path):
    run = write_fake_run(tmp_path, "cnn_v3-1", summary={"conv_layers": 6, "total_params": 2196810})
    mine = write_fake_run(tmp_path, "mine", info={"preset": ""})
    summary = architecture.architecture_summary([run, mine])
    assert summary.iloc[0][["model", "run", "conv layers", "params", "optimizer"]].tolist() == [
        "cnn_v3", "cnn_v3-1", 6, 2196810, "adam"]
    assert summary.iloc[1][["model", "run"]].tolist() == ["", "mine"]  # the preset, never the folder
    layers = architecture.layer_table(run)
    assert layers.columns.tolist() == ["name", "type", "output shape", "params", "trainable"]
    assert layers.values.tolist() == [["pixels", "InputLayer", "(None, 8, 8, 3)", 0, True],
                                      ["logits", "Dense", "(None, 3)", 579, True]]
