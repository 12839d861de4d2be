"""`python -m trainers.evaluate RUN... --corruptions`: every unit predicted once, in shares, after a kill, and by two
processes at once; runs without a model skipped. The runs' real models pick one class whatever the image, so each
unit's accuracy is known: `cats` gets the cat of the three test images (a cat, a dog, an owl) right."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import fsspec
import numpy as np
import pytest

from fake_runs import write_fake_run
from paths import REPO_ROOT
from test_remote_store import bucket, s3_server  # noqa: F401 - fixtures of a bucket on a local S3 server
from trainers.evaluate import main
from trainers.store import corruption_results, remote_store, run_store
from trainers.store.corruption_results import CORRUPTIONS, SEVERITIES
from trainers.training.corruption_units import Shard, evaluate_corruptions

UNITS = len(CORRUPTIONS) * len(SEVERITIES)


def store_runs(store: Path) -> list:
    return [run_store.load_run(store / name) for name in ("cats", "dogs")]


def records(store: Path) -> dict:
    """Every unit's record, by (run, corruption, severity)."""
    return {(run, *unit): corruption_results.unit_record(store / run, *unit)
            for run in ("cats", "dogs") for unit in corruption_results.units(store / run)}


def test_every_unit_once_a_run_without_a_model_skipped_and_the_next_call_goes_on(one_class_store, capsys):
    write_fake_run(one_class_store, "no_model", info={"model_file": None, "no_model": "recorded from arrays"})
    runs = [*store_runs(one_class_store), run_store.load_run(one_class_store / "no_model")]
    said = []
    outcome = evaluate_corruptions(runs, images=3, say=said.append, progress=False)
    assert len(outcome.predicted) == 2 * UNITS and set(outcome.skipped) == {"no_model"}
    assert said[0].startswith("no_model: skipped: ") and "no model" in said[0]
    assert said[1] == f"{2 * UNITS} units to predict, 0 done already; 3 class-balanced test images per unit"
    for (run, corruption, severity), record in records(one_class_store).items():
        predictions, _ = corruption_results.read_unit(one_class_store / run, corruption, severity)
        assert (predictions.predicted == (0 if run == "cats" else 1)).all()
        assert record["images"] == 3 and record["profile"] == "cifar"
    assert not list(one_class_store.glob("*/corruptions/*.claim"))
    again = evaluate_corruptions(runs[:2], images=3, say=said.append, progress=False)
    assert again.predicted == [] and again.already_done == 2 * UNITS
    # Another subset size predicts every unit again, on that subset.
    assert len(evaluate_corruptions(runs[:2], images=2, say=said.append, progress=False).predicted) == 2 * UNITS


def test_shards_split_the_units_between_them(one_class_store):
    runs = store_runs(one_class_store)
    first = evaluate_corruptions(runs, images=3, shard=Shard.parse("1/2"), say=lambda _: None, progress=False)
    second = evaluate_corruptions(runs, images=3, shard=Shard.parse("2/2"), say=lambda _: None, progress=False)
    assert len(first.predicted) == len(second.predicted) == UNITS
    assert not set(first.predicted) & set(second.predicted)
    assert len(records(one_class_store)) == 2 * UNITS


@pytest.mark.parametrize("text", ["3/2", "0/2", "1", "a/b", "1/2/3"])
def test_a_shard_is_k_of_n(text):
    with pytest.raises(ValueError, match="--shard"):
        Shard.parse(text)


def test_the_command_says_what_each_run_has(one_class_store, capsys):
    assert main([str(one_class_store / "cats"), "--corruptions", "--images", "3", "--shard", "1/75"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^1 units predicted here \(generating [\d.]+ s, predicting [\d.]+ s, writing [\d.]+ s\)$", out,
                     re.MULTILINE)
    assert f"{one_class_store / 'cats'}: 1 of 75 units on 3 images; accuracy 0.3333 clean, 0.3333 corrupted" in out


@pytest.mark.parametrize("argv, message", [
    (["cats", "--images", "5"], "--images and --shard go with --corruptions"),
    (["cats", "--corruptions", "--dataset", "cifar10"], "--dataset and --eval-set do not apply"),
    (["cats", "--corruptions", "--images", "0"], "--images 0: give at least 1"),
])
def test_the_command_refuses_what_does_not_fit(one_class_store, capsys, argv, message):
    with pytest.raises(SystemExit):
        main([str(one_class_store / argv[0]), *argv[1:]])
    assert message in capsys.readouterr().err


def command(store: Path, *extra) -> list[str]:
    return [sys.executable, "-m", "trainers.evaluate", str(store / "cats"), str(store / "dogs"), "--corruptions",
            "--images", "3", *extra]


def run_in(store: Path, *extra) -> subprocess.Popen:
    return subprocess.Popen(command(store, *extra), cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})


