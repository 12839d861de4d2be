"""Speed levers on this machine, measured side by side: precision and batch size.

    python -m trainers.benchmark cnn_v4 --dataset folder:../shared/datasets/cifar10-jpeg --limit 500

Prints training images per second for each setting (after one warm-up epoch).
Ratios within one run are meaningful; absolute figures on shared machines are noisy.
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import time

import keras

from trainers.data import load_dataset
from trainers.machine import processor_name
from trainers.models import build_model
from trainers.optimization import compile_model
from trainers.presets import get_preset
from trainers.training import tf_dataset


def images_per_second(config, dataset, epochs: int = 2) -> float:
    keras.mixed_precision.set_global_policy(config.precision)
    model = build_model(config, len(dataset.class_names))
    steps = math.ceil(len(dataset.train) / config.batch_size)
    compile_model(model, config, steps * (epochs + 1))
    data = tf_dataset(dataset.train, len(dataset.class_names), config.batch_size, shuffle=True, seed=0)
    model.fit(data, epochs=1, verbose=0)  # warm-up: graph tracing
    start = time.perf_counter()
    model.fit(data, epochs=epochs, verbose=0)
    return len(dataset.train) * epochs / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("preset")
    parser.add_argument("--dataset", default="cifar10")
    parser.add_argument("--limit", type=int, default=500)
    parser.add_argument("--precisions", default="float32,mixed_bfloat16")
    parser.add_argument("--batch-sizes", default="")
    args = parser.parse_args()
    print(f"CPU: {processor_name()} ({os.cpu_count()} cores)", flush=True)
    base = get_preset(args.preset)
    dataset = load_dataset(args.dataset, image_size=base.image_size, limit=args.limit)
    batch_sizes = [int(b) for b in args.batch_sizes.split(",") if b] or [base.batch_size]
    results = {}
    for precision, batch_size in itertools.product(args.precisions.split(","), batch_sizes):
        config = base.with_overrides(precision=precision, batch_size=batch_size)
        results[(precision, batch_size)] = images_per_second(config, dataset)
        print(f"{args.preset:<12} {precision:<15} batch {batch_size:>4}: {results[(precision, batch_size)]:8.0f} images/s", flush=True)
    reference = next(iter(results.values()))
    for (precision, batch_size), speed in results.items():
        print(f"{precision:<15} batch {batch_size:>4}: {speed / reference:5.2f}x the first setting")


if __name__ == "__main__":
    main()
