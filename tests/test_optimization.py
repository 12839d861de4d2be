"""The optimisers: SGD with a larger learning rate on the BatchNorm offsets, and lookahead's slow weights."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from trainers.presets import get_preset


def _tiny_bn_model(seed=0):
    import keras

    keras.utils.set_random_seed(seed)
    inputs = keras.Input((4,))
    x = keras.layers.Dense(3, name="dense")(inputs)
    x = keras.layers.BatchNormalization(scale=False, name="bn")(x)
    return keras.Model(inputs, keras.layers.Dense(2, name="out")(x))


def test_bias_scaled_sgd_speeds_up_only_the_batchnorm_offsets():
    from trainers.training.optimization import make_optimizer

    config = get_preset("cnn_air").with_overrides(schedule="constant", learning_rate=0.1, weight_decay=0.0,
                                                  momentum=0.0)
    x, y = np.random.default_rng(0).normal(size=(16, 4)), np.random.default_rng(1).normal(size=(16, 2))
    moved = {}
    for scale in (1.0, 64.0):
        model = _tiny_bn_model()
        before = {v.path: v.numpy().copy() for v in model.trainable_weights}
        model.compile(optimizer=make_optimizer(dataclasses.replace(config, bias_lr_scale=scale), steps=1), loss="mse")
        model.train_on_batch(x, y)
        moved[scale] = {v.path: v.numpy() - before[v.path] for v in model.trainable_weights}
    assert set(moved[1.0]) == {"dense/kernel", "dense/bias", "bn/beta", "out/kernel", "out/bias"}
    for path, step in moved[1.0].items():
        assert np.abs(step).max() > 0
        np.testing.assert_allclose(moved[64.0][path], step * (64 if path == "bn/beta" else 1), rtol=1e-4)
    with pytest.raises(ValueError, match="bias_lr_scale works with optimizer sgd only, got 'adam'"):
        get_preset("cnn_v4").with_overrides(optimizer="adam", bias_lr_scale=64)


@pytest.mark.slow  # trains (keras fit)
def test_lookahead_pulls_the_weights_back_to_their_running_average_and_ends_on_it():
    from trainers.training.optimization import Lookahead

    model = _tiny_bn_model()
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.random.default_rng(0).normal(size=(40, 4)), np.random.default_rng(1).normal(size=(40, 2))
    lookahead = Lookahead(total_steps=10, every=5)
    start = [v.numpy().copy() for v in model.weights]
    model.fit(x, y, batch_size=4, epochs=1, verbose=0, shuffle=False, callbacks=[lookahead])
    # Every float variable takes part (BatchNorm's moving statistics too), and training ends on the slow weights.
    assert len(lookahead._variables) == len(model.weights) == 7
    changed = set()
    for variable, slow, first in zip(model.weights, lookahead._slow, start, strict=True):
        np.testing.assert_array_equal(variable.numpy(), slow)
        if not np.allclose(slow, first):
            changed.add(variable.path)
    assert {"dense/kernel", "bn/beta", "bn/moving_mean", "bn/moving_variance", "out/kernel"} <= changed
    # One update moves the slow weights (1 - decay) of the way to the fast ones, and the fast ones onto them.
    fast = [slow + 1.0 for slow in lookahead._slow]
    expected = [slow + 0.25 * (f - slow) for slow, f in zip(lookahead._slow, fast)]
    for variable, value in zip(lookahead._variables, fast):
        variable.assign(value)
    lookahead._update(decay=0.75)
    for variable, value in zip(lookahead._variables, expected, strict=True):
        np.testing.assert_allclose(variable.numpy(), value, rtol=1e-6)
