"""Your own models: any Keras image classifier becomes a run folder, so it joins every page of the dashboard.

    python -m trainers.evaluate --import my_model.keras --dataset folder:path/to/images --name mine \\
        --input-scale 0-1 --class-names cat,dog,owl

The model is loaded in safe mode, tested on the data set's test split and
stored like a trained run: predictions, metrics, architecture, and a
`model.keras` that takes raw 0-255 pixels as the contract says (the input
scaling is put in front of the model, and a softmax behind it if the model
returns logits). It has no training history.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

# --input-scale -> (scale, offset) that turn raw 0-255 pixels into what the model was trained on.
INPUT_SCALES = {"0-255": (1.0, 0.0), "0-1": (1 / 255, 0.0), "-1-1": (1 / 127.5, -1.0)}
PRESET = "imported"


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


def import_model(model_path: Path, dataset_spec: str, store: Path, name: str, *, input_scale: str = "0-255",
                 class_names: list[str] | None = None, cache_dir: Path | None = None, author: str = "",
                 command: str = "") -> Path:
    """Tests a Keras classifier on a data set and stores it as a run; returns the run folder.

    Raises:
        ValueError: in one line, what does not fit (the file, its input, its outputs, its classes).
    """
    import getpass

    import keras

    from trainers.inference import architecture, machine
    from trainers.store import run_store
    from trainers.training.data import load_dataset
    from trainers.inference.predict import predict
    from trainers.inference.projection import add_test_map
    from trainers.training.evaluation import evaluate_into, record_hparams

    if input_scale not in INPUT_SCALES:
        raise ValueError(f"--input-scale must be one of {', '.join(INPUT_SCALES)}, got '{input_scale}'")
    model_path = Path(model_path)
    if model_path.suffix != ".keras" or not model_path.is_file():
        raise ValueError(f"'{model_path}' is not a .keras file (only Keras' own format loads in safe mode)")
    writer = run_store.RunWriter(store, name)
    if writer.final_path.exists() or writer.path.exists():
        raise ValueError(f"A run named '{name}' already exists in '{store}'; choose another --name")
    try:
        model = keras.models.load_model(model_path, compile=False, safe_mode=True)
    except Exception as error:  # noqa: BLE001 - a crafted or damaged file fails in many ways
        raise ValueError(f"'{model_path}' cannot be loaded in safe mode: {str(error).splitlines()[0]}") from None
    image_size = _square_rgb_size(model)
    dataset = load_dataset(dataset_spec, image_size=image_size, cache_dir=cache_dir)
    order = _class_order(class_names, dataset.class_names, int(model.output_shape[-1]))
    scale, offset = INPUT_SCALES[input_scale]
    sample = predict(model, dataset.test.images[:64].astype(np.float32) * scale + offset)
    shipped = shippable(model, input_scale, order, logits=returns_logits(sample))

    config = {"image_size": image_size, "input_scale": input_scale, "flip_tta": False, "shift_tta": 0,
              "model_classes": list(class_names or dataset.class_names)}
    writer.create(run_store.new_run_info(
        config, {**dataset.summary(), "limit": None}, kind=run_store.KIND_IMPORTED, preset=PRESET,
        author=author or getpass.getuser(), command=command, comment=f"imported from {model_path.name}", hardware=machine.hardware(),
        versions=machine.library_versions()))
    try:  # a failure half-way leaves nothing in the store, not even in .partial/
        run_store.save_test_images(store, dataset.test_key, dataset.test.ids, dataset.test.labels, dataset.test.images)
        shipped.save(writer.model_path)
        test_metrics = evaluate_into(writer.path, shipped, dataset)
        add_test_map(writer.path, shipped, dataset.test.ids, dataset.test.images)
        writer.write_architecture(architecture.describe(model, None, epochs_run=0))
        writer.history_path.write_text(",".join(run_store.HISTORY_COLUMNS) + "\n")  # no training: no epochs
        info = {**writer.read_info(), "finished_at": run_store.now(), "epochs_run": 0,
                "imported_from": str(model_path.resolve()), "test_accuracy": test_metrics["accuracy"]}
        writer.write_info(info)
        record_hparams(writer.path, info, test_metrics)
        return writer.commit()
    except BaseException:
        writer.discard()
        raise
