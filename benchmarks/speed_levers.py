"""Speed levers on this machine, measured side by side: precision and batch size.

    python benchmarks/speed_levers.py cnn_v4 --dataset folder:../shared/datasets/cifar10-jpeg --limit 500

Prints training images per second of the preset's training step for each setting, timed as
`--precision auto` times it (`trainers.training.throughput.speed_trial`: warm-up steps left out, the
precisions timed in turn). Ratios within one run are meaningful; absolute figures on shared
machines are noisy. `benchmarks/train_throughput.py` times whole epochs of the trainer instead.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from trainers.training.data import load_dataset  # noqa: E402
from trainers.inference.machine import processor_name  # noqa: E402
from trainers.presets import get_preset  # noqa: E402
from trainers.training.throughput import CANDIDATE_PRECISIONS, speed_trial  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("preset")
    parser.add_argument("--dataset", default="cifar10")
    parser.add_argument("--limit", type=int, default=500)
    parser.add_argument("--precisions", default=",".join(CANDIDATE_PRECISIONS))
    parser.add_argument("--batch-sizes", default="")
    parser.add_argument("--steps", type=int, default=5, help="timed steps of each setting (default: 5)")
    args = parser.parse_args()
    print(f"CPU: {processor_name()} ({os.cpu_count()} cores)", flush=True)
    base = get_preset(args.preset)
    dataset = load_dataset(args.dataset, image_size=base.image_size, limit=args.limit)
    precisions = tuple(args.precisions.split(","))
    results = {}
    for batch_size in [int(b) for b in args.batch_sizes.split(",") if b] or [base.batch_size]:
        trial = speed_trial(base.with_overrides(batch_size=batch_size), dataset.train.images,
                            len(dataset.class_names), precisions=precisions, steps=args.steps)
        for precision, speed in trial.images_per_second.items():
            results[(precision, batch_size)] = speed
            print(f"{args.preset:<12} {precision:<17} batch {batch_size:>4}: {speed:8.0f} images/s", flush=True)
    reference = next(iter(results.values()))
    for (precision, batch_size), speed in results.items():
        print(f"{precision:<17} batch {batch_size:>4}: {speed / reference:5.2f}x the first setting")


if __name__ == "__main__":
    main()
