"""The corruption subset, the corruption errors of Hendrycks and Dietterich worked out by hand, and a run's results
read back from the store."""

import socket
import time

import numpy as np
import pandas as pd
import pytest

from fake_runs import write_fake_run
from trainers.analysis import robustness
from trainers.analysis.robustness import Robustness
from trainers.store import corruption_results
from trainers.store.corruption_results import CORRUPTIONS, SEVERITIES
from trainers.store.run_store import Predictions, RunError

# Two corruptions of a baseline and a run, error rates by severity.
BASELINE = pd.DataFrame([[0.1, 0.2, 0.3, 0.4, 0.5], [0.2] * 5], index=["c1", "c2"], columns=SEVERITIES)
RUN = pd.DataFrame([[0.05, 0.1, 0.15, 0.2, 0.25], [0.3] * 5], index=["c1", "c2"], columns=SEVERITIES)


def test_corruption_errors_by_hand():
    # c1: 0.75 / 1.5 = 0.5; c2: 1.5 / 1.0 = 1.5; mCE = 100 x (0.5 + 1.5) / 2
    assert robustness.corruption_errors(RUN, BASELINE).tolist() == pytest.approx([0.5, 1.5])
    assert robustness.mean_corruption_error(RUN, BASELINE) == pytest.approx(100.0)
    assert robustness.mean_corruption_error(BASELINE, BASELINE) == pytest.approx(100.0)


def test_relative_corruption_errors_by_hand():
    # Clean errors 0.05 (run) and 0.1 (baseline). c1: (0.75 - 5 x 0.05) / (1.5 - 5 x 0.1) = 0.5 / 1.0;
    # c2: (1.5 - 0.25) / (1.0 - 0.5) = 2.5; relative mCE = 100 x (0.5 + 2.5) / 2.
    relative = robustness.relative_corruption_errors(RUN, 0.05, BASELINE, 0.1)
    assert relative.tolist() == pytest.approx([0.5, 2.5])
    assert robustness.relative_mean_corruption_error(RUN, 0.05, BASELINE, 0.1) == pytest.approx(150.0)


def test_a_baseline_without_errors_gives_no_corruption_error():
    perfect = BASELINE * 0
    assert robustness.corruption_errors(RUN, perfect).isna().all()
    assert robustness.relative_corruption_errors(RUN, 0.05, perfect, 0.0).isna().all()


def full_table(accuracy_of_corruption) -> pd.DataFrame:
    """An accuracy table over the 15 corruptions: each corruption's accuracy the same at every severity."""
    return pd.DataFrame([[accuracy_of_corruption(name)] * 5 for name in CORRUPTIONS], index=list(CORRUPTIONS),
                        columns=list(SEVERITIES))


def test_summary_ranks_by_clean_accuracy_and_by_mce():
    # "sharp" is better clean, "sturdy" under every corruption: errors 0.5 and 0.25 against the baseline's 0.5.
    results = {"base": Robustness(0.8, full_table(lambda name: 0.5), 10),
               "sharp": Robustness(0.9, full_table(lambda name: 0.5), 10),
               "sturdy": Robustness(0.85, full_table(lambda name: 0.75), 10)}
    table = robustness.summary(results, "base")
    assert table.loc["sturdy", "mCE"] == pytest.approx(50.0)  # 0.25 / 0.5 for every corruption
    assert table.loc["sharp", "mCE"] == pytest.approx(100.0)
    # relative: sturdy adds 0.25 - 0.15 = 0.10 per severity, the baseline 0.5 - 0.2 = 0.3
    assert table.loc["sturdy", "relative mCE"] == pytest.approx(100 * 0.10 / 0.30)
    assert table.loc["sharp", "relative mCE"] == pytest.approx(100 * 0.40 / 0.30)
    assert table["rank clean"].to_dict() == {"base": 3, "sharp": 1, "sturdy": 2}
    assert table["rank mCE"].to_dict() == {"base": 2, "sharp": 2, "sturdy": 1}
    assert table.loc["sturdy", "corrupted accuracy"] == pytest.approx(0.75)


def test_balanced_subset_takes_the_same_share_of_each_class_whatever_the_order():
    labels = np.array([0] * 4 + [1] * 3 + [2] * 5)
    ids = np.array([f"img{k}" for k in range(len(labels))])
    chosen = robustness.balanced_subset(ids, labels, 7)
    assert np.bincount(labels[chosen]).tolist() == [3, 2, 2]  # 7 = 3 x 2 + 1: the first class takes one more
    assert list(chosen) == sorted(chosen)
    order = np.random.default_rng(0).permutation(len(ids))
    assert set(ids[order][robustness.balanced_subset(ids[order], labels[order], 7)]) == set(ids[chosen])
    assert len(robustness.balanced_subset(ids, labels, 100)) == len(ids)
    with pytest.raises(ValueError, match="at least 1"):
        robustness.balanced_subset(ids, labels, 0)


def test_a_class_with_fewer_images_gives_all_it_has():
    labels = np.array([0] + [1] * 10)
    chosen = robustness.balanced_subset(np.arange(11).astype(str), labels, 6)
    assert np.bincount(labels[chosen]).tolist() == [1, 3]


