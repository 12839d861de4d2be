"""Training past one device: reading TF_CONFIG, who writes the run, and how the batch and learning rate scale."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from paths import REPO_ROOT

from trainers.training import distribute
from trainers.training.distribute import Distribution, DistributionError


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


# ---------------------------------------------------------------- training across replicas, for real

MIRRORED_TRAINING = """
import sys
import tensorflow as tf

# Two logical CPUs stand in for two GPUs; this must happen before TensorFlow starts.
tf.config.set_logical_device_configuration(tf.config.list_physical_devices("CPU")[0],
                                           [tf.config.LogicalDeviceConfiguration()] * 2)
from trainers.training import distribute
from trainers.train import main

distribute.distribution = lambda environ=None: distribute.mirrored(["/cpu:0", "/cpu:1"])
sys.exit(main(sys.argv[1:]))
"""


def training_flags(image_folder, store, name: str) -> list[str]:
    # One image per replica: the 3 validation images make a full first batch (Keras 3 averages the first batch
    # over the replicas to learn its shapes, which fails on a batch split unevenly).
    return ["cnn_v3", "--name", name, "--dataset", f"folder:{image_folder}", "--artifacts", str(store),
            "--image-size", "16", "--epochs", "2", "--batch-size", "1", "--lr", "0.005", "--precision", "float32",
            "--verbose", "0", "--author", "tester"]


def run_python(arguments: list[str], env: dict | None = None, **popen) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, *arguments], cwd=REPO_ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}, **popen)


@pytest.mark.slow  # trains in a fresh interpreter
def test_mirrored_training_over_two_devices_scales_batch_and_rate(image_folder, tmp_path):
    from trainers.store import run_store

    process = run_python(["-c", MIRRORED_TRAINING, *training_flags(image_folder, tmp_path / "store", "mirrored")])
    output, _ = process.communicate(timeout=600)
    assert process.returncode == 0, output
    run = run_store.load_run(tmp_path / "store" / "mirrored")
    assert run.info["distribution"] == {"strategy": "mirrored on 2 devices", "replicas": 2, "global_batch_size": 2,
                                        "learning_rate": pytest.approx(0.01)}
    assert run.config["batch_size"] == 1 and run.config["learning_rate"] == pytest.approx(0.005)  # per replica
    assert run.history["epoch"].tolist() == [0, 1] and run.history["loss"].notna().all()
    assert run.predictions.probabilities.shape == (len(run.predictions.ids), 3)


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for probe in sockets:
        probe.bind(("127.0.0.1", 0))
    ports = [probe.getsockname()[1] for probe in sockets]
    for probe in sockets:
        probe.close()
    return ports


@pytest.mark.slow  # trains in two fresh interpreters
def test_two_workers_train_one_run_that_only_the_chief_writes(image_folder, tmp_path):
    from trainers.store import run_store

    workers = [f"127.0.0.1:{port}" for port in free_ports(2)]
    store = tmp_path / "store"
    processes = [run_python(["-m", "trainers.train", *training_flags(image_folder, store, "two-workers")],
                            env={"TF_CONFIG": json.dumps({"cluster": {"worker": workers},
                                                          "task": {"type": "worker", "index": index}})})
                 for index in range(2)]
    outputs = [process.communicate(timeout=600)[0] for process in processes]
    assert [process.returncode for process in processes] == [0, 0], outputs
    run = run_store.load_run(store / "two-workers")
    assert run.info["distribution"]["strategy"] == "multi-worker mirrored, 2 workers"
    assert run.info["distribution"]["global_batch_size"] == 2
    # Only the chief wrote: the run, the test images, and nothing in progress.
    assert sorted(path.name for path in store.iterdir()) == ["datasets", "two-workers"]
    assert "Run written to" in outputs[0] and "the chief writes the run" in outputs[1]
