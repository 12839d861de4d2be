"""Training one configuration on one data set into a run folder of the store.

`train` reads as its steps: the precision and a time budget's epochs decided by
a speed trial, the test images stored once, the teachers' targets, the model
built, fitted (and fine-tuned), the float32 model shipped with its test-time
augmentation, evaluated, described, and the run committed. A run
whose training fails is recorded as failed; one that is interrupted (Ctrl-C, a
kill, a full disk) stays resumable in the store's partial folder.
"""

from __future__ import annotations

import dataclasses
import math
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from trainers.inference import architecture, projection
from trainers.inference.network import with_tta
from trainers.inference.predict import load_model, predict
from trainers.presets import TrainConfig
from trainers.store import run_store
from trainers.training import distillation, distribute, throughput
from trainers.training.data import ImageDataset, Split
from trainers.training.evaluation import evaluate_into, record_hparams
from trainers.training.models import build_model, float32_copy, unfreeze_top
from trainers.training.optimization import Lookahead, compile_model
from trainers.training.record_callback import EpochHistory

PHASE1_DONE = "phase1_done.weights.h5"
BEST_WEIGHTS = "best.weights.h5"  # scratch file of keep_best, in the partial folder
WHITENING_SAMPLE = 2000  # training images that set data-fitted layers: enough patches for a steady covariance


class TrainingFailed(RuntimeError):
    """Training could not produce a usable model: `reason` says why, `epoch` (0-based) when."""

    def __init__(self, reason: str, epoch: int | None):
        super().__init__(reason)
        self.reason = reason
        self.epoch = epoch


def tf_dataset(split: Split, num_classes: int, batch_size: int, *, shuffle: bool, seed: int,
               targets: np.ndarray | None = None, whole_batches: bool = False) -> tf.data.Dataset:
    """A batched pipeline of (float pixels 0-255, one-hot labels or the given `targets`), shuffled when asked.

    `whole_batches` drops a last smaller batch: across replicas one could be left with no image, which
    TensorFlow's CPU convolutions refuse.
    """
    data = tf.data.Dataset.from_tensor_slices(
        (split.images, np.eye(num_classes, dtype=np.float32)[split.labels] if targets is None else targets))
    if shuffle:
        data = data.shuffle(len(split), seed=seed, reshuffle_each_iteration=True)
    options = tf.data.Options()
    # Across workers, each takes its share of every batch: arrays in memory have no files to split by.
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    # No autotuning: Keras makes a new iterator every epoch and every validation pass, and on a busy CPU
    # each one stalled for up to seconds behind tf.data's tuning thread. Slicing and casting arrays in
    # memory needs none: one batch prepared ahead keeps the training step fed.
    options.autotune.enabled = False
    return (
        data.batch(batch_size, drop_remainder=whole_batches)
        .map(lambda x, y: (tf.cast(x, tf.float32), y))
        .prefetch(1)
        .with_options(options)
    )


def teacher_targets(teachers: list[run_store.Run], dataset: ImageDataset, teacher_weight: float) -> np.ndarray | None:
    """The distillation targets of the training images, or None without teachers."""
    if not teachers:
        return None
    probabilities = [predict(load_model(teacher), dataset.train.images) for teacher in teachers]
    return distillation.training_targets(probabilities, dataset.train.labels, len(dataset.class_names), teacher_weight)


class _Promoted(keras.callbacks.Callback):
    """Moves the file a checkpoint callback (before it) finished this epoch onto `target`, in one rename.

    A write cut short by a full disk or a kill then leaves the previous file whole; what such a write
    left is removed before training, so it is never promoted.
    """

    def __init__(self, written: Path, target: Path):
        super().__init__()
        self.written = written
        self.target = target

    def on_train_begin(self, logs=None):
        self.written.unlink(missing_ok=True)

    def on_epoch_end(self, epoch, logs=None):
        if self.written.exists():
            os.replace(self.written, self.target)