def write_unit(run, corruption, severity, right: int, *, subset="s1", at="2026-01-01T00:00:00+00:00"):
    """Predictions on the run's three test images of which the first `right` are right."""
    labels = run.predictions.labels
    predicted = np.where(np.arange(3) < right, labels, (labels + 1) % 3)
    record = {"parameters": [0.1], "profile": "cifar", "images": 3, "subset": subset, "pixels": "p",
              "libraries": {}, "evaluated_at": at, "evaluated_by": "test:1"}
    corruption_results.write_unit(run.path, corruption, severity,
                                  Predictions(run.predictions.ids, labels, np.eye(3)[predicted]), record)


def test_run_robustness_reads_the_units_of_the_newest_subset(tmp_path):
    run = write_fake_run(tmp_path, "run", probabilities=np.eye(3)[[0, 1, 0]])  # clean: 2 of 3 right
    assert robustness.run_robustness(run) is None
    write_unit(run, "gaussian_noise", 1, 3)
    write_unit(run, "fog", 5, 1)
    write_unit(run, "snow", 2, 0, subset="older", at="2025-01-01T00:00:00+00:00")
    result = robustness.run_robustness(run)
    assert result.clean == pytest.approx(2 / 3) and result.images == 3
    assert result.accuracy.loc["gaussian_noise", 1] == 1.0
    assert result.accuracy.loc["fog", 5] == pytest.approx(1 / 3)
    assert np.isnan(result.accuracy.loc["snow", 2])  # another subset's
    assert not result.complete
    assert corruption_results.units(run.path) == [("gaussian_noise", 1), ("snow", 2), ("fog", 5)]


def test_broken_by_corruption_is_right_clean_and_wrong_corrupted(tmp_path):
    run = write_fake_run(tmp_path, "run", probabilities=np.eye(3)[[0, 1, 0]])  # image 2 wrong clean
    write_unit(run, "fog", 1, 1)  # only image 0 right corrupted
    corrupted, _ = corruption_results.read_unit(run.path, "fog", 1)
    assert robustness.broken_by_corruption(run.predictions, corrupted).tolist() == [run.predictions.ids[1]]


def test_units_are_named_checked_and_read_whole(tmp_path):
    run = write_fake_run(tmp_path, "run")
    with pytest.raises(ValueError, match="no corruption 'rain'"):
        corruption_results.unit_name("rain", 1)
    with pytest.raises(ValueError, match="no severity 6"):
        corruption_results.unit_name("fog", 6)
    with pytest.raises(ValueError, match="lacks parameters, profile, subset, pixels"):
        corruption_results.write_unit(run.path, "fog", 1, run.predictions, {"images": 3})
    with pytest.raises(RunError, match="no predictions on fog-1"):
        corruption_results.read_unit(run.path, "fog", 1)
    write_unit(run, "fog", 1, 2)
    (run.path / "corruptions" / "fog-1.npz").unlink()  # a kill between the record and the predictions
    assert corruption_results.unit_record(run.path, "fog", 1) is None
    assert corruption_results.units(run.path) == []


def test_one_process_alone_holds_a_claim_and_a_dead_ones_is_taken_over(tmp_path):
    run = write_fake_run(tmp_path, "run")
    assert corruption_results.claim(run.path, "fog", 1)
    assert not corruption_results.claim(run.path, "fog", 1)  # held by a live process: this one
    corruption_results.release(run.path, "fog", 1)
    claim = run.path / "corruptions" / "fog-2.claim"
    claim.write_text('{"host": "%s", "pid": 999999999, "since": %f}' % (socket.gethostname(), time.time()))
    assert corruption_results.claim(run.path, "fog", 2)  # its process is gone
    assert [path.name for path in claim.parent.iterdir()] == ["fog-2.claim"]
    claim.write_text('{"host": "elsewhere", "pid": 1, "since": %f}' % time.time())
    assert not corruption_results.claim(run.path, "fog", 2)  # another machine's, recent


def test_a_unit_keeps_each_pick_and_its_probability_exactly_and_a_damaged_one_is_refused(tmp_path):
    run = write_fake_run(tmp_path, "run")
    probabilities = np.array([[0.7, 0.2, 0.1], [0.1, 0.45, 0.45], [0.3, 0.3, 0.4]], np.float32)
    record = {"parameters": [0.1], "profile": "cifar", "images": 3, "subset": "s", "pixels": "p", "libraries": {},
              "evaluated_at": "2026-01-01T00:00:00+00:00", "evaluated_by": "test:1"}
    corruption_results.write_unit(run.path, "fog", 1, Predictions(run.predictions.ids, np.array([0, 2, 2]),
                                                                  probabilities), record)
    read, _ = corruption_results.read_unit(run.path, "fog", 1)
    assert read.predicted.tolist() == [0, 1, 2]  # a tie goes to the lower class, as argmax breaks it
    assert read.confidence.tolist() == probabilities.max(axis=1).tolist()
    assert read.in_order(read.ids[::-1]).predicted.tolist() == [2, 1, 0]
    np.savez_compressed(run.path / "corruptions" / "fog-1.npz", ids=read.ids)
    with pytest.raises(RunError, match="fog-1.npz cannot be read"):
        corruption_results.read_unit(run.path, "fog", 1)
