"""What a run's model costs to run, measured: the timing harness on models of known cost, multiply-adds counted by
hand on tiny Keras and ONNX models (a test-time-augmentation wrapper too), and `--cost` on constructed runs."""

from __future__ import annotations

import time

import keras
import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from fake_runs import write_fake_run, write_one_class_model
from test_onnx_import import onnx_classifier
from trainers.inference import cost
from trainers.inference.network import with_tta
from trainers.store import costs, run_store


class CountingModel:
    """A model `predict` runs through its predict_on_batch (as it runs an ONNX model), counting its calls by their
    number of images."""

    output_shape = (None, 3)

    def __init__(self):
        self.calls: dict[int, int] = {}

    def predict_on_batch(self, images):
        self.calls[len(images)] = self.calls.get(len(images), 0) + 1
        return np.full((len(images), 3), 1 / 3)

    def count_params(self) -> int:
        return 11


class ClockedModel(CountingModel):
    """Each call moves a clock of its own on by the next of `durations` seconds."""

    def __init__(self, durations):
        super().__init__()
        self.durations = iter(durations)
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def predict_on_batch(self, images):
        self.now += next(self.durations)
        return super().predict_on_batch(images)


class SleepingModel(CountingModel):
    """Each call sleeps `seconds`, on the real clock."""

    def __init__(self, seconds: float):
        super().__init__()
        self.seconds = seconds

    def predict_on_batch(self, images):
        time.sleep(self.seconds)
        return super().predict_on_batch(images)


def test_the_harness_times_each_call_after_an_untimed_warm_up():
    durations = [9.0] * cost.WARM_UP_CALLS + [0.001 * value for value in range(1, 51)]  # warm-up slow, then 1-50 ms
    model = ClockedModel(durations)
    seconds = cost.timed_calls(model, np.zeros((1, 8, 8, 3), np.uint8), calls=50, clock=model.clock)
    assert model.calls == {1: cost.WARM_UP_CALLS + 50}
    assert seconds == pytest.approx([0.001 * value for value in range(1, 51)])  # the warm-up counts in none


def test_a_model_that_sleeps_5_ms_per_call_is_timed_at_5_ms_or_a_little_more():
    seconds = cost.timed_calls(SleepingModel(0.005), np.zeros((1, 8, 8, 3), np.uint8), calls=50)
    assert len(seconds) == 50
    assert (seconds >= 0.005).all()
    assert np.median(seconds) < 0.05  # a loaded machine may wake the sleeper late, not ten times late


def test_measure_cost_times_one_image_at_least_50_times_and_a_batch_of_64(tmp_path, monkeypatch):
    run = write_fake_run(tmp_path, "cats")
    write_one_class_model(run, 0)
    model = SleepingModel(0.001)
    monkeypatch.setattr(cost, "load_model", lambda run: model)
    monkeypatch.setattr(cost, "keras_machine", lambda model: fake_machine())
    monkeypatch.setattr(cost, "keras_macs", lambda model: (7, []))
    measured = cost.measure_cost(run)
    assert cost.LATENCY_CALLS >= 50 and measured.latency_calls == cost.LATENCY_CALLS
    assert model.calls == {1: cost.WARM_UP_CALLS + cost.LATENCY_CALLS,
                           64: cost.WARM_UP_CALLS + cost.THROUGHPUT_CALLS}
    assert measured.batch_size == 64
    assert 1 <= measured.latency_median_ms <= measured.latency_p90_ms
    assert measured.images_per_second <= 64 / 0.001
    assert (measured.parameters, measured.macs, measured.file_bytes) == (11, 7, run.model_path.stat().st_size)


def fake_machine() -> costs.Machine:
    return costs.Machine(processor="a CPU", device="CPU", threads=2, precision="float32", runtime="TensorFlow",
                         runtime_version="2")


def tiny_network(*, batch_norm: bool = False) -> keras.Model:
    """Conv2D 3x3 (no padding) of 8x8x3 pixels to 4 filters, then their means to 3 classes:
    6 * 6 positions * (3 * 3 * 3 * 4) = 3,888 multiply-adds, and 4 * 3 = 12 for the Dense layer."""
    inputs = keras.Input((8, 8, 3))
    features = keras.layers.Conv2D(4, 3)(inputs)
    if batch_norm:
        features = keras.layers.BatchNormalization()(features)
    pooled = keras.layers.GlobalAveragePooling2D()(features)
    return keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(pooled), name="tiny")


TINY_MACS = 3888 + 12


@pytest.mark.parametrize("layer, macs", [
    # 64 positions (same padding) * 3x3 kernel * 3 channels * multiplier 2.
    (keras.layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2), 64 * 3 * 3 * 3 * 2),
    # Stride 2, no padding: 3x3 positions, each a depthwise 3x3x3 kernel and a pointwise 3 -> 5.
    (keras.layers.SeparableConv2D(5, 3, strides=2), 9 * (3 * 3 * 3) + 9 * (3 * 5)),
    # Each of the 64 input positions scatters a 3x3 kernel from 3 channels to 2.
    (keras.layers.Conv2DTranspose(2, 3, strides=2), 64 * 3 * 3 * 3 * 2),
    # A Dense layer on every one of the 8x8 positions: 3 inputs to 6 outputs.
    (keras.layers.Dense(6), 64 * 3 * 6),
])
def test_the_multiply_adds_of_each_kind_of_layer_are_counted_by_hand(layer, macs):
    inputs = keras.Input((8, 8, 3))
    assert cost.keras_macs(keras.Model(inputs, layer(inputs))) == (macs, [])


