"""What a run's model costs to run on this machine: the latency of one image, the throughput at a batch, the file's
size, the parameters and the multiply-adds (MACs) per image.

Keras and ONNX models are timed through the one prediction path (`predict.predict` on `predict.load_model`'s
model), so a cost is that of what the store's runs predict with, test-time views and preprocessing included.
MACs count the weighted layers that do matrix products: Keras' convolutions (plain, depthwise, separable,
transposed) and Dense layers, walked through the functional graph, a nested network once per call (a test-time
augmentation wrapper calls its network once per view); an ONNX graph's Conv, ConvTranspose, Gemm and MatMul
nodes, with shapes from `onnx.shape_inference`. Layers without weights (pooling, activations, additions) are not
counted; weighted ones that are not either (BatchNormalization, say) are named in the cost's `macs_not_counted`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import numpy as np

from trainers.analysis import cost as cost_figures
from trainers.inference import machine
from trainers.inference.onnx_model import INPUT_TYPES, parameter_count, runs_on_onnx
from trainers.inference.predict import load_model, predict
from trainers.store import costs, run_store

WARM_UP_CALLS = 5  # untimed calls first: the first traces and compiles the forward pass, the next settle caches
LATENCY_CALLS = 100  # timed calls of one image: enough for a steady 90th percentile
MIN_LATENCY_CALLS = 50  # fewer leave the 90th percentile to a handful of calls
THROUGHPUT_BATCH = 64  # images per call for the throughput
THROUGHPUT_CALLS = 10  # timed calls of a batch (after WARM_UP_CALLS of it)
# What ONNX operators `onnx_macs` counts.
ONNX_COUNTED = ("Conv", "ConvTranspose", "Gemm", "MatMul")


def measure_cost(run: run_store.Run, *, latency_calls: int = LATENCY_CALLS, throughput_calls: int = THROUGHPUT_CALLS,
                 warm_up: int = WARM_UP_CALLS, batch_size: int = THROUGHPUT_BATCH) -> costs.Cost:
    """Times the run's model on this machine and counts its size; changes nothing (`costs.write_cost` stores it).

    The images are random pixels of the run's image size: what a model costs does not depend on what it sees.

    Raises:
        ValueError: fewer than MIN_LATENCY_CALLS `latency_calls`.
        run_store.RunError: the run has no model (`run.no_model`), or it cannot be loaded.
    """
    if latency_calls < MIN_LATENCY_CALLS:
        raise ValueError(f"latency_calls {latency_calls}: the 90th percentile needs at least {MIN_LATENCY_CALLS}")
    model = load_model(run)
    images = np.random.default_rng(0).integers(0, 256, (batch_size, run.image_size, run.image_size, 3), np.uint8)
    median, p90 = cost_figures.latency_ms(timed_calls(model, images[:1], calls=latency_calls, warm_up=warm_up))
    per_batch = timed_calls(model, images, calls=throughput_calls, warm_up=warm_up)
    if runs_on_onnx(run):
        import onnx  # deferred: only an ONNX model needs it

        graph = onnx.load(str(run.model_path), load_external_data=False)
        macs, not_counted = onnx_macs(graph, model.preprocessing(images[:1]).shape)
        parameters, described = parameter_count(run.model_path), onnx_machine(model)
    else:
        macs, not_counted = keras_macs(model)
        parameters, described = int(model.count_params()), keras_machine(model)
    return costs.Cost(
        latency_median_ms=median, latency_p90_ms=p90, latency_calls=latency_calls,
        images_per_second=cost_figures.images_per_second(batch_size, per_batch), batch_size=batch_size,
        file_bytes=run.model_path.stat().st_size, parameters=parameters, macs=macs, macs_not_counted=not_counted,
        measured_at=run_store.now(), machine=described)


def timed_calls(model, images: np.ndarray, *, calls: int, warm_up: int = WARM_UP_CALLS,
                clock: Callable[[], float] = time.perf_counter) -> np.ndarray:
    """The seconds each of `calls` calls of `predict(model, images)` took, after `warm_up` calls left untimed."""
    for _ in range(warm_up):
        predict(model, images)
    seconds = np.empty(calls)
    for call in range(calls):
        began = clock()
        predict(model, images)
        seconds[call] = clock() - began
    return seconds


def _cores() -> int:
    """The cores this process may use (a container's share, not the host's)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


