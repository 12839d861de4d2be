"""What a model is made of: Keras' per-layer table and the study's summary row."""

from __future__ import annotations

import keras

from trainers.presets import TrainConfig


def _all_layers(model: keras.Model):
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from _all_layers(layer)


def _output_shape(layer) -> str:
    try:
        shape = layer.output.shape
    except (AttributeError, ValueError):
        return "?"
    return str(tuple(shape))


def layer_table(model: keras.Model) -> list[dict]:
    """One row per top-level layer, as `model.summary()` shows it: name, type, output shape, params."""
    return [
        {
            "name": layer.name,
            "type": type(layer).__name__,
            "output_shape": _output_shape(layer),
            "params": int(layer.count_params()),
            "trainable": bool(layer.trainable),
        }
        for layer in model.layers
    ]


def summary_row(model: keras.Model, config: TrainConfig | None, epochs_run: int) -> dict:
    """The study's comparison columns for one model (nested bases counted layer by layer); how it was trained
    is unknown (None) for a model imported without its configuration."""
    every_layer = [layer for layer in _all_layers(model) if not isinstance(layer, (keras.Model, keras.layers.InputLayer))]
    trainable = sum(int(keras.ops.size(w)) for w in model.trainable_weights)
    has_batch_norm = any(isinstance(layer, keras.layers.BatchNormalization) for layer in every_layer)
    return {
        "total_layers": len(every_layer),
        "conv_layers": sum(isinstance(layer, keras.layers.Conv2D) for layer in every_layer),
        "dense_layers": sum(isinstance(layer, keras.layers.Dense) for layer in every_layer),
        "total_params": int(model.count_params()),
        "trainable_params": trainable,
        "augmentation": config.augmentation if config else None,
        "batch_norm": (config.batch_norm if config else False) or has_batch_norm,
        "dropout": config.dropout if config else None,
        "optimizer": (config.optimizer + (" + lookahead" if config.lookahead else "")) if config else None,
        "loss": _loss(config) if config else None,
        "epochs": epochs_run,
    }


def _loss(config: TrainConfig) -> str:
    """'categorical_crossentropy', with what shapes its targets: teachers (distillation), smoothing."""
    shaping = []
    if config.teachers:
        count = len(config.teachers)
        share = f" at weight {config.teacher_weight:g}" if config.teacher_weight != 1 else ""
        shaping.append(f"targets of {count} teacher{'s' if count > 1 else ''}{share}")
    if config.label_smoothing:
        shaping.append(f"smoothing {config.label_smoothing}")
    return "categorical_crossentropy" + (f" ({', '.join(shaping)})" if shaping else "")


def describe(model: keras.Model, config: TrainConfig | None, epochs_run: int) -> dict:
    return {"layers": layer_table(model), "summary": summary_row(model, config, epochs_run)}
