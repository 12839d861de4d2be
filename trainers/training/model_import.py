"""Your own models: any Keras or ONNX image classifier becomes a run folder, so it joins every page of the dashboard.

    python -m trainers.evaluate --import my_model.keras --dataset folder:path/to/images --name mine \\
        --input-scale 0-1 --class-names cat,dog,owl
    python -m trainers.evaluate --import resnet.onnx --dataset folder:path/to/images --name torch-resnet \\
        --input-scale 0-1 --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225

Either is tested on the data set's test split and stored like a trained run:
predictions, metrics, architecture (none for ONNX), and the model, which
takes raw 0-255 pixels as the contract says. A Keras model is loaded in safe
mode and saved as `model.keras` with its input scaling put in front of it and
a softmax behind it if it returns logits. An ONNX model (what
`torch.onnx.export` or Keras' `model.export(format="onnx")` write) is stored
unchanged as `model.onnx`, its weights folded into it when the graph keeps
them in files beside it (`dynamo=True` writes `mine.onnx.data`): its input
scale, normalisation and layout (read from its input shape where it is
unambiguous) are recorded in run.json's config, where
`trainers.inference.onnx_model` reads them. It has no training history.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from trainers.inference.onnx_model import fixed, shape_text
from trainers.inference.preprocessing import INPUT_SCALES, NCHW, NHWC, Preprocessing

PRESET = "imported"
# Protobuf serialises at most 2 GB: an ONNX model over it cannot be one file.
PROTOBUF_LIMIT = 2**31 - 1
# Test images a model is first run on, to tell logits from probabilities and count its outputs.
SAMPLE_IMAGES = 64


def _square_rgb_size(model) -> int:
    """The side of the square RGB images the model takes; ValueError naming its input shape otherwise."""
    shape = tuple(model.input_shape)
    if len(shape) != 4 or shape[3] != 3 or shape[1] is None or shape[1] != shape[2]:
        raise ValueError(f"the model takes inputs of shape {shape}, not square RGB images (None, N, N, 3)")
    return int(shape[1])


def _class_order(model_classes: list[str] | None, dataset_classes: list[str], outputs: int) -> np.ndarray:
    """For each of the data set's classes, the model output that scores it; ValueError when they do not fit."""
    model_classes = list(model_classes or dataset_classes)
    if outputs != len(model_classes):
        raise ValueError(f"the model returns {outputs} outputs, but {len(model_classes)} classes are named "
                         f"({', '.join(model_classes)})")
    if sorted(model_classes) != sorted(dataset_classes):
        raise ValueError(f"the model's classes ({', '.join(model_classes)}) are not the data set's "
                         f"({', '.join(dataset_classes)})")
    return np.array([model_classes.index(name) for name in dataset_classes])


def shippable(model, input_scale: str, order: np.ndarray, *, logits: bool):
    """The model behind the contract's input (raw 0-255 pixels) and output (probabilities in the data set's order)."""
    import keras

    scale, offset = INPUT_SCALES[input_scale]
    inputs = keras.Input(model.input_shape[1:], name="pixels")
    x = keras.layers.Rescaling(scale, offset, name="input_scale")(inputs) if input_scale != "0-255" else inputs
    x = model(x)
    if logits:
        x = keras.layers.Activation("softmax", dtype="float32", name="probabilities")(x)
    if not np.array_equal(order, np.arange(len(order))):
        x = keras.ops.take(x, order, axis=1)
    return keras.Model(inputs, x, name=f"imported_{model.name}")


def returns_logits(probabilities: np.ndarray) -> bool:
    """Whether a model's outputs are logits rather than probabilities (negative, or rows not summing to 1)."""
    return bool((probabilities < 0).any() or not np.allclose(probabilities.sum(axis=1), 1, atol=1e-3))


def _checked_new_run(model_path: Path, suffix: str, store: Path, name: str) -> None:
    """Refuses, before any model loads, a file that is not one of `suffix` (ValueError) and a name taken in the store
    (FileExistsError naming a free one)."""
    from trainers.store import run_store

    if model_path.suffix != suffix or not model_path.is_file():
        raise ValueError(f"'{model_path}' is not a {suffix} file")
    run_store.claimed_writer(store, name, start_over=None)


