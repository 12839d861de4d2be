"""`RecordRun`: a Keras callback that records the user's own `model.fit` as a run of the store.

    model.fit(x, y, epochs=10, validation_data=(x_val, y_val),
              callbacks=[RecordRun("kk-vgg16", test_data=(x_test, y_test), class_names=names, author="KK")])

At train begin the run is created in the store's partial folder (the dashboard shows it in progress), each
epoch's logs are appended to its history, and at train end the model is tested and the run committed:
predictions, metrics, the model as the contract ships it (raw 0-255 pixels in, probabilities out), the test
images, the test-set map. A second `fit` with the same callback (fine-tuning) goes on with the same run.

Keras calls no callback when `fit` ends in an exception or a Ctrl-C. The run's heartbeat then stops, and the
store shows it as interrupted (`trainers.store.progress`); for the exact reason, use the callback as a context
manager (or call `stopped(error)`), which records the run as failed with it::

    with RecordRun("kk-vgg16", test_data=(x_test, y_test), class_names=names) as recorder:
        model.fit(x, y, epochs=10, callbacks=[recorder])

Only Keras' public callback interface is used: what `fit` was given beyond its epochs and steps (the batch size,
the training images, the validation data) is not readable there, and is passed to the callback when wanted.
"""

from __future__ import annotations

import getpass
import os
import time
from contextlib import contextmanager

import keras
import numpy as np

from trainers.analysis import recording
from trainers.inference import architecture, machine, projection
from trainers.inference.predict import load_model, predict
from trainers.store import progress, run_store
from trainers.training.evaluation import record_hparams
from trainers.training.model_import import INPUT_SCALES, returns_logits, shippable

PRESET = "recorded"
# How often a training step says the run is alive (`progress.beat`): a file written at most this often.
BEAT_SECONDS = 10.0


def split_arrays(data, what: str) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) as NumPy arrays from (x, y) arrays or a `tf.data.Dataset` of (x, y) batches."""
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return np.asarray(data[0]), np.asarray(data[1])
    if hasattr(data, "as_numpy_iterator"):
        batches = list(data.as_numpy_iterator())
        if not batches or not all(isinstance(batch, tuple) and len(batch) >= 2 for batch in batches):
            raise ValueError(f"{what} is a dataset, but not one of (images, labels) batches")
        return np.concatenate([batch[0] for batch in batches]), np.concatenate([batch[1] for batch in batches])
    raise ValueError(f"{what} takes (x, y) arrays or a tf.data.Dataset of (x, y) batches")


def raw_pixels(x: np.ndarray, input_scale: str) -> np.ndarray | None:
    """The images the model was given in `input_scale`, as raw uint8 pixels; None when they are not square RGB."""
    if x.ndim != 4 or x.shape[3] != 3 or x.shape[1] != x.shape[2]:
        return None
    scale, offset = INPUT_SCALES[input_scale]
    return np.clip(np.round((x.astype(np.float64) - offset) / scale), 0, 255).astype(np.uint8)


def _learning_rate(optimizer) -> float | None:
    try:
        return float(keras.ops.convert_to_numpy(optimizer.learning_rate))
    except (AttributeError, TypeError, ValueError):
        return None


def _loss_name(loss) -> str | None:
    if loss is None:
        return None
    return getattr(loss, "name", None) or getattr(loss, "__name__", None) or str(loss)


def failure_reason(error: BaseException) -> str:
    """How an exception that ended `fit` reads in the store's list of runs it cannot show."""
    if isinstance(error, KeyboardInterrupt):
        return "interrupted (Ctrl-C or the notebook's stop button)"
    first_line = (str(error).strip().splitlines() or [""])[0]
    return f"{type(error).__name__}: {first_line}" if first_line else type(error).__name__


class EpochHistory(keras.callbacks.Callback):
    """Writes each epoch's logs, learning rate and wall time into a run's history.csv, in the contract's columns
    (`recording.history_table`), after every epoch: the dashboard reads it while training goes on.

    Args:
        history_path: the run's history.csv (or None until the run exists). Rows already in it are kept, so
            a resumed fit goes on with them; an epoch logged again replaces its row.
        keras_epochs: number rows by Keras' epoch (resumes and fine-tuning phases pass `initial_epoch`);
            otherwise by the count of rows, so a second `fit` of the user's own code continues the numbering.
    """

    def __init__(self, history_path=None, *, keras_epochs: bool = True):
        super().__init__()
        self.history_path = history_path
        self.keras_epochs = keras_epochs
        self.rows: list[dict] = []
        self._last_beat = 0.0

    def on_train_begin(self, logs=None):
        path = self.history_path
        if path is not None and path.exists() and path.stat().st_size:
            self.rows = recording.history_table(path).to_dict("records")
        self.beat()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if time.monotonic() - self._last_beat > BEAT_SECONDS:
            self.beat()

    def beat(self) -> None:
        """Says the run is alive (`progress.beat`): a run whose beats stop is shown as interrupted."""
        if self.history_path is not None and self.history_path.parent.is_dir():
            progress.beat(self.history_path.parent)
            self._last_beat = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        number = epoch if self.keras_epochs else len(self.rows)
        row = {"epoch": number, **{key: float(value) for key, value in (logs or {}).items()},
               "learning_rate": _learning_rate(self.model.optimizer),
               "epoch_time": time.perf_counter() - self._epoch_start}
        self.rows = [kept for kept in self.rows if kept["epoch"] != number] + [row]
        self.write()
        self.beat()

    def write(self) -> None:
        partial = self.history_path.with_name("partial-" + self.history_path.name)
        recording.history_table(self.rows).to_csv(partial, index=False)
        os.replace(partial, self.history_path)  # whole or not at all: the dashboard may be reading it