def _keep_best(writer) -> list[keras.callbacks.Callback]:
    """Saves the weights whenever validation accuracy beats its best so far, counting resumed epochs."""
    history_path = writer.history_path
    logged = pd.read_csv(history_path) if history_path.exists() and history_path.stat().st_size else pd.DataFrame()
    best_so_far = float(logged["val_accuracy"].max()) if "val_accuracy" in logged else None
    written = writer.scratch("written-" + BEST_WEIGHTS)
    return [keras.callbacks.ModelCheckpoint(str(written), monitor="val_accuracy", mode="max", save_best_only=True,
                                            save_weights_only=True, initial_value_threshold=best_so_far, verbose=0),
            _Promoted(written, writer.scratch(BEST_WEIGHTS))]


def _backup_and_restore(folder: Path) -> keras.callbacks.BackupAndRestore:
    """Backs up every epoch into `folder` and resumes from it; a first backup that never finished is dropped.

    Keras writes the weights, then the metadata that dates them, and keeps the previous pair to fall back on.
    A first backup cut short by a full disk or a kill has no metadata and nothing before it: the phase then
    starts over rather than fail to load it.
    """
    if not (folder / "training_metadata.json").exists():
        shutil.rmtree(folder, ignore_errors=True)
    # Kept after training, so a run stopped while being saved resumes without training again.
    return keras.callbacks.BackupAndRestore(str(folder), delete_checkpoint=False, double_checkpoint=True)


def _fit(model, writer, phase, train_data, validation_data, *, initial_epoch, epochs, verbose, extra_callbacks,
         keep_best=False, lookahead=False):
    callbacks = [
        keras.callbacks.TerminateOnNaN(),
        # Before the history: the best so far is read from it, so an epoch logged has its weights kept.
        *(_keep_best(writer) if keep_best else []),
        # The history as every recorded run writes it (the RecordRun callback's part).
        EpochHistory(writer.history_path),
        keras.callbacks.TensorBoard(str(writer.tensorboard_path), write_graph=False, update_freq="epoch", profile_batch=0),
        # Last, so an epoch counts as done only once it is logged; a resumed epoch logged twice is deduplicated.
        _backup_and_restore(writer.scratch(phase)),
        # After the restore, to start from it; it spans this phase's steps.
        *([Lookahead(int(train_data.cardinality()) * (epochs - initial_epoch))] if lookahead else []),
        *extra_callbacks,
    ]
    model.fit(
        train_data, validation_data=validation_data, initial_epoch=initial_epoch, epochs=epochs,
        callbacks=callbacks, verbose=verbose, shuffle=False,  # tf_dataset shuffles
    )
    history = pd.read_csv(writer.history_path)
    diverged = history.loc[~np.isfinite(history["loss"]), "epoch"]
    if len(diverged):  # TerminateOnNaN stopped that epoch at the first bad batch; Keras still logged it
        raise TrainingFailed("the loss became NaN or infinite; try a lower --lr or --precision float32",
                             int(diverged.iloc[0]))
    last = int(history["epoch"].max()) if len(history) else initial_epoch - 1
    if last < epochs - 1:
        raise TrainingFailed(f"it stopped after {last + 1} of {epochs} epochs", last + 1)


def _built_model(config: TrainConfig, dataset: ImageDataset) -> keras.Model:
    """The untrained model; architectures with layers fitted to the data see a seeded sample of the training images."""
    sample = np.random.default_rng(config.seed).permutation(len(dataset.train))[:WHITENING_SAMPLE]
    return build_model(config, len(dataset.class_names), train_images=dataset.train.images[sample])


