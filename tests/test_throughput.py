"""Speed on this machine: the precision "auto" keeps, the epochs a time budget allows, what run.json records,
and the training benchmarks' arithmetic."""

from __future__ import annotations

import json
import shlex

import numpy as np
import pytest

from benchmarks.common import key_values
from benchmarks.train_throughput import steady_images_per_second
from colour_images import make_image_folder
from fake_runs import new_run
from trainers.store import run_store
from trainers.training import throughput
from trainers.presets import get_preset
from trainers.training.throughput import SpeedTrial, epochs_within, fastest_precision
from trainers.inference.predict import load_model


@pytest.mark.parametrize("images_per_second, expected", [
    ({"float32": 100.0, "mixed_bfloat16": 180.0, "bfloat16_matmuls": 210.0}, "bfloat16_matmuls"),
    ({"float32": 100.0, "mixed_bfloat16": 180.0, "bfloat16_matmuls": 150.0}, "mixed_bfloat16"),
    ({"float32": 120.0, "mixed_bfloat16": 90.0, "bfloat16_matmuls": 110.0}, "float32"),  # bfloat16 slower here
    ({"float32": 100.0, "mixed_bfloat16": 104.0}, "float32"),  # 4% faster: within the noise margin of 5%
    ({"float32": 100.0, "mixed_bfloat16": 106.0}, "mixed_bfloat16"),  # 6% faster: past it
    ({"float32": 100.0}, "float32"),
])
def test_auto_keeps_the_fastest_precision_and_float32_unless_another_is_clearly_faster(images_per_second, expected):
    assert fastest_precision(images_per_second) == expected


def test_a_trial_without_float32_has_nothing_to_compare_with():
    with pytest.raises(ValueError, match="without float32 to compare with"):
        fastest_precision({"mixed_bfloat16": 200.0})


@pytest.mark.parametrize("seconds, images_per_second, train_images, validation_images, expected", [
    # (45,000 + 3,000 / 3) / 500 = 92 s an epoch; 600 / 92 = 6.5
    (600, 500, 45_000, 3_000, 6),
    # (49,000 + 1,000 / 3) / 400 = 123.3 s an epoch; 780 / 123.3 = 6.3
    (780, 400, 49_000, 1_000, 6),
    (800, 400, 0, 3_000, 320),  # validation only: 3,000 / 3 / 400 = 2.5 s an epoch
    (60, 500, 45_000, 3_000, 1),  # less than an epoch still trains one
])
def test_a_time_budget_takes_the_epochs_that_fit_in_it(seconds, images_per_second, train_images, validation_images,
                                                       expected):
    assert epochs_within(seconds, images_per_second, train_images, validation_images) == expected


@pytest.fixture
def colours(tmp_path):
    from trainers.training.data import load_dataset

    folder = make_image_folder(tmp_path / "colours", per_class=10)
    data = load_dataset(f"folder:{folder}", image_size=16, validation_fraction=0.2, cache_dir=tmp_path / "cache")
    assert (len(data.train), len(data.validation)) == (24, 6)
    return data


def _injected_trial(monkeypatch, images_per_second: dict, seconds: float = 6.0, compile_seconds: float = 4.0):
    """Replaces the timed trial with given figures; returns the list of precisions each call was asked to time."""
    asked = []

    def trial(config, images, num_classes, *, precisions=throughput.CANDIDATE_PRECISIONS, steps=3):
        asked.append(tuple(precisions))
        return SpeedTrial({name: images_per_second[name] for name in precisions},
                          {name: compile_seconds for name in precisions}, seconds)

    monkeypatch.setattr(throughput, "speed_trial", trial)
    return asked


def _trained(store, config, data):
    from trainers.training.fit import train

    writer = new_run(store, "run", config, data)
    train(writer, data, verbose=0)
    return run_store.load_run(store / "run")


@pytest.mark.slow  # trains
def test_auto_trains_in_the_fastest_precision_and_records_the_trial(colours, tmp_path, monkeypatch):
    speeds = {"float32": 100.0, "mixed_bfloat16": 130.0, "bfloat16_matmuls": 170.0}
    asked = _injected_trial(monkeypatch, speeds)
    config = get_preset("cnn_v3").with_overrides(epochs=1, batch_size=8, image_size=16)
    assert config.precision == "auto"
    run = _trained(tmp_path / "store", config, colours)

    assert asked == [throughput.CANDIDATE_PRECISIONS]
    assert run.config["precision"] == "bfloat16_matmuls"
    assert run.info["speed_trial"] == {"requested_precision": "auto", "time_budget": 0.0, "images_per_second": speeds,
                                       "compile_seconds": dict.fromkeys(speeds, 4.0), "seconds": 6.0}
    assert json.loads((run.path / run_store.RUN_FILE).read_text())["config"]["precision"] == "bfloat16_matmuls"
    # Trained with bfloat16 matrix products, shipped in float32.
    assert {layer.dtype_policy.name for layer in load_model(run).layers} == {"float32"}


