"""Time to accuracy: trains a preset on CIFAR-10 until its test accuracy, with the test-time augmentation it
ships, reaches a target (or its schedule ends), and prints the wall time and the epochs it took.

    python benchmarks/time_to_accuracy.py                       # cnn_air_15min to 0.91
    python benchmarks/time_to_accuracy.py cnn_air --target 0.91 --epochs 12 --no-cutout
    python benchmarks/time_to_accuracy.py cnn_air_15min --time-budget 20 --artifacts artifacts

Takes the preset's flags, as `python -m trainers.train` does. The data: the CIFAR-10 JPEG copy at
../shared/datasets/cifar10-jpeg when it is there, else `--dataset` (Keras' CIFAR-10 by default). The
wall time runs from the start of training (the speed trial included) to the end of the epoch that reached
the target; the test evaluations this benchmark adds are not counted. They run after an epoch whose
validation accuracy is within CHECK_WITHIN of the target; the last epoch's test accuracy is the run's own,
of the model it ships. The run is kept in --artifacts when given (stopped at the target, it is kept
as a run that stopped early). The last line holds the figures as key=value pairs.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from benchmarks.common import CIFAR10_COPY, key_values  # noqa: E402
from trainers.presets import ConfigError  # noqa: E402
from trainers.train import build_parser, config_from_args, flag_name  # noqa: E402

DEFAULT_PRESET = "cnn_air_15min"
CHECK_WITHIN = 0.03  # test images are checked once validation accuracy is this close to the target


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    parser.prog, parser.description = "python benchmarks/time_to_accuracy.py", __doc__
    parser.add_argument("--target", type=float, default=0.91, help="test accuracy to reach (default: 0.91)")
    parser.set_defaults(preset=DEFAULT_PRESET,
                        dataset=f"folder:{CIFAR10_COPY}" if CIFAR10_COPY.is_dir() else "cifar10")
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args)
    except ConfigError as error:
        parser.error(error.render(flag_name))

    import keras

    from trainers.inference import machine
    from trainers.store import run_store
    from trainers.training.data import load_dataset
    from trainers.inference.predict import predict
    from trainers.presets import TrainConfig
    from trainers.training.fit import TrainingFailed, shipped_model, train

    dataset = load_dataset(args.dataset, image_size=config.image_size, limit=args.limit,
                           validation_fraction=config.validation_fraction, seed=config.seed,
                           cache_dir=Path(args.cache_dir) if args.cache_dir else None)
    store = Path(args.artifacts) if args.artifacts else Path(tempfile.mkdtemp(prefix="time-to-accuracy-"))
    writer = run_store.RunWriter(store, args.name or f"{args.preset}-to-{args.target:g}")
    writer.create(run_store.new_run_info(
        config.to_dict(), {**dataset.summary(), "limit": args.limit}, kind=run_store.KIND_TRAINED,
        preset=args.preset, author="benchmark",
        command="python benchmarks/time_to_accuracy.py " + shlex.join(argv if argv is not None else sys.argv[1:]),
        hardware=machine.hardware(), versions=machine.library_versions()))
    cpu = machine.processor_name()
    print(f"{args.preset} to {args.target:g} test accuracy on {dataset.name} ({len(dataset.train)} training "
          f"images), {cpu}, {os.cpu_count()} cores", flush=True)
    print(f"{'epoch':>5} {'wall s':>8} {'val acc':>8} {'test acc (TTA)':>15}", flush=True)

    class Clock(keras.callbacks.Callback):
        """Times each epoch from the start of training, checks the test accuracy near the target, stops there."""

        def __init__(self, start: float):
            super().__init__()
            self.start, self.checking, self.rows, self.reached = start, 0.0, [], None

        def on_train_begin(self, logs=None):
            # As the speed trial decided it: the precision the shipped model is copied from, the epochs.
            self.config = TrainConfig.from_dict(writer.read_info()["config"])

        def elapsed(self) -> float:
            return time.perf_counter() - self.start - self.checking

        def on_epoch_end(self, epoch, logs=None):
            row = {"epoch": epoch + 1, "wall_s": self.elapsed(), "val_accuracy": logs["val_accuracy"],
                   "test_accuracy": None}
            last = epoch + 1 == self.params["epochs"]
            if not last and logs["val_accuracy"] >= args.target - CHECK_WITHIN:
                began = time.perf_counter()
                probabilities = predict(shipped_model(self.model, self.config, len(dataset.class_names)),
                                        dataset.test.images)
                row["test_accuracy"] = float((probabilities.argmax(1) == dataset.test.labels).mean())
                self.checking += time.perf_counter() - began
                if row["test_accuracy"] >= args.target:
                    self.reached = row
                    self.model.stop_training = True
            self.rows.append(row)
            shown = f"{row['test_accuracy']:.4f}" if row["test_accuracy"] is not None else ""
            print(f"{row['epoch']:>5} {row['wall_s']:>8.0f} {row['val_accuracy']:>8.4f} {shown:>15}", flush=True)

        def on_train_end(self, logs=None):
            self.fit_end = self.elapsed()  # after lookahead's last average, the weights the run ships

    clock = Clock(time.perf_counter())
    try:
        run_path = train(writer, dataset, verbose=0, extra_callbacks=(clock,))
        final = {**clock.rows[-1], "wall_s": clock.fit_end,
                 "test_accuracy": run_store.load_run(run_path).info["test_accuracy"]}
        if final["test_accuracy"] >= args.target:
            clock.reached = final
    except TrainingFailed:
        if clock.reached is None:  # stopped for another reason than reaching the target
            raise
    finally:
        if not args.artifacts:
            shutil.rmtree(store, ignore_errors=True)
    result = clock.reached or final
    figures = {
        "preset": args.preset, "target": args.target, "reached": "yes" if clock.reached else "no",
        "test_accuracy": round(result["test_accuracy"], 4), "wall_s": round(result["wall_s"], 1),
        "wall_min": round(result["wall_s"] / 60, 2), "epochs": result["epoch"],
        "precision": clock.config.precision, "scheduled_epochs": clock.config.epochs,
        "cpu": cpu, "cores": os.cpu_count(),
    }
    print(f"{'reached' if clock.reached else 'not reached'}: test accuracy {figures['test_accuracy']:.4f} after "
          f"{figures['epochs']} epochs in {figures['wall_min']:.1f} minutes ({figures['precision']})")
    print(key_values(figures), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
