"""Train a preset and record it in the run store.

    python -m trainers.train --list
    python -m trainers.train cnn_v4 --epochs 20
    python -m trainers.train cnn_v3 --dataset folder:path/to/images --limit 50 --artifacts my-artifacts
    python -m trainers.train --resume artifacts/.partial/cnn_v4-20261127-101500
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

from trainers.presets import (OPTIMIZERS, PRECISIONS, PRESETS, SCHEDULES, SHIFT_INTERPOLATIONS, TrainConfig,
                              get_preset)

def _channel_counts(text: str) -> tuple[int, ...]:
    """'112,256,256' -> (112, 256, 256)."""
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected channel counts like 64,256,256, got '{text}'") from None


# Command-line flag -> TrainConfig field, for every field a user can override.
OVERRIDES = {
    "epochs": int, "batch_size": int, "lr": float, "optimizer": str, "schedule": str,
    "weight_decay": float, "label_smoothing": float, "dropout": float, "image_size": int,
    "base_size": int, "weights": str, "finetune_epochs": int, "finetune_layers": int,
    "finetune_lr": float, "validation_fraction": float, "seed": int, "precision": str, "shift": float,
    "shift_tta": int, "shift_interpolation": str, "cutout": int,
    "momentum": float, "bias_lr_scale": float, "widths": _channel_counts, "stage_convs": int,
    "teacher_weight": float,
}
# On/off fields: --FLAG and --no-FLAG.
SWITCHES = ("augmentation", "flip_tta", "keep_best", "lookahead")
FIELD_OF = {"lr": "learning_rate", "finetune_lr": "finetune_learning_rate"}
CHOICES = {"optimizer": OPTIMIZERS, "schedule": SCHEDULES, "precision": PRECISIONS,
           "shift_interpolation": SHIFT_INTERPOLATIONS}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m trainers.train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("preset", nargs="?", help="preset name (see --list)")
    parser.add_argument("--list", action="store_true", help="list the presets and exit")
    parser.add_argument("--dataset", default="cifar10", help="'cifar10' (default) or 'folder:PATH' with train/ and test/")
    parser.add_argument("--limit", type=int, help="at most N images per class in each split")
    parser.add_argument("--artifacts", help="run store folder (default: $ARTIFACTS_DIR, else artifacts/)")
    parser.add_argument("--name", help="run folder name (default: PRESET-DATE-TIME)")
    parser.add_argument("--author", help="recorded author (default: your user name)")
    parser.add_argument("--comment", default="", help="free text shown in the comparison table")
    parser.add_argument("--resume", metavar="PARTIAL_DIR", help="continue an interrupted run from its .partial folder")
    parser.add_argument("--cache-dir", help="where decoded folder data sets are cached")
    parser.add_argument("--verbose", type=int, choices=(0, 1, 2), help="Keras progress: 1 bar, 2 one line per epoch")
    for flag, kind in OVERRIDES.items():
        parser.add_argument(f"--{flag.replace('_', '-')}", type=kind, choices=CHOICES.get(flag),
                            help=f"override the preset's {FIELD_OF.get(flag, flag)}")
    parser.add_argument("--teacher", action="append", metavar="RUN_DIR",
                        help="distil: a trained run whose predictions on the training images become their targets "
                             "(repeat it for an ensemble; see --teacher-weight, --label-smoothing)")
    for switch in SWITCHES:
        parser.add_argument(f"--{switch.replace('_', '-')}", action=argparse.BooleanOptionalAction,
                            help=f"override the preset's {switch}")
    return parser


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    overrides = {FIELD_OF.get(flag, flag): getattr(args, flag) for flag in OVERRIDES}
    overrides.update({switch: getattr(args, switch) for switch in SWITCHES})
    overrides["teachers"] = tuple(args.teacher) if args.teacher else None
    return get_preset(args.preset).with_overrides(**overrides)


def preset_listing() -> str:
    rows = [f"{name:<20} {config.architecture:<9} {config.epochs:>3} epochs  {config.description}"
            for name, config in PRESETS.items()]
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    if args.list:
        print(preset_listing())
        return 0
    if not args.preset and not args.resume:
        print("error: name a preset (see --list) or --resume a partial run", file=sys.stderr)
        return 2
    verbose = args.verbose if args.verbose is not None else (1 if sys.stdout.isatty() else 2)

    # Deferred: TensorFlow takes seconds to import, --list and argument errors should not wait.
    from trainers import run_store
    from trainers.data import DatasetError, load_dataset
    from trainers.distillation import load_teachers, provenance

    store = run_store.resolve_store(args.artifacts)
    try:
        if args.resume:
            partial = Path(args.resume)
            writer = run_store.RunWriter(partial.parent.parent, partial.name)
            if not (writer.path / run_store.RUN_FILE).is_file():
                raise ValueError(f"'{partial}' is not an interrupted run (no {run_store.RUN_FILE} in it)")
            info = writer.read_info()
            config = TrainConfig.from_dict(info["config"]).validated()
            spec, limit = info["dataset"]["spec"], info["dataset"]["limit"]
        else:
            config = config_from_args(args)
            spec, limit = args.dataset, args.limit
            writer = run_store.RunWriter(store, args.name or _new_run_id(args.preset))
            if writer.final_path.exists() or writer.path.exists():
                raise ValueError(f"A run named '{writer.run_id}' already exists in '{store}'; choose another --name")
        dataset = load_dataset(spec, image_size=config.image_size, limit=limit,
                               validation_fraction=config.validation_fraction, seed=config.seed,
                               cache_dir=Path(args.cache_dir) if args.cache_dir else None)
        teachers = load_teachers(config.teachers, dataset.class_names, dataset.test_key, config.image_size)
    except (ValueError, DatasetError, FileExistsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    from trainers.training import TrainingFailed, start_info, train

    if not args.resume:
        command = "python -m trainers.train " + shlex.join(argv)
        writer.create(start_info(config, dataset, preset=args.preset, author=args.author,
                                 comment=args.comment, command=command, limit=limit, teachers=provenance(teachers)))
    print(f"Training {writer.run_id} on {dataset.name}: {len(dataset.train)} train, "
          f"{len(dataset.validation)} validation, {len(dataset.test)} test images", flush=True)
    try:
        run_path = train(writer, dataset, verbose=verbose)
    except KeyboardInterrupt:
        print(f"\nInterrupted. Resume with: python -m trainers.train --resume {writer.path}", file=sys.stderr)
        return 130
    except TrainingFailed as error:
        print(f"error: training failed: {error}. The partial run is in {writer.path}", file=sys.stderr)
        return 1
    print(f"Run written to {run_path}")
    return 0


def _new_run_id(preset: str) -> str:
    from datetime import datetime

    return f"{preset}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.exit(main())