# Keras layers whose MACs are counted: each output position (input position, for a transposed convolution) costs the
# elements of each kernel, which is what a depthwise kernel (kh, kw, channels, multiplier) and a separable layer's two
# kernels come to as well.
_CONVOLUTIONS = ("Conv1D", "Conv2D", "Conv3D", "DepthwiseConv1D", "DepthwiseConv2D")
_SEPARABLE = ("SeparableConv1D", "SeparableConv2D")
_TRANSPOSED = ("Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose")


def _layer_macs(layer) -> int | None:
    """The MACs of one call of a Keras layer, from the shapes of its (first) call; None for a layer not counted."""
    from keras import layers

    def positions(shape) -> int:  # the spatial positions of a (batch, ..., channels) or (batch, channels, ...) shape
        spatial = shape[1:-1] if layer.data_format == "channels_last" else shape[2:]
        return int(np.prod(spatial, dtype=np.int64))

    def elements(*kernels) -> int:
        return sum(int(np.prod(kernel.shape, dtype=np.int64)) for kernel in kernels)

    if isinstance(layer, layers.Dense):  # per position of the input but its last axis
        return int(np.prod(layer.input.shape[1:-1], dtype=np.int64)) * elements(layer.kernel)
    if isinstance(layer, tuple(getattr(layers, name) for name in _SEPARABLE)):
        return positions(layer.output.shape) * elements(layer.depthwise_kernel, layer.pointwise_kernel)
    if isinstance(layer, tuple(getattr(layers, name) for name in _TRANSPOSED)):
        return positions(layer.input.shape) * elements(layer.kernel)
    if isinstance(layer, tuple(getattr(layers, name) for name in _CONVOLUTIONS)):
        return positions(layer.output.shape) * elements(layer.kernel)
    return None


def keras_macs(model) -> tuple[int | None, list[str]]:
    """The multiply-adds per image of a Keras model, and the types of its weighted layers left out (sorted).

    Walks the model's layers; a nested model counts its own, times the calls the graph makes of it, read from the
    functional graph's config (one "inbound_nodes" entry per call). None for a model whose graph cannot be walked
    (subclassed, not built).
    """
    import keras

    try:
        described = model.get_config() or {}
        calls = {entry.get("name"): len(entry.get("inbound_nodes") or [None])
                 for entry in described.get("layers", []) if isinstance(entry, dict)}
    except (NotImplementedError, TypeError, ValueError):
        return None, [type(model).__name__]
    total, not_counted = 0, set()
    for layer in model.layers:
        times = calls.get(layer.name, 1)
        if isinstance(layer, keras.Model):
            macs, left_out = keras_macs(layer)
            if macs is None:
                return None, left_out
            total, not_counted = total + times * macs, not_counted | set(left_out)
            continue
        try:
            macs = _layer_macs(layer)
        except (AttributeError, ValueError):  # a layer whose shapes the model does not know
            macs = None
        if macs is not None:
            total += times * macs
        elif layer.weights:
            not_counted.add(type(layer).__name__)
    return total, sorted(not_counted)


def _weighted_layers(model):
    for layer in model.layers:
        if hasattr(layer, "layers"):
            yield from _weighted_layers(layer)
        elif layer.weights:
            yield layer


def keras_machine(model) -> costs.Machine:
    """This machine as it runs a Keras model: the device TensorFlow runs it on, its threads, and what the model's
    weighted layers compute in."""
    import tensorflow as tf  # imported already: it loaded the model

    gpus = tf.config.list_physical_devices("GPU")
    device = "CPU"
    if gpus:
        name = tf.config.experimental.get_device_details(gpus[0]).get("device_name", "")
        device = f"GPU ({name})" if name else "GPU"
    precisions = sorted({layer.dtype_policy.compute_dtype for layer in _weighted_layers(model)}) or ["float32"]
    return costs.Machine(processor=machine.processor_name(), device=device,
                         threads=tf.config.threading.get_intra_op_parallelism_threads() or _cores(),
                         precision=", ".join(precisions), runtime="TensorFlow", runtime_version=tf.__version__)


