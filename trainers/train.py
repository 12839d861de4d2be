"""Train a preset and record it in the run store.

    python -m trainers.train --list
    python -m trainers.train cnn_v4 --epochs 20
    python -m trainers.train cnn_v3 --dataset folder:path/to/images --limit 50 --artifacts my-artifacts
    python -m trainers.train --resume artifacts/.partial/cnn_v4-20261127-101500
"""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import os
import shlex
import shutil
import sys
import tempfile
import typing
from pathlib import Path

from trainers.presets import CONFIG_FIELDS, PRESETS, ConfigError, TrainConfig, get_preset



def flag_name(field_name: str) -> str:
    """The flag that sets a TrainConfig field: `--lr` for learning_rate (its alias), `--batch-size` for batch_size."""
    return "--" + CONFIG_FIELDS[field_name].metadata.get("flag", field_name).replace("_", "-")


def _integers(text: str) -> tuple[int, ...]:
    """'112,256,256' -> (112, 256, 256)."""
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers like 64,256,256, got '{text}'") from None


def _shown(default) -> str:
    """A field's default as a user would type it."""
    if isinstance(default, bool):
        return "on" if default else "off"
    if isinstance(default, tuple):
        return ",".join(map(str, default)) or "none"
    return repr(default) if isinstance(default, str) else str(default)


def _add_config_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per TrainConfig field, typed by the field and documented by its metadata; each defaults to None."""
    group = parser.add_argument_group("configuration", "One flag per field of the preset's TrainConfig.")
    types = typing.get_type_hints(TrainConfig)
    for name, field in CONFIG_FIELDS.items():
        kind = types[name]
        if kind is bool:
            how = {"action": argparse.BooleanOptionalAction}
        elif kind == tuple[int, ...]:
            how = {"type": _integers, "metavar": "N,N,N"}
        elif kind == tuple[str, ...]:
            how = {"action": "append"}
        else:
            how = {"type": kind, "choices": field.metadata.get("choices")}
        repeat = "; repeat the flag for each" if kind == tuple[str, ...] else ""
        default = "" if field.default is dataclasses.MISSING else f"; field default: {_shown(field.default)}"
        help = f"{field.metadata['help']}{repeat} (the preset's value unless given{default})"
        group.add_argument(flag_name(name), dest=name, default=None, help=help.replace("%", "%%"),
                           **{"metavar": field.metadata.get("metavar"), **how})


def build_parser() -> argparse.ArgumentParser:
    """The command line: the preset, where the data and the run go, and one flag per TrainConfig field."""
    parser = argparse.ArgumentParser(prog="python -m trainers.train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("preset", nargs="?", help="preset name (see --list)")
    parser.add_argument("--list", action="store_true", help="list the presets and exit")
    parser.add_argument("--dataset", default="cifar10", help="'cifar10' (default) or 'folder:PATH' with train/ and test/")
    parser.add_argument("--limit", type=int, help="at most N images per class in each split")
    parser.add_argument("--artifacts", help="run store: a folder, or s3://bucket/prefix or gs://bucket/prefix "
                                            "(default: $ARTIFACTS_DIR, else artifacts/)")
    parser.add_argument("--name", help="run folder name (default: PRESET-DATE-TIME)")
    parser.add_argument("--author", help="recorded author (default: your user name)")
    parser.add_argument("--comment", default="", help="free text shown in the comparison table")
    parser.add_argument("--resume", metavar="PARTIAL_DIR", help="continue an interrupted run from its .partial folder")
    parser.add_argument("--cache-dir", help="where decoded folder data sets are cached")
    parser.add_argument("--verbose", type=int, choices=(0, 1, 2), help="Keras progress: 1 bar, 2 one line per epoch")
    _add_config_flags(parser)
    return parser


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The named preset with the fields the flags give; raises ConfigError if the result cannot work."""
    overrides = {name: getattr(args, name) for name in CONFIG_FIELDS}
    overrides = {name: tuple(value) if isinstance(value, list) else value for name, value in overrides.items()}
    return get_preset(args.preset).with_overrides(**overrides)


