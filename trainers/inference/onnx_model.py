"""An ONNX model as a run's model: ONNX Runtime (CPU) behind the calls that `predict` and `explain` make of a Keras
model.

The run stores the model as one file (`model.onnx`); run.json's config records what the contract's raw 0-255 pixels
become before it (`Preprocessing`: input scale, per-channel normalisation, layout), whether it returns logits, and
the order of its classes. `OnnxClassifier` applies them, so the model predicts the same at evaluation and on the
Live page. onnxruntime is imported when a model is loaded: the dashboard imports this module without paying for it.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from trainers.inference.preprocessing import Preprocessing
from trainers.store import run_store

# The ONNX input types a model may take pixels as -> the NumPy type they are given in.
INPUT_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(double)": np.float64}


def runs_on_onnx(run: run_store.Run) -> bool:
    """Whether the run's model is an ONNX model (run by ONNX Runtime, not Keras)."""
    return run.model_path is not None and run.model_path.name == run_store.ONNX_MODEL_FILE


def shape_text(dims) -> str:
    """An ONNX shape as a message shows it: fixed sizes as numbers, dynamic ones by their name (or ?)."""
    return "(" + ", ".join("?" if dim is None else str(dim) for dim in dims) + ")"


def fixed(dim) -> int | None:
    """The size of an ONNX dimension that is fixed, None for a dynamic one (a name, unknown, or 0)."""
    return dim if isinstance(dim, int) and dim > 0 else None


def _graph_tensors(graph):
    """Every tensor a graph holds: initializers (sparse ones too) and node attributes, subgraphs included."""
    yield from graph.initializer
    for sparse in graph.sparse_initializer:
        yield from (sparse.values, sparse.indices)
    for node in graph.node:
        yield from _attribute_tensors(node.attribute)


def _attribute_tensors(attributes):
    """Every tensor node attributes hold (a Constant's value, an If's branches...), subgraphs included."""
    for attribute in attributes:
        if attribute.HasField("t"):
            yield attribute.t
        yield from attribute.tensors
        for sparse in (*([attribute.sparse_tensor] if attribute.HasField("sparse_tensor") else []),
                       *attribute.sparse_tensors):
            yield from (sparse.values, sparse.indices)
        for graph in (*([attribute.g] if attribute.HasField("g") else []), *attribute.graphs):
            yield from _graph_tensors(graph)


def parameter_count(path: str | os.PathLike) -> int:
    """The number of learned values of an ONNX model: the elements of its floating-point initializers (its
    weights and biases, as a framework counts parameters; integer ones are shapes and indices), read from the graph
    without its weights."""
    import onnx  # deferred: only an import needs it
    from onnx import TensorProto

    floats = {TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.BFLOAT16, TensorProto.DOUBLE}
    graph = onnx.load(str(path), load_external_data=False).graph
    return sum(int(np.prod(tensor.dims, dtype=np.int64)) for tensor in graph.initializer if tensor.data_type in floats)


def external_data_files(path: str | os.PathLike) -> list[Path]:
    """The files beside an ONNX model that hold its weights ("external data", as `torch.onnx.export(...,
    dynamo=True)` writes `mine.onnx.data`), each once, in the order the graph names them; [] for a model in one
    file, or a file ONNX cannot parse (`open_session` says why).

    Raises:
        ValueError: a file is named outside the model's folder, or is missing; in one line naming it.
    """
    import onnx  # deferred: only an import, or a model that fails to open, needs it
    from onnx.external_data_helper import ExternalDataInfo, uses_external_data

    path = Path(path)
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception:  # noqa: BLE001 - not an ONNX file: nothing to name here
        return []
    tensors = [*_graph_tensors(model.graph),
               *(tensor for function in model.functions for node in function.node
                 for tensor in _attribute_tensors(node.attribute))]
    folder = path.resolve().parent
    files = []
    for tensor in tensors:
        if not uses_external_data(tensor):
            continue
        location = ExternalDataInfo(tensor).location
        file = (folder / location).resolve()
        if not location or Path(location).is_absolute() or not file.is_relative_to(folder):
            raise ValueError(f"the model's weights file '{location}' (tensor {tensor.name}) is not inside its "
                             f"folder {folder}: it is refused")
        if not file.is_file():
            raise ValueError(f"the model keeps its weights in a file beside it that is missing: {folder / location}")
        if file not in files:
            files.append(file)
    return files