def test_a_test_time_augmentation_wrapper_counts_its_network_once_per_view():
    network = tiny_network(batch_norm=True)
    assert cost.keras_macs(network) == (TINY_MACS, ["BatchNormalization"])
    # The image and its mirror, each also moved 1 px up-left and down-right: six views.
    assert cost.keras_macs(with_tta(network, flip=True, shift=1)) == (6 * TINY_MACS, ["BatchNormalization"])
    assert cost.keras_macs(with_tta(network, flip=True)) == (2 * TINY_MACS, ["BatchNormalization"])


def onnx_network(path, *, batch="N"):
    """The ONNX twin of `tiny_network` (NCHW): Conv 3x3 to 4 filters, their means, MatMul to 3 classes, in
    TINY_MACS multiply-adds per image."""
    rng = np.random.default_rng(0)
    weights = [numpy_helper.from_array(rng.normal(size=(4, 3, 3, 3)).astype(np.float32), "kernel"),
               numpy_helper.from_array(rng.normal(size=(4, 3)).astype(np.float32), "dense")]
    nodes = [helper.make_node("Conv", ["pixels", "kernel"], ["features"]),
             helper.make_node("GlobalAveragePool", ["features"], ["pooled"]),
             helper.make_node("Flatten", ["pooled"], ["flat"]), helper.make_node("MatMul", ["flat", "dense"], ["out"])]
    graph = helper.make_graph(nodes, "tiny", [helper.make_tensor_value_info("pixels", TensorProto.FLOAT,
                                                                            [batch, 3, "H", "W"])],
                              [helper.make_tensor_value_info("out", TensorProto.FLOAT, [batch, 3])], weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    path.write_bytes(model.SerializeToString())
    return model


@pytest.mark.parametrize("batch", ["N", 2])
def test_an_onnx_graph_counts_as_its_keras_twin_whatever_its_batch(tmp_path, batch):
    model = onnx_network(tmp_path / "tiny.onnx", batch=batch)
    assert cost.onnx_macs(model, (1, 3, 8, 8)) == (TINY_MACS, [])


def test_an_onnx_gemm_is_counted_and_weighted_operators_left_out_are_named(tmp_path):
    import onnx

    onnx_classifier(tmp_path / "colours.onnx", ["N", 3, 8, 8])  # x * std + mean, channel means, Gemm 3 -> 3
    assert cost.onnx_macs(onnx.load(str(tmp_path / "colours.onnx")), (1, 3, 8, 8)) == (9, ["Add", "Mul"])


def onnx_run(store):
    """A run whose model is `onnx_network`'s, taking 0-1 pixels in NCHW."""
    run = write_fake_run(store, "tiny-onnx", info={
        "model_file": run_store.ONNX_MODEL_FILE,
        "config": {"image_size": 8, "flip_tta": False, "shift_tta": 0, "kind": run_store.KIND_IMPORTED,
                   "input_scale": "0-1", "layout": "NCHW", "mean": [0, 0, 0], "std": [1, 1, 1], "logits": True}})
    onnx_network(run.model_path)
    return run


def test_an_onnx_run_is_measured_through_onnx_runtime(tmp_path):
    run = onnx_run(tmp_path)
    measured = cost.measure_cost(run, latency_calls=50, throughput_calls=3)
    assert (measured.macs, measured.macs_not_counted) == (TINY_MACS, [])
    assert measured.parameters == 4 * 3 * 3 * 3 + 4 * 3
    assert (measured.machine.runtime, measured.machine.device, measured.machine.precision) == (
        "ONNX Runtime", "CPU", "float32")


def test_cost_measures_each_run_with_a_model_and_skips_one_without(tmp_path, capsys):
    from trainers.evaluate import main as evaluate

    cats = write_fake_run(tmp_path, "cats")
    write_one_class_model(cats, 0)  # Conv2D 3x3 (same) to 2 filters on 8x8x3, their means, Dense 2 -> 3
    write_fake_run(tmp_path, "recorded", info={"model_file": None, "no_model": "recorded from arrays"})
    assert evaluate([str(tmp_path / "recorded"), str(cats.path), "--cost"]) == 0
    said = capsys.readouterr().out.splitlines()
    assert said[0] == f"{tmp_path / 'recorded'}: skipped: recorded has no model: recorded from arrays"
    assert said[1].startswith(f"{cats.path}: latency ")
    assert costs.read_cost(tmp_path / "recorded") is None
    measured = costs.read_cost(cats.path)
    assert measured.macs == 64 * 3 * 3 * 3 * 2 + 2 * 3
    assert measured.parameters == (3 * 3 * 3 * 2 + 2) + (2 * 3 + 3)
    assert (measured.machine.runtime, measured.machine.precision) == ("TensorFlow", "float32")
    assert measured.latency_calls >= 50 and measured.file_bytes == cats.model_path.stat().st_size