@pytest.mark.slow  # trains
def test_a_forced_precision_is_kept_without_a_trial(colours, tmp_path, monkeypatch):
    asked = _injected_trial(monkeypatch, {"float32": 100.0, "mixed_bfloat16": 500.0})
    config = get_preset("cnn_v3").with_overrides(epochs=1, batch_size=8, image_size=16, precision="float32")
    run = _trained(tmp_path / "store", config, colours)
    assert asked == []
    assert run.config["precision"] == "float32"
    assert "speed_trial" not in run.info


@pytest.mark.slow  # trains
def test_a_time_budget_sizes_the_epochs_from_the_measured_speed(colours, tmp_path, monkeypatch):
    # 1 minute - 6 s of trial - 4 s of compiling = 50 s; (24 + 6 / 3) / 1.5 = 17.3 s an epoch: 2 epochs.
    asked = _injected_trial(monkeypatch, {"mixed_bfloat16": 1.5}, seconds=6.0, compile_seconds=4.0)
    config = get_preset("cnn_v3").with_overrides(epochs=40, batch_size=8, image_size=16, precision="mixed_bfloat16",
                                                 time_budget=1.0)
    run = _trained(tmp_path / "store", config, colours)
    assert asked == [("mixed_bfloat16",)]  # a forced precision is the only one timed
    assert run.config["precision"] == "mixed_bfloat16"
    assert run.config["epochs"] == 2
    assert len(run.history) == 2
    assert run.info["speed_trial"]["time_budget"] == 1.0


def test_a_resumed_run_keeps_what_its_trial_decided(colours, tmp_path, monkeypatch):
    from trainers.training.fit import decided_by_speed_trial

    asked = _injected_trial(monkeypatch, {"float32": 1.0})
    decided = get_preset("cnn_v3").with_overrides(precision="bfloat16_matmuls", epochs=7, time_budget=5.0)
    writer = new_run(tmp_path / "store", "resumed", decided, colours)
    info = {**writer.read_info(), "speed_trial": {"requested_precision": "auto", "time_budget": 5.0}}
    assert decided_by_speed_trial(writer, info, decided, colours) == decided
    assert asked == []


@pytest.mark.slow  # times training steps of each precision
def test_the_speed_trial_times_each_precision_of_the_real_model():
    config = get_preset("cnn_fast").with_overrides(widths=(8, 8, 8), batch_size=4, image_size=16)
    images = np.random.default_rng(0).integers(0, 256, (6, 16, 16, 3), dtype=np.uint8)
    trial = throughput.speed_trial(config, images, 3, steps=1)
    assert set(trial.images_per_second) == set(trial.compile_seconds) == set(throughput.CANDIDATE_PRECISIONS)
    assert all(speed > 0 for speed in trial.images_per_second.values())
    assert trial.seconds > 0


def test_bfloat16_matmuls_computes_the_matrix_products_in_bfloat16_and_the_rest_in_float32():
    import keras

    from trainers.training.models import MATMUL_LAYERS, build_model

    model = build_model(get_preset("cnn_air").with_overrides(precision="bfloat16_matmuls"), 10)
    matmuls = {layer.compute_dtype for layer in model.layers if isinstance(layer, MATMUL_LAYERS)}
    others = {layer.compute_dtype for layer in model.layers if not isinstance(layer, MATMUL_LAYERS)}
    assert (matmuls, others) == ({"bfloat16"}, {"float32"})
    assert {weight.dtype for weight in model.weights} == {"float32"}
    assert keras.config.dtype_policy().name == "float32"


def test_steady_state_leaves_out_the_first_epoch():
    # Epochs began at 0, 40 (the first took 40 s: tracing) and 60 s; training ended at 80 s: 2 x 1,000 images
    # in 40 s.
    assert steady_images_per_second([0.0, 40.0, 60.0], 80.0, images_per_epoch=1000) == 50.0
    with pytest.raises(ValueError, match="two epochs or more"):
        steady_images_per_second([0.0], 30.0, images_per_epoch=1000)


def test_the_benchmarks_last_line_is_key_value_pairs():
    assert key_values({"cnn_v4_ratio": 1.87, "cpu": "Intel(R) Xeon(R) Processor", "cores": 2}) == (
        "cnn_v4_ratio=1.87 cpu='Intel(R) Xeon(R) Processor' cores=2")


@pytest.mark.slow  # trains
@pytest.mark.parametrize("target, reached, epochs", [
    (0.0, "yes", 1),  # checked after the first epoch and reached: training stops there
    (1.01, "no", 2),  # out of reach: the schedule runs to its end
])
def test_time_to_accuracy_stops_at_the_target_or_the_end_of_the_schedule(target, reached, epochs, image_folder,
                                                                         tmp_path, capsys):
    from benchmarks.time_to_accuracy import main

    assert main(["cnn_v3", "--dataset", f"folder:{image_folder}", "--image-size", "16", "--epochs", "2",
                 "--batch-size", "8", "--precision", "float32", "--target", str(target),
                 "--cache-dir", str(tmp_path / "cache")]) == 0
    figures = dict(pair.split("=", 1) for pair in shlex.split(capsys.readouterr().out.splitlines()[-1]))
    assert (figures["reached"], figures["epochs"], figures["scheduled_epochs"]) == (reached, str(epochs), "2")
    assert 0 <= float(figures["test_accuracy"]) <= 1 and float(figures["wall_s"]) > 0