def _fitted(model, writer, config: TrainConfig, dataset: ImageDataset, targets, *, verbose: int,
            extra_callbacks, whole_batches: bool = False) -> tuple[pd.DataFrame, int | None]:
    """Fits the model (then fine-tunes it, for transfer presets), resuming from the backups of the partial folder.

    `whole_batches` (across replicas): the images of a last smaller batch are left out of that epoch.

    Returns:
        The history, one row per epoch, and the 0-based epoch whose weights the model now holds
        (keep_best), or None for the last.
    """
    num_classes = len(dataset.class_names)
    train_data = tf_dataset(dataset.train, num_classes, config.batch_size, shuffle=True, seed=config.seed,
                            targets=targets, whole_batches=whole_batches)
    validation_data = tf_dataset(dataset.validation, num_classes, config.batch_size, shuffle=False, seed=config.seed,
                                 whole_batches=whole_batches)
    steps_per_epoch = (len(dataset.train) // config.batch_size if whole_batches
                       else math.ceil(len(dataset.train) / config.batch_size))
    fit_options = dict(verbose=verbose, extra_callbacks=extra_callbacks, keep_best=config.keep_best,
                       lookahead=config.lookahead)
    phase1_done = writer.scratch(PHASE1_DONE)
    if phase1_done.exists():
        model.load_weights(phase1_done)
    else:
        compile_model(model, config, steps_per_epoch * config.epochs)
        _fit(model, writer, "phase1", train_data, validation_data, initial_epoch=0, epochs=config.epochs,
             **fit_options)
    if config.finetune_epochs:
        if not phase1_done.exists():
            phase1_done.parent.mkdir(parents=True, exist_ok=True)
            model.save_weights(phase1_done)
        unfreeze_top(model, config)
        compile_model(model, config, steps_per_epoch * config.finetune_epochs, config.finetune_learning_rate)
        _fit(model, writer, "phase2", train_data, validation_data, initial_epoch=config.epochs,
             epochs=config.epochs + config.finetune_epochs, **fit_options)

    # An interrupted and resumed epoch may be logged twice: keep its last row.
    history = pd.read_csv(writer.history_path).drop_duplicates("epoch", keep="last")
    history.to_csv(writer.history_path, index=False)
    if not (config.keep_best and writer.scratch(BEST_WEIGHTS).exists()):
        return history, None
    model.load_weights(writer.scratch(BEST_WEIGHTS))
    # ModelCheckpoint saves on strict improvement only: the first epoch that reached the maximum.
    return history, int(history.loc[history["val_accuracy"].idxmax(), "epoch"])


def shipped_model(model: keras.Model, config: TrainConfig, num_classes: int) -> keras.Model:
    """What a run ships: a fresh, uncompiled float32 graph of the trained weights, with its test-time augmentation.

    Mixed precision is a training speed lever; the shipped model computes in float32, so its predictions
    do not depend on a CPU's bfloat16 support (nor crawl where it has none). No optimizer state is saved.
    """
    if config.precision != "float32":
        model = float32_copy(model, config, num_classes)
    network = keras.Model(model.input, model.output, name=model.name)
    return with_tta(network, flip=config.flip_tta, shift=config.shift_tta)


def decided_by_speed_trial(writer: run_store.RunWriter, info: dict, config: TrainConfig,
                           dataset: ImageDataset) -> TrainConfig:
    """The configuration with its precision ("auto") and its time budget's epochs decided by a speed trial.

    Decided once, before the first epoch: run.json's config records the precision and epochs chosen, and
    "speed_trial" what was asked and measured, so a resumed run goes on as it began.
    """
    if "speed_trial" in info or (config.precision != "auto" and not config.time_budget):
        return config
    auto = config.precision == "auto"
    trial = throughput.speed_trial(config, dataset.train.images, len(dataset.class_names),
                                   precisions=throughput.CANDIDATE_PRECISIONS if auto else (config.precision,))
    # The trial's models are dropped, so the trained model's layers get the names a resumed run's will.
    keras.backend.clear_session()
    precision = throughput.fastest_precision(trial.images_per_second) if auto else config.precision
    epochs = config.epochs
    if config.time_budget:
        # The budget counts from the start of the trial; the first epoch also traces the training step.
        seconds = config.time_budget * 60 - trial.seconds - trial.compile_seconds[precision]
        epochs = throughput.epochs_within(seconds, trial.images_per_second[precision], len(dataset.train),
                                          len(dataset.validation))
    decided = dataclasses.replace(config, precision=precision, epochs=epochs)
    info.update(config={**info["config"], **decided.to_dict()},
                speed_trial={"requested_precision": config.precision, "time_budget": config.time_budget,
                             **trial.to_dict()})
    writer.write_info(info)
    return decided