def open_session(path: str | os.PathLike):
    """An ONNX Runtime session on the CPU for a classifier of images: one float input, one output.

    Raises:
        ValueError: in one line, why the file cannot be used (not an ONNX file, damaged, its weights file missing,
            an operator ONNX Runtime lacks, not one float input, not one output).
    """
    import onnxruntime  # deferred: only a run with an ONNX model needs it

    options = onnxruntime.SessionOptions()
    # One model runs at a time: its operators get the cores this process may use (a container's share, not the
    # host's), and no pool runs operators side by side. No spinning between calls: the dashboard's other work runs
    # on the same cores.
    options.intra_op_num_threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 0
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3  # errors only: warnings (an unused initializer...) are not the user's to fix
    try:
        session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as error:  # noqa: BLE001 - a damaged or foreign file fails in many ways
        external_data_files(path)  # a weights file missing or outside its folder, named in plain words
        cause = " ".join(str(error).split())
        raise ValueError(f"'{Path(path).name}' cannot be read as an ONNX model: {cause}") from None
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if len(inputs) != 1:
        raise ValueError(f"the model takes {len(inputs)} inputs ({', '.join(i.name for i in inputs)}), not one batch "
                         "of images")
    if inputs[0].type not in INPUT_TYPES:
        raise ValueError(f"the model takes {inputs[0].type} input, not float pixels (float, float16 or double)")
    if len(outputs) != 1:
        raise ValueError(f"the model returns {len(outputs)} outputs ({', '.join(o.name for o in outputs)}), not one "
                         "of class scores")
    return session


class OnnxClassifier:
    """An ONNX model behind the calls `predict` and `explain` make: raw 0-255 RGB pixels in, probabilities out.

    Args:
        session: the model's session (`open_session`).
        preprocessing: what the pixels become before the model.
        image_size: the side of the square images it takes.
        logits: the model returns logits: a softmax makes them probabilities.
        order: for each of the data set's classes, the output that scores it; None keeps the model's order.

    Example:
        >>> model = OnnxClassifier(open_session("resnet.onnx"), Preprocessing("0-1", "NCHW"), image_size=224,
        ...                        logits=True)
        >>> predict(model, images).sum(axis=1)  # probabilities
    """

    def __init__(self, session, preprocessing: Preprocessing, *, image_size: int, logits: bool = False,
                 order=None):
        self.session = session
        self.preprocessing = preprocessing
        self.image_size = int(image_size)
        self.logits = logits
        self.order = None if order is None else np.asarray(order, np.int64)
        model_input, = session.get_inputs()
        self._input_name, self._input_type = model_input.name, INPUT_TYPES[model_input.type]
        # A batch dimension fixed in the graph (1, as many exporters write it): the images go in batches of that size.
        self._batch = fixed(model_input.shape[0]) if model_input.shape else None
        self._output_name = session.get_outputs()[0].name
        outputs = session.get_outputs()[0].shape
        self._outputs = len(self.order) if self.order is not None else fixed(outputs[-1]) if outputs else None

    @classmethod
    def of_run(cls, run: run_store.Run) -> OnnxClassifier:
        """The run's model, preprocessed and ordered as its run.json's config records (see
        `trainers.training.model_import.import_onnx`)."""
        config = run.config
        model_classes = config.get("model_classes") or run.class_names
        return cls(open_session(run.model_path), Preprocessing.from_config(config), image_size=run.image_size,
                   logits=bool(config["logits"]), order=[model_classes.index(name) for name in run.class_names])

    @property
    def input_shape(self) -> tuple:
        """The pixels it takes, as a Keras model gives its input shape (whatever the ONNX model's layout)."""
        return (None, self.image_size, self.image_size, 3)

    @property
    def output_shape(self) -> tuple:
        return (None, self._outputs)

    def predict_on_batch(self, images: np.ndarray) -> np.ndarray:
        """Probabilities (N, C) float32 for raw 0-255 pixels (N, H, W, 3); the model's own outputs, unordered,
        for a classifier made without `logits` and `order` (how an import finds out what it returns)."""
        inputs = self.preprocessing(images, self._input_type)
        step = self._batch or max(1, len(inputs))
        scores = []
        for start in range(0, len(inputs), step):
            batch = inputs[start:start + step]
            count = len(batch)
            if count < step:  # the last images for a fixed batch size, filled up with blank ones
                batch = np.concatenate([batch, np.zeros((step - count, *batch.shape[1:]), batch.dtype)])
            scores.append(self.session.run([self._output_name], {self._input_name: batch})[0][:count])
        if not scores:
            return np.zeros((0, self._outputs or 0), np.float32)
        scores = np.concatenate(scores).astype(np.float32)
        if self.logits:
            from scipy.special import softmax  # deferred: scipy takes a moment to import

            scores = softmax(scores, axis=1)
        return scores if self.order is None else scores[:, self.order]

