"""Training past one device: reading TF_CONFIG, who writes the run, and how the batch and learning rate scale."""

from __future__ import annotations

import json

import pytest

from trainers import distribute
from trainers.distribute import Distribution, DistributionError


def tf_config(task_type="worker", index=0, **cluster) -> dict:
    cluster = cluster or {"worker": ["127.0.0.1:1000", "127.0.0.1:1001"]}
    return {"TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": task_type, "index": index}})}


def test_no_cluster_means_one_process_that_writes():
    assert distribute.cluster({}) is None and distribute.cluster({"TF_CONFIG": "  "}) is None
    # A cluster of one worker is no cluster: nothing to mirror across.
    assert distribute.cluster(tf_config(worker=["127.0.0.1:1000"])) is None
    assert distribute.is_chief(None)


@pytest.mark.parametrize(("environ", "chief"), [
    (tf_config("worker", 0), True),  # worker 0 leads a cluster without a chief
    (tf_config("worker", 1), False),
    (tf_config("chief", 0, chief=["h:1"], worker=["h:2"]), True),
    (tf_config("worker", 0, chief=["h:1"], worker=["h:2"]), False),
])
def test_only_the_chief_writes(environ, chief):
    assert distribute.is_chief(distribute.cluster(environ)) is chief


@pytest.mark.parametrize(("text", "message"), [
    ("{not json", "not JSON"),
    (json.dumps({"cluster": {"worker": ["h:1", "h:2"]}}), "needs"),
    (json.dumps({"cluster": {"worker": ["h:1", "h:2"]}, "task": {"type": "worker", "index": 2}}), "#2 is not one"),
    (json.dumps({"cluster": {"worker": ["h:1", "h:2"]}, "task": {"type": "ps", "index": 0}}), "'ps' #0"),
])
def test_a_broken_tf_config_is_named(text, message):
    with pytest.raises(DistributionError, match=message):
        distribute.cluster({"TF_CONFIG": text})


def test_batch_and_learning_rate_scale_with_the_replicas():
    four = Distribution(strategy=None, description="mirrored on 4 devices", replicas=4)
    assert four.scaled(128, 0.1) == (512, pytest.approx(0.4))
    assert four.record(128, 0.1) == {"strategy": "mirrored on 4 devices", "replicas": 4, "global_batch_size": 512,
                                     "learning_rate": pytest.approx(0.4)}
    assert Distribution(None, "one device", 1).scaled(128, 0.1) == (128, 0.1)


def test_one_device_without_a_cluster_or_gpus():
    chosen = distribute.distribution({})
    assert (chosen.description, chosen.replicas, chosen.chief) == ("one device", 1, True)