@contextmanager
def _failure_recorded(writer: run_store.RunWriter) -> Iterator[None]:
    """Records a TrainingFailed as a failed run in the store (`RunWriter.fail`), then lets it go on."""
    try:
        yield
    except TrainingFailed as failure:
        writer.fail(failure.reason, failure.epoch)
        raise


def _timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def train(writer: run_store.RunWriter, dataset: ImageDataset, *, teachers: list[run_store.Run] = (),
          verbose: int = 1, extra_callbacks: tuple = (), distribution: distribute.Distribution | None = None) -> Path:
    """Trains the configuration recorded in `writer`'s run.json and commits the run.

    Resumes from the backup in the partial folder when there is one, so the
    same call continues an interrupted run.

    Args:
        teachers: the runs the configuration's `teachers` name, loaded and checked
            (`distillation.load_teachers`).
        distribution: how the run spreads over devices and workers; by default, as `distribute.distribution`
            finds them. Every worker calls `train`; the others' writer is a scratch store.

    Returns:
        The path of the complete run folder.

    Raises:
        TrainingFailed: once the run is recorded as failed in the store (`RunWriter.fail`).
    """
    info = writer.read_info()
    config = TrainConfig.from_dict(info["config"])
    if len(teachers) != len(config.teachers):
        raise ValueError(f"the configuration names {len(config.teachers)} teachers, {len(teachers)} were given")
    config = decided_by_speed_trial(writer, info, config, dataset)
    keras.utils.set_random_seed(config.seed)
    run_store.save_test_images(writer.store, dataset.test_key, dataset.test.ids, dataset.test.labels,
                               dataset.test.images)

    targets, teacher_seconds = _timed(teacher_targets, list(teachers), dataset, config.teacher_weight)
    distribution = distribution or distribute.distribution()
    with distribution.strategy.scope():  # the model's and the optimizer's variables are mirrored on each replica
        model = _built_model(config, dataset)
        with _failure_recorded(writer):
            history, best_epoch = _fitted(model, writer, distribution.applied(config), dataset, targets,
                                          verbose=verbose, extra_callbacks=extra_callbacks,
                                          whole_batches=distribution.replicas > 1)
    shipped = shipped_model(model, config, len(dataset.class_names))
    shipped.save(writer.model_path)
    test_metrics, evaluation_seconds = _timed(evaluate_into, writer.path, shipped, dataset)
    _, test_map_seconds = _timed(projection.add_test_map, writer.path, shipped, dataset.test.ids, dataset.test.images,
                                 seed=config.seed)
    writer.write_architecture(architecture.describe(model, config, epochs_run=len(history)))

    training_seconds = float(history["epoch_time"].sum())
    info = writer.finish(
        epochs_run=len(history),
        best_epoch=best_epoch,  # the epoch whose weights ship (keep_best), or None for the last
        training_seconds=training_seconds,
        **({"teacher_seconds": teacher_seconds} if config.teachers else {}),
        evaluation_seconds=evaluation_seconds,
        test_map_seconds=test_map_seconds,
        distribution=distribution.record(config.batch_size, config.learning_rate),
        images_per_second=len(dataset.train) * len(history) / training_seconds if training_seconds else None,
        test_accuracy=test_metrics["accuracy"],
    )
    record_hparams(writer.path, info, test_metrics)
    return writer.commit()
