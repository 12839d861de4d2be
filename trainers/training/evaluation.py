"""A fitted model's record in its run folder: the test and validation predictions, the test metrics, and
TensorBoard's HParams entry. Training, `trainers.evaluate` and the import of a user's model all write through here.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

from trainers.analysis import recording
from trainers.inference.predict import predict
from trainers.presets import TrainConfig
from trainers.store import run_store
from trainers.training.data import ImageDataset


def evaluate_into(run_path: Path, model, dataset: ImageDataset, *, validation: bool = True) -> dict:
    """Predicts the test and validation splits, stores their predictions and the test metrics in a run folder.

    Args:
        validation: also predict the validation split and store its predictions, which temperature scaling
            is fitted on (only when it is the split the run held out: see `trainers.evaluate`).

    Returns:
        The test metrics.
    """
    def predicted(split) -> recording.SplitPredictions:
        return recording.SplitPredictions(split.ids, split.labels, predict(model, split.images))

    return recording.write_results(run_path, predicted(dataset.test), dataset.class_names,
                                   predicted(dataset.validation) if validation else None)


def record_hparams(run_path: Path, info: dict, test_metrics: dict) -> Path:
    """Writes a run's configuration and test figures for TensorBoard's HParams dashboard; returns the file.

    `tensorboard --logdir STORE` then lists the run as a session named by its folder, with the epoch
    scalars Keras logged beside it. Writing again replaces the previous record.
    """
    # TensorBoard's own summaries and record framing, written to a plain file: tf.summary, and TensorBoard's
    # EventFileWriter (through tf.io.gfile), import TensorFlow wherever it is installed, and an ONNX model's import
    # runs without it.
    from tensorboard.compat.proto import event_pb2
    from tensorboard.compat.proto.summary_pb2 import Summary
    from tensorboard.plugins.hparams.summary_v2 import hparams_pb
    from tensorboard.plugins.scalar.metadata import create_summary_metadata
    from tensorboard.summary.writer.record_writer import RecordWriter
    from tensorboard.util.tensor_util import make_tensor_proto

    folder = Path(run_path) / run_store.TENSORBOARD_DIR
    folder.mkdir(exist_ok=True)
    for old in folder.glob("events.out.tfevents.*"):  # Keras writes into train/ and validation/, never here
        old.unlink()
    # A trained run's whole configuration, older records' missing fields at their defaults; an imported model's
    # or an ensemble's record as it is.
    kind = info["config"]["kind"]
    config = TrainConfig.from_dict(info["config"]).to_dict() if kind == run_store.KIND_TRAINED else info["config"]
    values = {"preset": info.get("preset", ""), "kind": kind,
              **{name: _hparam(value) for name, value in config.items()}}
    step = int(info.get("epochs_run") or 0)
    scalars = Summary(value=[  # as tf.summary.scalar writes them
        Summary.Value(tag=f"test_{name}", tensor=make_tensor_proto(float(test_metrics[name]), dtype="float32"),
                      metadata=create_summary_metadata(display_name=None, description=None))
        for name in ("accuracy", "macro_f1", "log_loss")])
    now = time.time()
    events = [event_pb2.Event(wall_time=now, file_version="brain.Event:2"),
              event_pb2.Event(wall_time=now, step=step, summary=hparams_pb(values, trial_id=Path(run_path).name)),
              event_pb2.Event(wall_time=now, step=step, summary=scalars)]
    path = folder / f"events.out.tfevents.{int(now)}.{socket.gethostname()}"
    records = RecordWriter(path.open("wb"))
    for event in events:
        records.write(event.SerializeToString())
    records.close()
    return path


def _hparam(value):
    """A configuration value as HParams takes it: bool, int, float or str (sequences comma-joined)."""
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    return value if isinstance(value, (bool, int, float, str)) else str(value)
