"""How weights move: the configured optimizer, its learning-rate schedule, and lookahead."""

from __future__ import annotations

import keras
import numpy as np

from trainers.presets import TrainConfig


class BiasScaledSGD(keras.optimizers.SGD):
    """Nesterov SGD whose BatchNorm offsets (variables named "beta") take `bias_lr_scale` times larger steps.

    Decoupled weight decay still uses the base learning rate, as in airbench.
    Used for training only: the shipped model is saved without its optimizer.
    """

    def __init__(self, *args, bias_lr_scale: float = 1.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.bias_lr_scale = bias_lr_scale

    def build(self, variables):
        super().build(variables)
        # Keyed as the backend keys them: TensorFlow's update step sees the raw tf.Variable, not the Keras one.
        self._scaled_keys = {self._var_key(v) for v in variables if v.name == "beta"}

    def update_step(self, gradient, variable, learning_rate):
        if self._var_key(variable) in self._scaled_keys:  # decided once, when the training step is traced
            learning_rate = learning_rate * self.bias_lr_scale
        super().update_step(gradient, variable, learning_rate)

    def get_config(self):
        return {**super().get_config(), "bias_lr_scale": self.bias_lr_scale}


def make_optimizer(config: TrainConfig, steps: int, learning_rate: float | None = None) -> keras.optimizers.Optimizer:
    """The configured optimizer with its learning-rate schedule over `steps` steps."""
    peak = learning_rate or config.learning_rate
    if config.schedule == "onecycle":
        warmup = max(1, int(steps * config.warmup_fraction))
        rate = keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=peak / 10, decay_steps=max(1, steps - warmup), alpha=0.0,
            warmup_target=peak, warmup_steps=warmup,
        )
    elif config.schedule == "cosine":
        rate = keras.optimizers.schedules.CosineDecay(peak, decay_steps=max(1, steps))
    else:
        rate = peak
    decay = config.weight_decay or None
    if config.optimizer == "adam":
        return keras.optimizers.Adam(rate, weight_decay=decay)
    if config.optimizer == "adamw":
        return keras.optimizers.AdamW(rate, weight_decay=config.weight_decay or 1e-4)
    if config.optimizer == "rmsprop":
        return keras.optimizers.RMSprop(rate, weight_decay=decay)
    if config.bias_lr_scale != 1:
        return BiasScaledSGD(rate, momentum=config.momentum, nesterov=True, weight_decay=decay,
                             bias_lr_scale=config.bias_lr_scale)
    return keras.optimizers.SGD(rate, momentum=config.momentum, nesterov=True, weight_decay=decay)


def compile_model(model, config: TrainConfig, steps: int, learning_rate: float | None = None) -> None:
    """Compiles with the configured optimizer, schedule and (label-smoothed) categorical cross-entropy."""
    model.compile(
        optimizer=make_optimizer(config, steps, learning_rate),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
        metrics=["accuracy"],
    )


class Lookahead(keras.callbacks.Callback):
    """airbench94's lookahead: every `every` steps, slow = slow + (1 - decay) * (weights - slow); weights = slow.

    decay grows as 0.95**5 * (step / total_steps)**3, so the weights follow the
    fast steps early and average over more of them as the learning rate falls;
    training ends on the slow weights. Every float variable takes part,
    BatchNorm's moving statistics too. A resumed run restarts the average from
    the restored weights (at most `every` - 1 steps behind the slow ones).
    """

    def __init__(self, total_steps: int, every: int = 5):
        super().__init__()
        self.total_steps = total_steps
        self.every = every

    def on_train_begin(self, logs=None):
        # After BackupAndRestore's on_train_begin, so a resumed run starts from the restored weights and step.
        self._variables = [v for v in self.model.weights if "float" in str(v.dtype)]
        self._slow = [np.array(v.numpy()) for v in self._variables]
        self._step = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))

    def on_train_batch_end(self, batch, logs=None):
        self._step += 1
        if self._step % self.every == 0:
            self._update(0.95 ** 5 * min(1.0, self._step / self.total_steps) ** 3)

    def on_train_end(self, logs=None):
        self._update(1.0)

    def _update(self, decay: float) -> None:
        for variable, slow in zip(self._variables, self._slow):
            slow += (1 - decay) * (variable.numpy() - slow)
            variable.assign(slow)