def onnx_machine(model) -> costs.Machine:
    """This machine as ONNX Runtime runs the model (`onnx_model.OnnxClassifier`): on the CPU, with the threads its
    session was given, in the type of the model's input."""
    import onnxruntime  # imported already: it runs the model

    threads = model.session.get_session_options().intra_op_num_threads or _cores()
    precision = np.dtype(INPUT_TYPES[model.session.get_inputs()[0].type]).name
    return costs.Machine(processor=machine.processor_name(), device="CPU", threads=threads, precision=precision,
                         runtime="ONNX Runtime", runtime_version=onnxruntime.__version__)


def onnx_macs(model, input_shape: tuple[int, ...]) -> tuple[int | None, list[str]]:
    """The multiply-adds per image of an ONNX model (an `onnx.ModelProto`; its weights need not be loaded) given
    `input_shape`, the shape of one image as the model takes it; and the operators left out (sorted): the weighted
    ones not counted, and counted ones whose shapes could not be inferred. Local functions are inlined first.

    A batch size fixed in the graph is kept, and the count divided by it.
    """
    import onnx
    from onnx import inliner, shape_inference

    model = inliner.inline_local_functions(model)
    graph_input = next(value for value in model.graph.input
                       if value.name not in {tensor.name for tensor in model.graph.initializer})
    dims = graph_input.type.tensor_type.shape.dim
    batch = dims[0].dim_value if len(dims) and dims[0].dim_value > 0 else 1
    for dim, size in zip(dims, (batch, *input_shape[1:])):
        dim.Clear()
        dim.dim_value = int(size)
    try:
        model = shape_inference.infer_shapes(model, data_prop=True)
    except onnx.shape_inference.InferenceError as error:
        return None, [f"shapes not inferred: {' '.join(str(error).split())[:80]}"]
    graph = model.graph
    shapes = {}
    for value in (*graph.input, *graph.value_info, *graph.output):
        shape = value.type.tensor_type.shape
        shapes[value.name] = [dim.dim_value if dim.HasField("dim_value") else None for dim in shape.dim]
    weights = {tensor.name for tensor in graph.initializer}
    for tensor in graph.initializer:
        shapes[tensor.name] = list(tensor.dims)
    total, not_counted = 0, set()
    for node in graph.node:
        if node.op_type not in ONNX_COUNTED:
            if weights.intersection(node.input):
                not_counted.add(node.op_type)
            continue
        macs = _node_macs(node, shapes)
        if macs is None:
            not_counted.add(f"{node.op_type} (shape unknown)")
        else:
            total += macs
    return total // batch, sorted(not_counted)


def _node_macs(node, shapes: dict[str, list]) -> int | None:
    """The MACs of one Conv, ConvTranspose, Gemm or MatMul node; None when a shape it needs is unknown."""
    def size(name: str, start: int = 0) -> int | None:
        dims = shapes.get(name)
        if dims is None or any(dim is None for dim in dims[start:]):
            return None
        return int(np.prod(dims[start:], dtype=np.int64))

    first, second, output = node.input[0], node.input[1], node.output[0]
    if node.op_type == "Conv":  # weights (out, in / groups, *kernel): each output element costs a kernel's slice
        counts = (size(output), size(second, 1))
    elif node.op_type == "ConvTranspose":  # weights (in, out / groups, *kernel): each input element scatters one
        counts = (size(first), size(second, 1))
    else:  # Gemm, MatMul: each output element is a dot product over the inner dimension
        transposed = node.op_type == "Gemm" and any(attribute.name == "transA" and attribute.i
                                                    for attribute in node.attribute)
        dims = shapes.get(first) or [None]
        inner = dims[-2 if transposed else -1] if len(dims) >= (2 if transposed else 1) else None
        counts = (size(output), inner)
    return None if None in counts else counts[0] * counts[1]