def _store_import(store: Path, name: str, model_path: Path, dataset, config: dict, *, model_file: str,
                  ship: Callable[[run_store.RunWriter], object], architecture: dict, hardware: dict, versions: dict,
                  author: str, command: str) -> Path:
    """Writes an imported model's run: `ship(writer)` writes its model file into the run and returns the model
    that is tested. A failure half-way leaves nothing in the store, not even in .partial/."""
    import getpass

    from trainers.inference.projection import add_test_map
    from trainers.store import run_store
    from trainers.training.evaluation import evaluate_into, record_hparams

    info = run_store.new_run_info(
        config, {**dataset.summary(), "limit": None}, kind=run_store.KIND_IMPORTED, preset=PRESET,
        author=author or getpass.getuser(), command=command, comment=f"imported from {model_path.name}",
        hardware=hardware, versions=versions, model_file=model_file)
    with run_store.written_run(store, name, info, start_over=None) as writer:
        run_store.save_test_images(writer.store, dataset.test_key, dataset.test.ids, dataset.test.labels,
                                   dataset.test.images)
        shipped = ship(writer)
        test_metrics = evaluate_into(writer.path, shipped, dataset)
        add_test_map(writer.path, shipped, dataset.test.ids, dataset.test.images)
        writer.write_architecture(architecture)
        writer.history_path.write_text(",".join(run_store.HISTORY_COLUMNS) + "\n")  # no training: no epochs
        info = writer.finish(epochs_run=0, training_seconds=None, test_accuracy=test_metrics["accuracy"],
                             imported_from=str(model_path.resolve()))
        record_hparams(writer.path, info, test_metrics)
    return writer.final_path


def import_model(model_path: Path, dataset_spec: str, store: Path, name: str, *, input_scale: str = "0-255",
                 class_names: list[str] | None = None, cache_dir: Path | None = None, author: str = "",
                 command: str = "") -> Path:
    """Tests a Keras classifier on a data set and stores it as a run; returns the run folder.

    Raises:
        ValueError: in one line, what does not fit (the file, its input, its outputs, its classes).
    """
    import keras

    from trainers.inference import architecture, machine
    from trainers.inference.predict import predict
    from trainers.store import run_store
    from trainers.training.data import load_dataset

    if input_scale not in INPUT_SCALES:
        raise ValueError(f"--input-scale must be one of {', '.join(INPUT_SCALES)}, got '{input_scale}'")
    model_path = Path(model_path)
    _checked_new_run(model_path, ".keras", store, name)
    try:
        model = keras.models.load_model(model_path, compile=False, safe_mode=True)
    except Exception as error:  # noqa: BLE001 - a crafted or damaged file fails in many ways
        raise ValueError(f"'{model_path}' cannot be loaded in safe mode: {str(error).splitlines()[0]}") from None
    image_size = _square_rgb_size(model)
    dataset = load_dataset(dataset_spec, image_size=image_size, cache_dir=cache_dir)
    order = _class_order(class_names, dataset.class_names, int(model.output_shape[-1]))
    scale, offset = INPUT_SCALES[input_scale]
    sample = predict(model, dataset.test.images[:SAMPLE_IMAGES].astype(np.float32) * scale + offset)
    shipped = shippable(model, input_scale, order, logits=returns_logits(sample))

    def ship(writer: run_store.RunWriter):
        shipped.save(writer.model_path)
        return shipped

    config = {"image_size": image_size, "input_scale": input_scale,
              "model_classes": list(class_names or dataset.class_names)}
    return _store_import(store, name, model_path, dataset, config, model_file=run_store.MODEL_FILE, ship=ship,
                         architecture=architecture.describe(model, None, epochs_run=0),
                         hardware=machine.hardware(), versions=machine.library_versions(), author=author, command=command)


def input_layout(dims, layout: str | None) -> str:
    """Where an ONNX model's input has its colour channels: `layout` when given, else read from its shape where
    it says so (3 after the batch dimension and not last: NCHW; last and not after the batch: NHWC).

    Raises:
        ValueError: the input is not a batch of images (4 dimensions), its shape does not say and `layout` is not
            given, or it contradicts `layout`; in one line.
    """
    if len(dims) != 4:
        raise ValueError(f"the model's input has shape {shape_text(dims)}, not a batch of images (4 dimensions)")
    first, last = dims[1] == 3, dims[3] == 3
    if layout is None:
        if first == last:
            raise ValueError(f"the model's input shape {shape_text(dims)} does not say where the colour channels "
                             "are: give --layout NCHW or NHWC")
        return NCHW if first else NHWC
    channels = dims[1] if layout == NCHW else dims[3]
    if fixed(channels) not in (None, 3):
        raise ValueError(f"with --layout {layout}, the model's input {shape_text(dims)} has {channels} channels, "
                         "not 3 (RGB)")
    return layout


def input_size(dims, layout: str, image_size: int | None) -> int:
    """The side of the square images an ONNX model takes: its input's, else (a dynamic size) `image_size`.

    Raises:
        ValueError: the input is not square, `image_size` contradicts it, or it is dynamic and `image_size` is
            not given; in one line.
    """
    height, width = dims[2:4] if layout == NCHW else dims[1:3]
    sides = {fixed(side) for side in (height, width)} - {None}
    if len(sides) > 1:
        raise ValueError(f"the model takes {height} x {width} images (input {shape_text(dims)}), not square ones")
    if sides:
        side = sides.pop()
        if image_size and image_size != side:
            raise ValueError(f"the model takes {side} x {side} images (input {shape_text(dims)}), not "
                             f"--image-size {image_size}")
        return side
    if not image_size:
        raise ValueError(f"the model takes images of any size (input {shape_text(dims)}): give --image-size, the "
                         "side it was trained on")
    return image_size