class RecordRun(EpochHistory):
    """Records a `model.fit` as a run of the store, which the dashboard then compares with every other run.

    Args:
        name: the run's folder name. A name already in the store is refused (naming a free one) unless
            `overwrite=True`, which starts it over: re-running a notebook cell never mixes two histories.
        test_data: (x_test, y_test) arrays, or a tf.data.Dataset of (x, y) batches; labels as indices or one-hot.
        class_names: the classes of the model's outputs, in order (default: the dataset's `class_names`, as
            `keras.utils.image_dataset_from_directory` sets them).
        validation_data: (x, y) of the validation images (fit's, say), predicted at the end for the Calibration
            page, which fits a temperature on them.
        input_scale: the range of the pixels the model takes: "0-255", "0-1" or "-1-1". The stored model takes
            raw 0-255 pixels (the scaling is put in front), as every run's does.
        ids: a stable id per test image (default: its position); `dataset` names the test set. Runs are compared
            with runs of the same test set only.
        config: your own settings (the batch size, the number of training images...), recorded beside what the
            callback reads itself (optimizer, learning rate, loss, epochs, steps per epoch, parameters).
        store: the run store (default $ARTIFACTS_DIR, else artifacts/).
    """

    def __init__(self, name: str, test_data, class_names=None, *, validation_data=None, input_scale: str = "0-255",
                 author: str | None = None, store=None, config: dict | None = None, comment: str = "",
                 ids=None, dataset: str = "arrays", overwrite: bool = False):
        super().__init__(keras_epochs=False)
        if input_scale not in INPUT_SCALES:
            raise ValueError(f"input_scale must be one of {', '.join(INPUT_SCALES)}, got '{input_scale}'")
        class_names = class_names if class_names is not None else getattr(test_data, "class_names", None)
        if class_names is None:
            raise ValueError("name the classes: class_names=[...] in the order of the model's outputs")
        self.name = name
        self.class_names = recording.checked_class_names(class_names)
        self.test = split_arrays(test_data, "test_data")
        self.validation = split_arrays(validation_data, "validation_data") if validation_data is not None else None
        self.ids = ids
        self.input_scale = input_scale
        self.author = author or getpass.getuser()
        self.store = run_store.resolve_store(store)
        self.user_config = dict(config or {})
        self.comment = comment
        self.dataset = dataset
        self.overwrite = overwrite
        self.writer: run_store.RunWriter | None = None
        self.run_path = None  # the committed run, once fit has ended

    # -- the exact status of a fit that ends in an exception ------------------------------------------------

    def __enter__(self) -> "RecordRun":
        return self

    def __exit__(self, kind, error, traceback) -> bool:
        if error is not None:
            self.stopped(error)
        return False  # the exception goes on

    def stopped(self, error: BaseException):
        """Records that `fit` ended in `error` (an exception, or KeyboardInterrupt for a Ctrl-C): the run is moved
        into the store marked failed, with the reason; returns its folder (None if no run was being written)."""
        return self._failed(error)

    # -- the run's start, epochs and end -------------------------------------------------------------------

    def on_train_begin(self, logs=None):
        if self.run_path is not None:  # a second fit of the same model: the same run goes on
            self.writer.reopen()
            self.run_path = None
        else:
            self._check_outputs()
            self.writer = run_store.claimed_writer(self.store, self.name, overwrite=self.overwrite)
            self.writer.create(self._new_info())
            self.history_path = self.writer.history_path
            self.write()  # the header: the run shows in progress before its first epoch ends
        self.beat()

    def on_epoch_end(self, epoch, logs=None):
        with self._failures_recorded():
            super().on_epoch_end(epoch, logs)

    def on_train_end(self, logs=None):
        with self._failures_recorded():
            self.run_path = self._committed()

    # -- what the run records ------------------------------------------------------------------------------

    def _check_outputs(self) -> None:
        outputs = self.model.output_shape[-1] if hasattr(self.model, "output_shape") else None
        if outputs is not None and outputs != len(self.class_names):
            raise ValueError(f"the model returns {outputs} outputs, but {len(self.class_names)} classes are named "
                             f"({', '.join(self.class_names[:12])})")

    def _new_info(self) -> dict:
        x_test = self.test[0]
        image_size = int(x_test.shape[1]) if x_test.ndim == 4 else 0
        read = {  # what Keras' callback interface shows of the fit
            "optimizer": type(self.model.optimizer).__name__ if self.model.optimizer else None,
            "learning_rate": _learning_rate(self.model.optimizer) if self.model.optimizer else None,
            "loss": _loss_name(getattr(self.model, "loss", None)),
            "epochs": self.params.get("epochs"),
            "steps_per_epoch": self.params.get("steps"),
            "params": int(self.model.count_params()),
        }
        config = {**read, **self.user_config, "image_size": image_size, "input_scale": self.input_scale}
        train_images = config.get("train_images")
        dataset = {"name": self.dataset, "spec": "", "test_key": "", "class_names": self.class_names,
                   "image_size": image_size, "limit": None,
                   "sizes": {"train": train_images if isinstance(train_images, int) else None, "test": len(x_test),
                             "validation": len(self.validation[0]) if self.validation else 0}}
        return run_store.new_run_info(config, dataset, kind=run_store.KIND_RECORDED, preset=PRESET,
                                      author=self.author, command=machine.command_line(), comment=self.comment,
                                      hardware=machine.hardware(), versions=machine.library_versions())

    def _predicted(self, x, y, ids, what: str) -> recording.SplitPredictions:
        outputs = predict(self.model, x)
        return recording.checked_split(y, recording.as_probabilities(outputs, f"model's {what} outputs"),
                                       self.class_names, ids, what=what)

    def _committed(self):
        writer, info = self.writer, self.writer.read_info()
        x_test, y_test = self.test
        test = self._predicted(x_test, y_test, self.ids, "test")
        validation = self._predicted(*self.validation, None, "validation") if self.validation else None
        pixels = raw_pixels(x_test, self.input_scale)
        image_size = info["config"]["image_size"]
        info["dataset"]["test_key"] = run_store.test_set_key(self.dataset, image_size, test.ids, test.labels)
        if pixels is not None:
            run_store.save_test_images(self.store, info["dataset"]["test_key"], test.ids, test.labels, pixels)
        test_metrics = recording.write_results(writer.path, test, self.class_names, validation)
        self.beat()
        info = self._with_model(info, pixels, test)  # with the test-set map: the longest step on a large test set
        self.beat()
        described = architecture.describe(self.model, None, epochs_run=len(self.rows))
        described["summary"].update(optimizer=info["config"]["optimizer"], loss=info["config"]["loss"])
        writer.write_architecture(described)
        epoch_times = [row["epoch_time"] for row in self.rows]
        train_images = info["config"].get("train_images")
        writer.write_info(info)
        info = writer.finish(epochs_run=len(self.rows), training_seconds=float(sum(epoch_times)),
                             images_per_second=(train_images * len(self.rows) / sum(epoch_times)
                                                if isinstance(train_images, int) and sum(epoch_times) else None),
                             test_accuracy=test_metrics["accuracy"])
        record_hparams(writer.path, info, test_metrics)
        return writer.commit()

    def _with_model(self, info: dict, pixels, test: recording.SplitPredictions) -> dict:
        """Saves the model as the contract ships it and checks it loads in safe mode; the run's info, saying why
        it has no model when it cannot be shipped (inputs that are not images, custom layers)."""
        path = self.writer.model_path
        if pixels is None:
            return run_store.without_model(info, f"its model takes inputs of shape {self.model.input_shape}, not "
                                                 "square RGB images")
        sample = predict(self.model, self.test[0][:64])
        order = np.arange(len(self.class_names))
        try:
            shippable(self.model, self.input_scale, order, logits=returns_logits(sample)).save(path)
            load_model(run_store.Run(self.writer.path, {**info, "model_file": run_store.MODEL_FILE}))
        except Exception as error:  # noqa: BLE001 - custom layers, lambdas: safe mode refuses many things
            path.unlink(missing_ok=True)
            return run_store.without_model(info, f"its model cannot be saved and loaded in Keras' safe mode "
                                                 f"({str(error).splitlines()[0][:200]})")
        # The map reads the user's own network (the shipped one nests it behind the input scaling), on its inputs.
        projection.add_test_map(self.writer.path, self.model, test.ids, self.test[0], seed=0)
        return {**info, "model_file": run_store.MODEL_FILE}

    # -- a failure inside this callback, or one the user reports -------------------------------------------

    @contextmanager
    def _failures_recorded(self):
        try:
            yield
        except BaseException as error:
            self._failed(error)
            raise

    def _failed(self, error: BaseException):
        """Records the run as failed with the reason; its folder, or None when no run was being written."""
        writer, self.writer = self.writer, None
        if writer is None or not writer.path.exists():
            return None
        try:
            self.run_path = None
            return writer.fail(failure_reason(error), len(self.rows))
        except Exception:  # noqa: BLE001 - the user's exception is the one to see
            writer.discard()
