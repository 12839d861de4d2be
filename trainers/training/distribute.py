"""Training past one device: the tf.distribute strategy, the batch and learning rate it scales, and who writes.

- `TF_CONFIG` naming several workers: `MultiWorkerMirroredStrategy`; every
  worker runs the same command, and only the chief writes the run folder.
- Several GPUs visible: `MirroredStrategy` over them.
- Otherwise the default strategy: one device, as before.

The batch size a preset gives is per replica: the global batch grows with the
replicas, and the learning rate with it (the linear scaling rule of Goyal et
al., 2017), so one step of N replicas does the work of N steps of one.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass


class DistributionError(ValueError):
    """A cluster description (TF_CONFIG) that cannot be used; the message says why."""


@dataclass(frozen=True)
class Distribution:
    """How a run is spread: the strategy, what it is in words, and this process's part."""

    strategy: object  # a tf.distribute.Strategy
    description: str
    replicas: int
    chief: bool = True

    def scaled(self, batch_size: int, learning_rate: float) -> tuple[int, float]:
        """The global batch size and the learning rate for a per-replica batch size and its learning rate."""
        return batch_size * self.replicas, learning_rate * self.replicas

    def applied(self, config):
        """The TrainConfig the replicas train with together: its batch sizes global, its learning rates scaled.
        run.json keeps the per-replica configuration and `record`."""
        if self.replicas == 1:
            return config
        batch_size, learning_rate = self.scaled(config.batch_size, config.learning_rate)
        return dataclasses.replace(config, batch_size=batch_size, learning_rate=learning_rate,
                                   finetune_learning_rate=config.finetune_learning_rate * self.replicas)

    def record(self, batch_size: int, learning_rate: float) -> dict:
        """What run.json keeps of it."""
        global_batch, scaled_rate = self.scaled(batch_size, learning_rate)
        return {"strategy": self.description, "replicas": self.replicas, "global_batch_size": global_batch,
                "learning_rate": scaled_rate}


def cluster(environ=os.environ) -> dict | None:
    """TF_CONFIG read and checked; None when it is unset or names a single worker.

    Raises:
        DistributionError: it is not JSON, has no cluster or task, or the task is not in the cluster.
    """
    text = environ.get("TF_CONFIG", "").strip()
    if not text:
        return None
    try:
        config = json.loads(text)
    except ValueError as error:
        raise DistributionError(f"TF_CONFIG is not JSON: {error}") from None
    if not isinstance(config, dict) or not isinstance(config.get("cluster"), dict) \
            or not isinstance(config.get("task"), dict):
        raise DistributionError('TF_CONFIG needs {"cluster": {"worker": ["host:port", ...]}, '
                                '"task": {"type": "worker", "index": 0}}')
    task_type, index = config["task"].get("type"), config["task"].get("index", 0)
    members = config["cluster"].get(task_type)
    if not isinstance(members, list) or not isinstance(index, int) or not 0 <= index < len(members):
        raise DistributionError(f"TF_CONFIG's task {task_type!r} #{index} is not one of its cluster's "
                                f"{sorted(config['cluster'])}")
    return config if _workers(config) > 1 else None


def _workers(config: dict) -> int:
    return sum(len(config["cluster"].get(kind, [])) for kind in ("chief", "worker"))


def is_chief(config: dict | None) -> bool:
    """Whether this process writes the run: alone, the chief, or worker 0 of a cluster without a chief."""
    if config is None:
        return True
    task = config["task"]
    if task.get("type") == "chief":
        return True
    return task.get("type") == "worker" and task.get("index", 0) == 0 and "chief" not in config["cluster"]


def distribution(environ=os.environ) -> Distribution:
    """The strategy for this process, from TF_CONFIG and the visible GPUs (see the module's docstring)."""
    import tensorflow as tf

    config = cluster(environ)
    if config is not None:
        strategy = _with_nested_reduce(tf.distribute.MultiWorkerMirroredStrategy())
        return Distribution(strategy, f"multi-worker mirrored, {_workers(config)} workers",
                            strategy.num_replicas_in_sync, is_chief(config))
    gpus = tf.config.list_logical_devices("GPU")
    if len(gpus) > 1:
        return mirrored([gpu.name for gpu in gpus])
    return Distribution(tf.distribute.get_strategy(), "one device", 1)


def mirrored(devices: list[str]) -> Distribution:
    """`MirroredStrategy` over the named devices (GPUs; or logical CPUs, which is how it is tested)."""
    import tensorflow as tf

    strategy = tf.distribute.MirroredStrategy(devices)
    return Distribution(strategy, f"mirrored on {len(devices)} devices", strategy.num_replicas_in_sync)


def _with_nested_reduce(strategy):
    """The strategy with a `reduce` that Keras 3's `fit` can use across workers (keras-team/keras#20585).

    Keras reduces a whole (images, labels) batch in one call, and each scalar metric over axis 0; the
    collective strategy's `reduce` takes one value at a time and has no axis 0 on a scalar. This reduces
    each value of a structure apart, and a scalar over the replicas alone. Only this strategy object changes.
    """
    import tensorflow as tf

    reduce = strategy.reduce

    def rank(value) -> int:
        first = value.values[0] if isinstance(value, tf.distribute.DistributedValues) else tf.convert_to_tensor(value)
        return first.shape.rank

    def nested_reduce(reduce_op, value, axis=None):
        if tf.nest.is_nested(value):
            return tf.nest.map_structure(lambda part: nested_reduce(reduce_op, part, axis), value)
        return reduce(reduce_op, value, axis=None if axis is not None and rank(value) == 0 else axis)

    strategy.reduce = nested_reduce
    return strategy