def predicted_here(output: str) -> int:
    """How many units the command says it predicted ("12 units predicted here (generating 0.1 s, ...)")."""
    return int(re.search(r"^(\d+) units predicted here", output, re.MULTILINE).group(1))


@pytest.mark.slow
def test_a_kill_keeps_what_is_done_and_the_next_call_goes_on(one_class_store):
    process = run_in(one_class_store)
    deadline = time.monotonic() + 120
    while len(list(one_class_store.glob("*/corruptions/*.npz"))) < 10 and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    before = {unit: record["evaluated_at"] + record["evaluated_by"] for unit, record in records(one_class_store).items()}
    assert 10 <= len(before) < 2 * UNITS
    finished = subprocess.run(command(one_class_store), cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert predicted_here(finished.stdout) == 2 * UNITS - len(before)
    after = records(one_class_store)
    assert len(after) == 2 * UNITS
    assert all(after[unit]["evaluated_at"] + after[unit]["evaluated_by"] == kept for unit, kept in before.items())
    assert not list(one_class_store.glob("*/corruptions/*.claim"))


@pytest.mark.slow
def test_two_processes_on_one_store_never_predict_a_unit_twice(one_class_store):
    first, second = run_in(one_class_store), run_in(one_class_store)
    outputs = [process.communicate(timeout=300)[0] for process in (first, second)]
    assert [process.returncode for process in (first, second)] == [0, 0], outputs
    # Every unit predicted by one process or the other, and the two counts add up to the units: none twice.
    assert sum(predicted_here(output) for output in outputs) == 2 * UNITS, outputs
    writers = {record["evaluated_by"].split(":")[1] for record in records(one_class_store).values()}
    assert writers <= {str(first.pid), str(second.pid)}
    assert len(records(one_class_store)) == 2 * UNITS
    assert np.all([not path.name.startswith("partial-") for path in one_class_store.glob("*/corruptions/*")])


@pytest.mark.slow
def test_machines_sharing_a_bucket_split_the_units_and_each_adds_its_own(one_class_store, bucket, tmp_path,
                                                                          monkeypatch, capsys):
    for run_id in ("cats", "dogs"):
        remote_store.publish(one_class_store / run_id, bucket)
    # Another machine holds one unit: its claim, recent, is in the bucket.
    held = "cats/corruptions/fog-3.claim"
    assert remote_store.create_exclusively(bucket, held, b'{"host": "other", "pid": 1, "since": %f}' % time.time())
    assert not remote_store.create_exclusively(bucket, held, b"{}")
    counts = []
    for machine, shard in (("one", "1/2"), ("two", "2/2")):  # each machine with its own mirror folder
        monkeypatch.setenv("CNN_COMPARE_CACHE", str(tmp_path / machine))
        assert main([f"{bucket}/cats", f"{bucket}/dogs", "--corruptions", "--images", "3", "--shard", shard]) == 0
        counts.append(predicted_here(capsys.readouterr().out))
    assert sum(counts) == 2 * UNITS - 1
    monkeypatch.setenv("CNN_COMPARE_CACHE", str(tmp_path / "reader"))
    mirrored = remote_store.mirror(bucket)
    assert len(records(mirrored)) == 2 * UNITS - 1 and ("cats", "fog", 3) not in records(mirrored)
    assert remote_store.read_file(bucket, held) is not None  # the other machine's claim is left alone
    claims = [key for key in fsspec.filesystem("s3").find(bucket.removeprefix("s3://")) if ".claim" in key]
    assert claims == [f"{bucket.removeprefix('s3://')}/{held}"]