def preset_listing() -> str:
    """One line per preset: name, architecture, epochs, description."""
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
    from trainers.inference import machine

    machine.start_tensorflow_quietly()
    from trainers.store import remote_store, run_store
    from trainers.training import distribute
    from trainers.training.data import DatasetError, load_dataset
    from trainers.training.distillation import load_teachers, provenance

    writer = None
    try:
        # First: a cluster's strategy must exist before TensorFlow does anything else (see trainers.training.distribute).
        distribution = distribute.distribution()
        # A bucket's URL: the run is trained in its local mirror, then published (see trainers.store.remote_store).
        store = remote_store.local_store(args.artifacts)
        if not distribution.chief:  # every worker trains; only the chief's run folder is kept
            store = Path(tempfile.mkdtemp(prefix="cnn-compare-worker-"))
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
            name, url = args.name or _new_run_id(args.preset), remote_store.mirrored_url(store)
            if url and remote_store.run_exists(url, name):
                raise ValueError(f"A run named '{name}' already exists in '{url}'; choose another --name")
            writer = run_store.claimed_writer(store, name, start_over=None)
        dataset = load_dataset(spec, image_size=config.image_size, limit=limit,
                               validation_fraction=config.validation_fraction, seed=config.seed,
                               cache_dir=Path(args.cache_dir) if args.cache_dir else None)
        teachers = load_teachers(config.teachers, dataset.class_names, dataset.test_key, config.image_size)
    except KeyboardInterrupt:  # decoding a large image folder takes minutes
        return _interrupted(writer, args)
    except ConfigError as error:
        print(f"error: {error.render(flag_name)}", file=sys.stderr)
        return 2
    except (ValueError, FileExistsError, DatasetError, remote_store.StoreError,
            distribute.DistributionError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # the data set's cache on a full disk, an unreadable teacher
        print(f"error: {error}", file=sys.stderr)
        return 1

    from trainers.training.fit import TrainingFailed, train

    try:
        if not args.resume:
            writer.create(run_store.new_run_info(
                config.to_dict(), {**dataset.summary(), "limit": limit}, kind=run_store.KIND_TRAINED,
                preset=args.preset, author=args.author or getpass.getuser(), comment=args.comment,
                command="python -m trainers.train " + shlex.join(argv), teachers=provenance(teachers),
                hardware=machine.hardware(), versions=machine.library_versions()))
        print(f"Training {writer.run_id} on {dataset.name}: {len(dataset.train)} train, "
              f"{len(dataset.validation)} validation, {len(dataset.test)} test images", flush=True)
        run_path = train(writer, dataset, teachers=teachers, verbose=verbose, distribution=distribution)
    except KeyboardInterrupt:
        return _interrupted(writer, args)
    except TrainingFailed as failure:
        print(f"error: {run_store.failure_message(failure.reason, failure.epoch)}; "
              f"the run is recorded as failed in {writer.final_path}", file=sys.stderr)
        return 1
    except OSError as error:  # a full disk, a read-only store
        print(f"error: {_unwritable_store(error, writer, _resume_command(writer, args))}", file=sys.stderr)
        return 1
    if not distribution.chief:
        shutil.rmtree(store, ignore_errors=True)
        print("This worker's part is done; the chief writes the run.")
        return 0
    url = remote_store.mirrored_url(writer.store)  # a resumed run's store may be a mirror too
    if url:
        try:
            run_path = remote_store.publish(run_path, url)
        except (KeyboardInterrupt, remote_store.StoreError) as error:
            retry = shlex.join(["python", "-m", "trainers.store.remote_store", str(run_path)])
            print(f"\nerror: not published to {url} ({str(error) or 'interrupted'}); the run is in '{run_path}'. "
                  f"Publish it with: {retry}", file=sys.stderr)
            return 1
    print(f"Run written to {run_path}")
    return 0


def _interrupted(writer, args: argparse.Namespace) -> int:
    """Says how to resume after Ctrl-C (or that no run was created yet); returns the exit status of an interrupt."""
    resume = writer and _resume_command(writer, args)
    # A new line first: Keras' progress bar leaves the cursor at the end of its line.
    print(f"\nInterrupted. Resume with: {resume}" if resume else "\nInterrupted before the run was created.",
          file=sys.stderr)
    return 130


def _resume_command(writer, args: argparse.Namespace) -> str | None:
    """The command that continues the run from its partial folder, with the same data cache; None if none was kept."""
    from trainers.store import run_store

    if not (writer.path / run_store.RUN_FILE).is_file():
        return None
    cache = ["--cache-dir", args.cache_dir] if args.cache_dir else []
    return shlex.join(["python", "-m", "trainers.train", "--resume", str(writer.path), *cache])


def _unwritable_store(error: OSError, writer, resume: str | None) -> str:
    """One line for a write that failed: the store, the cause and the file, then how to resume if anything was kept."""
    # h5py (Keras' backups) puts a many-line report in strerror; the errno says it in a few words.
    cause = os.strerror(error.errno) if error.errno else " ".join(str(error).split())
    file = f" ('{error.filename}')" if error.filename else ""
    then = f"Once it can, resume with: {resume}" if resume else "Nothing of the run was kept."
    return f"cannot write to the run store '{writer.store}': {cause}{file}. {then}"


def _new_run_id(preset: str) -> str:
    from datetime import datetime

    return f"{preset}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"


if __name__ == "__main__":
    sys.exit(main())
