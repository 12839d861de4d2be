"""Training speed on this machine, measured on a few batches: the precision to train in, and the epochs a time allows.

`train` runs a `speed_trial` before fitting when the configuration asks for
`precision="auto"` or a `time_budget`: the real model's training step, timed
in each precision, then `fastest_precision` keeps one and `epochs_within`
sizes the schedule. Which CPU gains from bfloat16 cannot be told from its
flags (CPUs with the same AVX-512 BF16 flag train faster or slower in it:
docs/results.md), so it is measured.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass

import numpy as np

from trainers.training.models import build_model
from trainers.training.optimization import compile_model
from trainers.presets import TrainConfig

# What "auto" chooses between (see trainers.training.models for bfloat16_matmuls). mixed_float16 is left out: CPUs have
# no fast float16 path.
CANDIDATE_PRECISIONS = ("float32", "mixed_bfloat16", "bfloat16_matmuls")
# bfloat16 rounds what it computes: it has to beat float32 by more than the noise of a few timed steps.
BFLOAT16_MARGIN = 0.05
# A validation image costs a forward pass, about a third of a training step's forward and backward passes.
VALIDATION_COST = 1 / 3


@dataclass(frozen=True)
class SpeedTrial:
    """What a speed trial measured, by precision: training images per second, and the seconds the first step
    took beyond a steady one (tracing the step, choosing the CPU's kernels). `seconds` is the trial's own wall time.
    """

    images_per_second: dict[str, float]
    compile_seconds: dict[str, float]
    seconds: float

    def to_dict(self) -> dict:
        """As run.json records it (under "speed_trial")."""
        return {"images_per_second": self.images_per_second, "compile_seconds": self.compile_seconds,
                "seconds": self.seconds}


def fastest_precision(images_per_second: dict[str, float], *, margin: float = BFLOAT16_MARGIN) -> str:
    """The precision that trains fastest; float32 unless another is more than `margin` faster.

    Args:
        images_per_second: measured speed by precision name; must include "float32".
        margin: the share by which another precision must beat float32 (0.05: 5% more images per second).

    Example:
        >>> fastest_precision({"float32": 100.0, "mixed_bfloat16": 180.0})
        'mixed_bfloat16'
        >>> fastest_precision({"float32": 100.0, "mixed_bfloat16": 104.0})
        'float32'
    """
    if "float32" not in images_per_second:
        raise ValueError(f"a speed trial without float32 to compare with: {sorted(images_per_second)}")
    fastest = max(images_per_second, key=images_per_second.get)
    return fastest if images_per_second[fastest] > images_per_second["float32"] * (1 + margin) else "float32"


def epochs_within(seconds: float, images_per_second: float, train_images: int, validation_images: int) -> int:
    """How many epochs, each a pass over the training images and one over the validation images, fit in `seconds`.

    At least one: a budget too small for an epoch still trains one.

    Example:
        >>> epochs_within(600, images_per_second=500, train_images=45_000, validation_images=3_000)
        6
    """
    seconds_per_epoch = (train_images + validation_images * VALIDATION_COST) / images_per_second
    return max(1, math.floor(seconds / seconds_per_epoch))


def speed_trial(config: TrainConfig, images: np.ndarray, num_classes: int, *, precisions=CANDIDATE_PRECISIONS,
                steps: int = 3) -> SpeedTrial:
    """Times the configuration's training step in each precision, on one batch of its training images.

    Each model is built and compiled as training builds it and takes two warm-up steps (tracing, then the
    CPU's kernels chosen); then `steps` rounds time one step of each precision in turn, so a machine that
    slows down part-way slows every precision alike. The median step counts.

    Args:
        images: uint8 training images; the first `config.batch_size` make the batch.
        precisions: the precisions to time (values of TrainConfig.precision).

    Returns:
        The speeds by precision.
    """
    start = time.perf_counter()
    batch = images[: config.batch_size].astype(np.float32)
    labels = np.eye(num_classes, dtype=np.float32)[np.arange(len(batch)) % num_classes]
    models, first_step = {}, {}
    for precision in precisions:
        model = build_model(dataclasses.replace(config, precision=precision), num_classes)
        compile_model(model, config, steps=1000)
        began = time.perf_counter()
        model.train_on_batch(batch, labels)
        first_step[precision] = time.perf_counter() - began
        model.train_on_batch(batch, labels)
        models[precision] = model
    step_seconds = {precision: [] for precision in models}
    for _ in range(steps):
        for precision, model in models.items():
            began = time.perf_counter()
            model.train_on_batch(batch, labels)
            step_seconds[precision].append(time.perf_counter() - began)
    steady = {precision: float(np.median(times)) for precision, times in step_seconds.items()}
    return SpeedTrial({precision: len(batch) / steady[precision] for precision in models},
                      {precision: max(0.0, first_step[precision] - steady[precision]) for precision in models},
                      time.perf_counter() - start)
