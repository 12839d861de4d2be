"""Training throughput: the project's trainer against the Keras a user would write, side by side in one process.

    python benchmarks/train_throughput.py
    python benchmarks/train_throughput.py --presets cnn_v4 --per-class 200 --epochs 4
    python benchmarks/train_throughput.py --precision float32    # the trainer's own cost, as on a CPU
                                                                 # where bfloat16 does not pay

For each preset, training images per second of
  (a) the Keras guides' way: the preset's network (augmentation layers inside it) in float32, compiled with
      its optimizer and loss, `model.fit` on NumPy arrays at the preset's batch size with `validation_split`;
  (b) the project's trainer (`trainers.training.fit.train`) on the same images and validation images: its
      precision ("auto": a speed trial keeps the fastest), tf.data pipeline, callbacks, lookahead.
Both count steady state: the first epoch (tracing) is left out, and every later one is timed whole,
validation and end-of-epoch callbacks included; (a) runs before and after (b), and counts their mean. The trainer's speed trial, before its first epoch, is
reported apart. The data: the CIFAR-10 JPEG copy (../shared/datasets/cifar10-jpeg) when it is there,
else random images of the same shape. Absolute figures on a shared machine are noisy; the ratio, measured
minutes apart in one process, is the figure to quote. The last line holds the figures as key=value pairs.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from benchmarks.common import CIFAR10_COPY, key_values  # noqa: E402
from trainers.presets import PRECISIONS  # noqa: E402

PRESETS = ("cnn_v3", "cnn_v4", "cnn_air")


def steady_images_per_second(epoch_starts: list[float], end: float, images_per_epoch: int) -> float:
    """Images per second over every epoch but the first, from the times each epoch began and training ended.

    Example:
        >>> steady_images_per_second([0.0, 40.0, 60.0], 80.0, images_per_epoch=1000)
        50.0
    """
    if len(epoch_starts) < 2:
        raise ValueError(f"steady state needs two epochs or more, got {len(epoch_starts)}")
    return images_per_epoch * (len(epoch_starts) - 1) / (end - epoch_starts[1])


def image_data(per_class: int, *, seed: int = 0):
    """The benchmark's images: `per_class` of each CIFAR-10 class from the JPEG copy, 10% held out for validation,
    or random images of the same shape without it. Returns the data set and what it is."""
    from trainers.training.data import CIFAR10_CLASSES, ImageDataset, Split, load_dataset

    if CIFAR10_COPY.is_dir():
        dataset = load_dataset(f"folder:{CIFAR10_COPY}", image_size=32, limit=per_class, validation_fraction=0.1,
                               seed=seed)
        return dataset, f"CIFAR-10 JPEG copy ({CIFAR10_COPY})"
    rng = np.random.default_rng(seed)

    def split(count: int, name: str) -> Split:
        return Split(rng.integers(0, 256, (count, 32, 32, 3), dtype=np.uint8),
                     rng.integers(0, len(CIFAR10_CLASSES), count), np.array([f"{name}/{i}" for i in range(count)]))

    train_count = per_class * len(CIFAR10_CLASSES)
    dataset = ImageDataset("synthetic", "synthetic", list(CIFAR10_CLASSES), 32, split(train_count * 9 // 10, "train"),
                           split(train_count // 10, "validation"), split(train_count, "test"))
    return dataset, "synthetic random images (no CIFAR-10 copy found)"


def _epoch_clock():
    import keras

    class EpochClock(keras.callbacks.Callback):
        """When each epoch began and training ended (after every other callback's end of training)."""

        def on_train_begin(self, logs=None):
            self.starts = []

        def on_epoch_begin(self, epoch, logs=None):
            self.starts.append(time.perf_counter())

        def on_train_end(self, logs=None):
            self.end = time.perf_counter()

    return EpochClock()


def keras_fit_speed(config, dataset, epochs: int) -> float:
    """(a): the preset's network in float32, `model.fit` on NumPy arrays, as the Keras guides write it."""
    import dataclasses

    import keras

    from trainers.training.models import build_model
    from trainers.training.optimization import compile_model

    keras.utils.set_random_seed(config.seed)
    model = build_model(dataclasses.replace(config, precision="float32"), len(dataset.class_names))
    compile_model(model, config, steps=len(dataset.train) // config.batch_size * epochs)
    # validation_split holds out the last images: the validation images the trainer holds out.
    x = np.concatenate([dataset.train.images, dataset.validation.images]).astype("float32")
    y = keras.utils.to_categorical(np.concatenate([dataset.train.labels, dataset.validation.labels]),
                                   len(dataset.class_names))
    clock = _epoch_clock()
    model.fit(x, y, batch_size=config.batch_size, epochs=epochs, validation_split=len(dataset.validation) / len(x),
              callbacks=[clock], verbose=0)
    return steady_images_per_second(clock.starts, clock.end, len(dataset.train))


def trainer_speed(preset: str, config, dataset, epochs: int) -> tuple[float, dict]:
    """(b): the project's trainer on the same images; returns its speed and the run's record (speed_trial)."""
    import dataclasses
    import shutil

    from trainers.store import run_store
    from trainers.training.fit import train

    store = Path(tempfile.mkdtemp(prefix="throughput-"))
    try:
        writer = run_store.RunWriter(store, preset)
        config = dataclasses.replace(config, epochs=epochs)
        writer.create(run_store.new_run_info(config.to_dict(), {**dataset.summary(), "limit": None},
                                             kind=run_store.KIND_TRAINED, preset=preset, author="benchmark",
                                             command="benchmarks/train_throughput.py"))
        clock = _epoch_clock()
        run_path = train(writer, dataset, verbose=0, extra_callbacks=(clock,))
        return (steady_images_per_second(clock.starts, clock.end, len(dataset.train)),
                run_store.load_run(run_path).info)
    finally:
        shutil.rmtree(store, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/train_throughput.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", default=",".join(PRESETS), help="comma-separated (default: %(default)s)")
    parser.add_argument("--per-class", type=int, default=400,
                        help="images of each class, 10%% of them for validation (default: %(default)s)")
    parser.add_argument("--epochs", type=int, default=3, help="epochs of each, the first left out (default: 3)")
    parser.add_argument("--precision", default="auto", choices=PRECISIONS,
                        help="the trainer's --precision (default: auto)")
    args = parser.parse_args(argv)

    from trainers.inference.machine import processor_name
    from trainers.presets import get_preset
    from trainers.training.throughput import CANDIDATE_PRECISIONS

    dataset, data_name = image_data(args.per_class)
    test_images = min(len(dataset.test), 500)  # the trainer's evaluation after training is not timed
    dataset.test = dataset.test.take(np.arange(test_images))
    cpu = processor_name()
    print(f"Training throughput on {cpu}, {os.cpu_count()} cores", flush=True)
    print(f"data: {data_name}: {len(dataset.train)} training and {len(dataset.validation)} validation images; "
          f"epochs 2 to {args.epochs} of {args.epochs} timed, validation included", flush=True)
    figures = {"cpu": cpu, "cores": os.cpu_count(), "data": dataset.name, "train_images": len(dataset.train)}
    rows = []
    for preset in args.presets.split(","):
        config = get_preset(preset).with_overrides(precision=args.precision)
        # Keras fit before and after the trainer, so a machine that slows down or speeds up meanwhile
        # (shared cores, a busy host) moves both sides of the ratio alike.
        fits = [keras_fit_speed(config, dataset, args.epochs)]
        trainer, info = trainer_speed(preset, config, dataset, args.epochs)
        fits.append(keras_fit_speed(config, dataset, args.epochs))
        fit = sum(fits) / len(fits)
        trial = info.get("speed_trial", {"images_per_second": {}, "seconds": 0.0})  # none for a forced precision
        rows.append((preset, config.batch_size, fit, trainer, info["config"]["precision"], trial))
        figures.update({f"{preset}_fit": round(fit, 1), f"{preset}_trainer": round(trainer, 1),
                        f"{preset}_ratio": round(trainer / fit, 2), f"{preset}_precision": info["config"]["precision"],
                        f"{preset}_trial_s": round(trial["seconds"], 1)})
        print(f"  {preset}: Keras fit {fits[0]:.0f} then {fits[1]:.0f} images/s, trainer {trainer:.0f} images/s "
              f"({info['config']['precision']}), {trainer / fit:.2f}x", flush=True)

    trial_columns = "".join(f"{name:>18}" for name in CANDIDATE_PRECISIONS)
    print(f"\n{'preset':<8}{'batch':>6}{'Keras fit':>11}{'trainer':>9}{'ratio':>7}  {'precision chosen':<18}"
          f"{'trial s':>8}   speed trial, images/s:{trial_columns}")
    for preset, batch, fit, trainer, precision, trial in rows:
        speeds = "".join(f"{trial['images_per_second'].get(name, float('nan')):>18.0f}" for name in CANDIDATE_PRECISIONS)
        print(f"{preset:<8}{batch:>6}{fit:>11.0f}{trainer:>9.0f}{trainer / fit:>6.2f}x  {precision:<18}"
              f"{trial['seconds']:>8.0f}   {'':>22}{speeds}")
    print(key_values(figures), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