def import_onnx(model_path: Path, dataset_spec: str, store: Path, name: str, *, input_scale: str = "0-255",
                layout: str | None = None, mean: Sequence[float] = (0.0, 0.0, 0.0),
                std: Sequence[float] = (1.0, 1.0, 1.0), image_size: int | None = None,
                class_names: list[str] | None = None, cache_dir: Path | None = None, author: str = "",
                command: str = "") -> Path:
    """Tests an ONNX classifier on a data set and stores it, unchanged, as a run; returns the run folder. Weights
    the graph keeps in files beside it (external data) are folded into the run's one model file.

    Args:
        input_scale: the pixel range it was trained on (INPUT_SCALES).
        layout: NCHW or NHWC; None reads it from the input shape, where the 3 channels are in one place only.
        mean, std: per channel (R, G, B), applied after the input scaling, as torchvision's Normalize on 0-1 images.
        image_size: the side of the images, for a model whose input size is dynamic; else its input's.
        class_names: the classes of its outputs, in order (default: the data set's, sorted).

    Raises:
        ValueError: in one line, what does not fit (the file, its weights file, its input, its outputs, its
            classes, the flags).
    """
    import onnx
    import onnxruntime

    from trainers.inference import machine
    from trainers.inference.onnx_model import OnnxClassifier, external_data_files, open_session, parameter_count
    from trainers.inference.predict import load_model, predict
    from trainers.store import run_store
    from trainers.training.data import load_dataset

    Preprocessing(input_scale, layout or NHWC, mean=mean, std=std)  # the flags are checked before the model loads
    model_path = Path(model_path)
    _checked_new_run(model_path, ".onnx", store, name)
    weights = external_data_files(model_path)  # refuses a missing weights file, or one outside its folder
    size = model_path.stat().st_size + sum(file.stat().st_size for file in weights)
    if weights and size > PROTOBUF_LIMIT:
        raise ValueError(f"the model and its weights ({', '.join(file.name for file in weights)}) take "
                         f"{size / 2**30:.1f} GB, over the 2 GB one ONNX file can hold")
    session = open_session(model_path)
    dims = session.get_inputs()[0].shape
    layout = input_layout(dims, layout)
    image_size = input_size(dims, layout, image_size)
    preprocessing = Preprocessing(input_scale, layout, mean=mean, std=std)
    dataset = load_dataset(dataset_spec, image_size=image_size, cache_dir=cache_dir)
    try:
        sample = predict(OnnxClassifier(session, preprocessing, image_size=image_size),
                         dataset.test.images[:SAMPLE_IMAGES])
    except Exception as error:  # noqa: BLE001 - ONNX Runtime says what does not fit in its own exceptions
        raise ValueError(f"the model cannot run on {image_size} x {image_size} images laid out {layout}: "
                         f"{' '.join(str(error).split())}") from None
    if sample.ndim != 2:
        raise ValueError(f"the model returns {sample.shape[1:]} per image, not one score per class")
    # Refuses classes that do not fit; the run's model orders its outputs by the model_classes recorded.
    _class_order(class_names, dataset.class_names, sample.shape[1])

    def ship(writer: run_store.RunWriter):
        # Tested as every later reader loads it: the file copied into the run, preprocessed as run.json says.
        # Weights kept beside the graph are folded into it rather than copied next to it: the run keeps the one
        # model file its contract names, which every reader (and anyone moving the run) handles as it is; the
        # files' names and paths need no checks beyond the import's; and under 2 GB, as checked above, it fits.
        path = writer.path / run_store.ONNX_MODEL_FILE
        if weights:
            onnx.save_model(onnx.load(str(model_path)), str(path))
        else:
            shutil.copyfile(model_path, path)
        return load_model(run_store.Run(writer.path, writer.read_info()))

    config = {"image_size": image_size, **preprocessing.config(), "logits": returns_logits(sample),
              "model_classes": list(class_names or dataset.class_names)}
    return _store_import(store, name, model_path, dataset, config, model_file=run_store.ONNX_MODEL_FILE, ship=ship,
                         architecture=run_store.without_layers(epochs=0, total_params=parameter_count(model_path)),
                         # ONNX Runtime runs it: the GPUs TensorFlow would see say nothing, and it is not imported
                         hardware=machine.hardware(count_gpus=False),
                         versions={**machine.loaded_library_versions(), "onnxruntime": onnxruntime.__version__},
                         author=author, command=command)
