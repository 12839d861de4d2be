"""Calibration: the statistics against values worked out by hand, temperature scaling, the validation predictions
that runs store for it, the Home table's columns and the Calibration page."""

from __future__ import annotations

import shutil
from types import SimpleNamespace

import numpy as np
import pytest
from scipy.special import softmax

from app_pages import figures
from colour_images import make_image_folder
from dashboard.lib import calibration as calibration_view
from dashboard.lib import comparison
from dashboard.lib import figures as figures_lib
from fake_runs import write_fake_run, write_scored_run
from trainers.analysis import calibration, recording
from trainers.store import run_store
from trainers.training.data import load_dataset
from trainers.store.run_store import Predictions, RunError

# Four two-class predictions in two of the 15 bins (edges k/15):
#   confidence 0.95 right, 0.97 wrong -> bin (14/15, 1]:   count 2, confidence 0.96, accuracy 0.5, gap 0.46
#   confidence 0.62 right, 0.64 right -> bin (9/15, 10/15]: count 2, confidence 0.63, accuracy 1.0, gap 0.37
# Both bins hold fewer than MIN_BIN_IMAGES (100) images: their MCE is NaN unless a smaller minimum is asked for.
LABELS = [0, 1, 0, 1]
PROBABILITIES = [[0.95, 0.05], [0.97, 0.03], [0.62, 0.38], [0.36, 0.64]]

# 101 two-class predictions, one bin of 100 images and one of a single image far from its confidence:
#   100 at confidence 0.9, 80 right   -> bin (13/15, 14/15]: count 100, accuracy 0.8, gap 0.1
#   1 at confidence 0.55, wrong       -> bin (8/15, 9/15]:   count 1,   accuracy 0,   gap 0.55
SMALL_BIN_LABELS = [0] * 80 + [1] * 20 + [1]
SMALL_BIN_PROBABILITIES = [[0.9, 0.1]] * 100 + [[0.55, 0.45]]
SMALL_BIN_ECE = (100 * 0.1 + 1 * 0.55) / 101  # 0.10446: the lone image weighs 1/101


# ---------------------------------------------------------------- statistics


def test_reliability_table_counts_each_bin_and_keeps_the_empty_ones():
    table = calibration.reliability_table(LABELS, PROBABILITIES)
    assert len(table.count) == calibration.BINS == 15
    assert table.count.tolist() == [0] * 9 + [2] + [0] * 4 + [2]
    assert (table.lower[9], table.upper[9]) == pytest.approx((9 / 15, 10 / 15))
    assert table.confidence[[9, 14]] == pytest.approx([0.63, 0.96])
    assert table.accuracy[[9, 14]] == pytest.approx([1.0, 0.5])
    empty = table.count == 0
    assert np.isnan(table.confidence[empty]).all() and np.isnan(table.accuracy[empty]).all()


@pytest.mark.parametrize("bins, ece, mce", [
    (15, 2 / 4 * 0.37 + 2 / 4 * 0.46, 0.46),  # 0.415: the two bins above
    # One bin: confidence (0.95 + 0.97 + 0.62 + 0.64) / 4 = 0.795, accuracy 3 / 4: gap 0.045.
    (1, 0.045, 0.045),
])
def test_expected_and_maximum_calibration_error_by_hand(bins, ece, mce):
    assert calibration.expected_calibration_error(LABELS, PROBABILITIES, bins=bins) == pytest.approx(ece)
    assert calibration.maximum_calibration_error(LABELS, PROBABILITIES, bins=bins,
                                                 min_bin_images=2) == pytest.approx(mce)


def test_mce_leaves_out_a_bin_of_fewer_than_min_bin_images_and_ece_keeps_it():
    assert calibration.MIN_BIN_IMAGES == 100
    table = calibration.reliability_table(SMALL_BIN_LABELS, SMALL_BIN_PROBABILITIES)
    assert table.count[[8, 13]].tolist() == [1, 100] and table.count.sum() == 101
    assert table.gap[[8, 13]] == pytest.approx([0.55, 0.1])
    # The single image's gap of 0.55 would be the MCE; from 100 images on, only the 0.1 counts.
    assert calibration.maximum_calibration_error(SMALL_BIN_LABELS, SMALL_BIN_PROBABILITIES) == pytest.approx(0.1)
    assert calibration.maximum_calibration_error(SMALL_BIN_LABELS, SMALL_BIN_PROBABILITIES,
                                                 min_bin_images=1) == pytest.approx(0.55)
    assert calibration.expected_calibration_error(SMALL_BIN_LABELS, SMALL_BIN_PROBABILITIES) == pytest.approx(
        SMALL_BIN_ECE)
    scores = calibration.calibration_scores(SMALL_BIN_LABELS, SMALL_BIN_PROBABILITIES)
    assert (scores["ece"], scores["mce"]) == pytest.approx((SMALL_BIN_ECE, 0.1))
    assert (scores["calibration_bins"], scores["calibration_min_bin_images"]) == (15, 100)


def test_mce_is_nan_and_recorded_as_none_when_no_bin_holds_enough_images():
    assert np.isnan(calibration.maximum_calibration_error(LABELS, PROBABILITIES))  # bins of 2 images
    scores = calibration.calibration_scores(LABELS, PROBABILITIES)
    assert scores["mce"] is None and scores["ece"] == pytest.approx(0.415)  # JSON has no NaN
    with pytest.raises(ValueError, match="min_bin_images must be a positive integer, got 0"):
        calibration.maximum_calibration_error(LABELS, PROBABILITIES, min_bin_images=0)


def test_a_run_right_as_often_as_it_is_confident_has_no_calibration_error():
    # Four predictions at 0.75, three right: accuracy 0.75 in the one non-empty bin.
    probabilities = [[0.75, 0.25]] * 4
    assert calibration.expected_calibration_error([0, 0, 0, 1], probabilities) == pytest.approx(0)
    assert calibration.maximum_calibration_error([0, 0, 0, 1], probabilities, min_bin_images=4) == pytest.approx(0)


def test_bins_hold_their_upper_edge_and_a_confidence_a_rounding_above_1_stays_in_the_last():
    table = calibration.reliability_table([0, 0], [[0.5, 0.5], [1.0 + 1e-7, 0.0]], bins=2)
    assert table.count.tolist() == [1, 1]  # 0.5 in (0, 0.5]; rows are normalised to sum to 1 first


@pytest.mark.parametrize("labels, probabilities, brier", [
    ([0, 1, 2], np.eye(3), 0.0),  # certain and right
    ([1, 0], [[1.0, 0.0], [0.0, 1.0]], 2.0),  # certain and wrong: 1 + 1 per image
    # Uniform over 4 classes: (1 - 1/4)^2 + 3 x (1/4)^2 = 9/16 + 3/16 = 0.75 per image.
    ([0, 3], np.full((2, 4), 0.25), 0.75),
    # (0.3^2 + 0.2^2 + 0.1^2 = 0.14) and (0.5^2 + 0.3^2 + 0.8^2 = 0.98): mean 0.56.
    ([0, 2], [[0.7, 0.2, 0.1], [0.5, 0.3, 0.2]], 0.56),
])
def test_brier_score_loss_sums_over_classes_and_averages_over_images(labels, probabilities, brier):
    assert calibration.brier_score_loss(labels, probabilities) == pytest.approx(brier)


def test_brier_score_loss_is_scikit_learns_unscaled_one():
    from sklearn.metrics import brier_score_loss

    rng = np.random.default_rng(0)
    probabilities, labels = rng.dirichlet(np.ones(10), size=500), rng.integers(0, 10, 500)
    assert calibration.brier_score_loss(labels, probabilities) == pytest.approx(
        brier_score_loss(labels, probabilities, labels=np.arange(10), scale_by_half=False))


@pytest.mark.parametrize("labels, probabilities, message", [
    ([0, 1], [0.5, 0.5], r"labels \(N,\) and probabilities \(N, C\)"),
    ([0], [[0.5, 0.5], [0.5, 0.5]], r"got \(1,\) and \(2, 2\)"),
    ([0, 2], [[0.5, 0.5], [0.5, 0.5]], "class indices 0 to 1, got"),
    ([], np.zeros((0, 2)), "No predictions"),
])
def test_bad_predictions_are_refused_saying_what_is_wrong(labels, probabilities, message):
    with pytest.raises(ValueError, match=message):
        calibration.expected_calibration_error(labels, probabilities)


def test_bins_must_be_a_positive_integer():
    with pytest.raises(ValueError, match="bins must be a positive integer, got 0"):
        calibration.reliability_table(LABELS, PROBABILITIES, bins=0)


# ---------------------------------------------------------------- temperature scaling


def test_fit_temperature_recovers_the_temperature_the_labels_were_drawn_at():
    # The labels follow softmax(z / 2.5); a model that says softmax(z) is overconfident by T = 2.5.
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 4, (20_000, 5))
    truth = softmax(logits / 2.5, axis=1)
    labels = np.array([rng.choice(5, p=row) for row in truth])
    assert calibration.fit_temperature(labels, softmax(logits, axis=1)) == pytest.approx(2.5, rel=0.05)
    assert calibration.fit_temperature(labels, truth) == pytest.approx(1.0, rel=0.05)


def test_fit_temperature_by_hand():
    # Three of four right at [0.9, 0.1]: the best probability is 0.75 = 1 / (1 + 9^(-1/T)), so 9^(1/T) = 3, T = 2.
    assert calibration.fit_temperature([0, 0, 0, 1], [[0.9, 0.1]] * 4) == pytest.approx(2.0, abs=1e-3)


def test_temperature_1_changes_nothing_and_others_keep_the_top_class():
    probabilities = np.array([[0.7, 0.2, 0.1], [0.05, 0.15, 0.8]])
    np.testing.assert_allclose(calibration.with_temperature(probabilities, 1.0), probabilities, atol=1e-12)
    # T = 2: p^(1/2), renormalised; 0.8^0.5 : 0.2^0.5 = 2 : 1.
    np.testing.assert_allclose(calibration.with_temperature([[0.8, 0.2]], 2.0), [[2 / 3, 1 / 3]])
    for temperature in (0.3, 4.0):
        scaled = calibration.with_temperature(probabilities, temperature)
        assert scaled.argmax(axis=1).tolist() == [0, 2]
    with pytest.raises(ValueError, match="must be positive, got 0"):
        calibration.with_temperature(probabilities, 0)


# ---------------------------------------------------------------- validation predictions in the run store


def test_a_run_without_validation_predictions_has_none_and_one_with_them_reads_them(tmp_path):
    run = write_fake_run(tmp_path, "old")
    assert run.validation_predictions is None
    run_store.write_predictions(run.path, ["train/7", "train/9"], [2, 0], [[0.1, 0.2, 0.7], [0.6, 0.3, 0.1]],
                                file_name=run_store.VALIDATION_PREDICTIONS_FILE)
    validation = run_store.load_run(run.path).validation_predictions
    assert validation.ids.tolist() == ["train/7", "train/9"] and validation.labels.tolist() == [2, 0]
    assert validation.predicted.tolist() == [2, 0]
    assert run_store.load_run(run.path).predictions.ids.tolist() == run.predictions.ids.tolist()  # untouched


def validation_split_ids(run, image_folder, cache_dir):
    dataset = load_dataset(f"folder:{image_folder}", image_size=run.image_size, cache_dir=cache_dir,
                           validation_fraction=run.config["validation_fraction"], seed=run.config["seed"])
    return dataset.validation.ids.tolist()


@pytest.mark.parametrize("run_id", ["plain", "fast"])
def test_a_trained_run_stores_its_predictions_on_its_validation_images(tiny_store, image_folder, tmp_path, run_id):
    run = run_store.load_run(tiny_store / run_id)
    validation = run.validation_predictions
    assert validation.ids.tolist() == validation_split_ids(run, image_folder, tmp_path)
    assert validation.probabilities.shape == (len(validation.ids), len(run.class_names))
    np.testing.assert_allclose(validation.probabilities.sum(axis=1), 1, atol=1e-4)
    assert not set(validation.ids) & set(run.predictions.ids)


def test_evaluate_adds_validation_predictions_to_a_run_without_them(tiny_store, image_folder, tmp_path, capsys):
    from trainers.evaluate import main as evaluate

    run_dir = shutil.copytree(tiny_store / "plain", tmp_path / "store" / "plain")
    stored = run_store.load_run(run_dir).validation_predictions
    (run_dir / run_store.VALIDATION_PREDICTIONS_FILE).unlink()
    assert run_store.load_run(run_dir).validation_predictions is None
    assert evaluate([str(run_dir), "--dataset", f"folder:{image_folder}", "--cache-dir", str(tmp_path)]) == 0
    added = run_store.load_run(run_dir).validation_predictions
    assert added.ids.tolist() == stored.ids.tolist()
    np.testing.assert_allclose(added.probabilities, stored.probabilities, atol=1e-5)

    # Another folder's validation split is not the one the run held out: it could hold training images.
    (run_dir / run_store.VALIDATION_PREDICTIONS_FILE).unlink()
    other = make_image_folder(tmp_path / "other", per_class=10)
    assert evaluate([str(run_dir), "--dataset", f"folder:{other}", "--cache-dir", str(tmp_path)]) == 0
    assert run_store.load_run(run_dir).validation_predictions is None
    assert "validation predictions not written" in capsys.readouterr().err


# ---------------------------------------------------------------- dashboard library


def fake_run(store, run_id, validation=None, **kwargs):
    """A fake run of LABELS and PROBABILITIES on two classes, with `validation` predictions if given."""
    run = write_fake_run(store, run_id, labels=LABELS, probabilities=PROBABILITIES, class_names=["cat", "dog"],
                         **kwargs)
    if validation is not None:
        run_store.write_predictions(run.path, *validation, file_name=run_store.VALIDATION_PREDICTIONS_FILE)
        run = run_store.load_run(run.path)
    return run


def small_bin_run(store, run_id, **kwargs):
    """A fake run of SMALL_BIN_LABELS and SMALL_BIN_PROBABILITIES (a bin of 100 images, one of a single image)."""
    ids = [f"test/{index:03d}.png" for index in range(len(SMALL_BIN_LABELS))]
    return write_fake_run(store, run_id, labels=SMALL_BIN_LABELS, probabilities=SMALL_BIN_PROBABILITIES, ids=ids,
                          class_names=["cat", "dog"], **kwargs)


def test_comparison_table_has_the_calibration_columns_lower_is_better(tmp_path):
    table = comparison.comparison_table([fake_run(tmp_path, "cnn_v3-1"), write_fake_run(tmp_path, "cnn_v4-2"),
                                         small_bin_run(tmp_path, "cnn_v4-3")])
    columns = ["ECE (15 bins)", "MCE (15 bins)", "Brier score"]
    # cnn_v3-1 as worked out above; no bin of its holds 100 images: no MCE. Brier: 2 x 0.05^2 (right, 0.95) +
    # 2 x 0.97^2 (wrong) + 2 x 0.38^2 + 2 x 0.36^2, over 4.
    assert table.loc[0, columns].tolist() == pytest.approx(
        [0.415, np.nan, (0.005 + 1.8818 + 0.2888 + 0.2592) / 4], nan_ok=True)
    # cnn_v4-2 is certain and right about its three images: zero, but three images are no MCE either.
    assert table.loc[1, columns].tolist() == pytest.approx([0, np.nan, 0], nan_ok=True)
    # cnn_v4-3: Brier (80 x 2 x 0.1^2 + 20 x 2 x 0.9^2 + 2 x 0.55^2) / 101.
    assert table.loc[2, columns].tolist() == pytest.approx(
        [SMALL_BIN_ECE, 0.1, (1.6 + 32.4 + 0.605) / 101])
    mask = comparison.best_mask(table)
    assert mask[columns].to_numpy().tolist() == [[False] * 3, [True, False, True], [False, True, False]]


def test_calibration_table_and_reliability_figure(tmp_path):
    run = small_bin_run(tmp_path, "cnn_v3-1")
    row = calibration_view.calibration_table([run]).iloc[0]
    assert row["run"] == "cnn_v3 / cnn_v3-1"
    # 80 right of 100 at 0.9, the one at 0.55 wrong.
    assert (row["test accuracy"], row["mean confidence"]) == pytest.approx((80 / 101, (90 + 0.55) / 101))
    assert (row["ECE (15 bins)"], row["MCE (15 bins)"]) == pytest.approx((SMALL_BIN_ECE, 0.1))

    frame = calibration_view.reliability_frame({"a": run.predictions, "b": fake_run(tmp_path, "b").predictions})
    assert len(frame) == 2 * 15 and frame["count"].sum() == 101 + 4
    assert frame.loc[14, "bin"] == "0.93-1.00"
    figure = calibration_view.reliability_figure(frame, {"a": "#123456"})
    assert [trace.name for trace in figure.data if trace.showlegend is not False] == [
        "a", "b", "hollow: bins of fewer than 100 images, left out of MCE", "perfectly calibrated"]
    line, hollow, bars = (trace for trace in figure.data if trace.legendgroup == "a")
    # The bin of 100 images on the run's line, in its colour; the bin of one image hollow, its count beside it.
    assert (list(line.x), list(line.y), line.line.color) == (pytest.approx([0.9]), pytest.approx([0.8]), "#123456")
    assert list(hollow.x) == pytest.approx([0.55]) and list(hollow.y) == [0]
    assert hollow.marker.symbol == "circle-open" and list(hollow.text) == ["1"]
    # Below, every non-empty bin's count at the middle of its bin: (8/15, 9/15] and (13/15, 14/15].
    assert bars.type == "bar" and list(bars.y) == [1, 100]
    assert list(bars.x) == pytest.approx([8.5 / 15, 13.5 / 15])
    # b's four images: bins of two, both hollow, none on a line.
    b_line, b_hollow, b_bars = (trace for trace in figure.data if trace.legendgroup == "b")
    assert len(b_line.x) == 0 and list(b_hollow.text) == ["2", "2"] and list(b_bars.y) == [2, 2]
    assert figure.layout.yaxis2.type == "log" and figure.layout.shapes[0].y0 == 100


def test_more_runs_than_colours_share_one_reliability_line_that_names_each_run(tmp_path):
    run = fake_run(tmp_path, "cnn_v3-1")
    names = [f"run {number}" for number in range(figures_lib.MAX_COLOURED_RUNS + 1)]
    figure = calibration_view.reliability_figure(calibration_view.reliability_frame(
        dict.fromkeys(names, run.predictions)))
    runs_line, counts_line, hollow, legend, diagonal = figure.data
    assert (legend.name, diagonal.name) == ("hollow: bins of fewer than 100 images, left out of MCE",
                                            "perfectly calibrated")
    # Bins of two images: none on the runs' line, each hollow and naming its run; their counts, a gap between runs.
    assert len(runs_line.x) == 0
    assert [row[0] for row in hollow.customdata] == [name for name in names for _ in range(2)]
    assert list(counts_line.y[:3]) == pytest.approx([2, 2, np.nan], nan_ok=True)


def test_confidence_histogram_splits_right_from_wrong_with_their_counts(tmp_path):
    predictions = fake_run(tmp_path, "cnn_v3-1").predictions
    frame = calibration_view.confidence_frame(predictions)
    assert frame["prediction"].tolist() == ["right", "wrong", "right", "right"]
    assert frame["confidence"].tolist() == pytest.approx([0.95, 0.97, 0.62, 0.64])
    figure = calibration_view.confidence_histogram(predictions)
    assert [trace.name for trace in figure.data] == ["right (3)", "wrong (1)"]
    assert figure.data[0].xbins.size == pytest.approx(1 / 15)


def test_temperature_fit_on_validation_predictions_and_its_test_scores(tmp_path):
    # Validation: three of four right at [0.9, 0.1]: T = 2 (see test_fit_temperature_by_hand).
    validation = (["train/0", "train/1", "train/2", "train/3"], [0, 0, 0, 1], [[0.9, 0.1]] * 4)
    run = fake_run(tmp_path, "cnn_v3-1", validation=validation)
    fit = calibration_view.temperature_fit(run)
    assert fit.temperature == pytest.approx(2.0, abs=1e-3) and fit.validation_images == 4
    np.testing.assert_allclose(fit.scaled.probabilities, calibration.with_temperature(PROBABILITIES, fit.temperature))
    table = calibration_view.temperature_table({"cnn_v3-1": fit})
    assert table.columns.tolist() == ["run", "temperature", "validation images",
                                      "ECE (15 bins) before", "ECE (15 bins) after", "Brier score before",
                                      "Brier score after"]
    row = table.iloc[0]
    assert row["ECE (15 bins) before"] == pytest.approx(0.415)
    assert row["ECE (15 bins) after"] == pytest.approx(
        calibration.expected_calibration_error(LABELS, fit.scaled.probabilities))
    assert row["Brier score after"] == pytest.approx(calibration.brier_score_loss(LABELS, fit.scaled.probabilities))

    assert calibration_view.temperature_fit(fake_run(tmp_path, "old")) is None
    # A hand-made run names no data set to reload: no command is suggested (tests/test_suggested_commands.py has
    # the runs that get one).
    assert calibration_view.evaluate_command(run) is None


def test_anything_with_a_label_classes_and_predictions_is_scored_like_a_run(tmp_path):
    # An ensemble, say: no run folder, no validation predictions.
    ensemble = SimpleNamespace(label="mean of 2", class_names=["cat", "dog"],
                               predictions=Predictions(np.array(["a", "b", "c", "d"]), np.array(LABELS),
                                                       np.array(PROBABILITIES)))
    assert calibration_view.calibration_table([ensemble]).iloc[0]["ECE (15 bins)"] == pytest.approx(0.415)
    assert calibration_view.temperature_fit(ensemble) is None
    assert calibration_view.evaluate_command(ensemble) is None


@pytest.mark.parametrize("validation, message", [
    ((["test/000.png", "train/1"], [0, 1], [[0.9, 0.1], [0.2, 0.8]]), "holds 1 test images"),
    ((["train/0"], [0], [[0.5, 0.3, 0.2]]), r"shape \(1, 3\), not \(1, 2\)"),
    ((["train/0"], [0], [[np.nan, 0.5]]), "NaN or infinite"),
])
def test_validation_predictions_that_cannot_be_fitted_on_are_refused(tmp_path, validation, message):
    with pytest.raises(RunError, match=message):
        calibration_view.temperature_fit(fake_run(tmp_path, "cnn_v3-1", validation=validation))


# ---------------------------------------------------------------- the page


def test_the_command_line_prints_the_fitted_temperature_and_what_it_does(tmp_path, capsys):
    from trainers.evaluate import main as evaluate

    validation = (["train/0", "train/1", "train/2", "train/3"], [0, 0, 0, 1], [[0.9, 0.1]] * 4)
    run = fake_run(tmp_path, "cnn_v3-1", validation=validation)
    assert evaluate([str(run.path), "--temperature"]) == 0
    scaled = calibration.with_temperature(PROBABILITIES, 2.0)
    # T = 2 (test_fit_temperature_by_hand); ECE and Brier before as worked out above, after at T = 2.
    assert capsys.readouterr().out == (
        f"{run.path}: T = 2.000, fitted on 4 validation images; test ECE (15 bins) 0.4150 -> "
        f"{calibration.expected_calibration_error(LABELS, scaled):.4f}, Brier score "
        f"{(0.005 + 1.8818 + 0.2888 + 0.2592) / 4:.4f} -> {calibration.brier_score_loss(LABELS, scaled):.4f}\n")

    assert evaluate([str(fake_run(tmp_path, "old").path), "--temperature"]) == 2
    assert capsys.readouterr().err == (f"error: {tmp_path / 'old'}: no validation predictions to fit a temperature "
                                       f"on; `python -m trainers.evaluate {tmp_path / 'old'}` adds them\n")


@pytest.fixture
def calibrated_store(tmp_path):
    """Runs cnn_v3 / plain (LABELS, PROBABILITIES) and cnn_fast / fast (the same images, other answers), each with
    validation predictions of its own, the metrics the trainers compute, and a data set folder to reload."""
    folder = tmp_path / "pets"
    folder.mkdir()
    store = tmp_path / "store"
    runs = [("plain", "cnn_v3", PROBABILITIES, [[0.9, 0.1]] * 4),
            ("fast", "cnn_fast", [[0.8, 0.2], [0.3, 0.7], [0.45, 0.55], [0.4, 0.6]], [[0.7, 0.3], [0.6, 0.4]] * 2)]
    for run_id, preset, probabilities, validation in runs:
        run = write_scored_run(store, run_id, LABELS, probabilities, class_names=["cat", "dog"], info={
            "preset": preset, "dataset": {"name": "pets", "spec": f"folder:{folder}", "test_key": "pets-8px-0000",
                                          "class_names": ["cat", "dog"], "image_size": 8}})
        run_store.write_predictions(run.path, [f"train/{index}" for index in range(4)], [0, 0, 0, 1], validation,
                                    file_name=run_store.VALIDATION_PREDICTIONS_FILE)
    return store


def test_calibration_page_scores_each_run_and_fits_its_temperature(open_app, calibrated_store):
    runs = {run.label: run for run in run_store.list_runs(calibrated_store)[0]}
    assert sorted(runs) == ["cnn_fast / fast", "cnn_v3 / plain"]
    app = open_app(calibrated_store, "views/calibration.py")
    assert app.title[0].value == "Calibration"
    assert app.caption[0].value.startswith("Can a run's confidence be trusted?")
    assert "in 15 equal-width bins of top-1 confidence" in app.expander[0].markdown[0].value

    scores, temperatures = (frame.value.set_index("run") for frame in app.dataframe)
    assert sorted(scores.index) == sorted(runs)
    for label, run in runs.items():
        labels, probabilities = run.predictions.labels, run.predictions.probabilities
        assert scores.loc[label, "test accuracy"] == pytest.approx(run.metrics["accuracy"])
        assert scores.loc[label, "ECE (15 bins)"] == pytest.approx(
            calibration.expected_calibration_error(labels, probabilities))
        assert scores.loc[label, "Brier score"] == pytest.approx(calibration.brier_score_loss(labels, probabilities))
        validation = run.validation_predictions
        assert temperatures.loc[label, "temperature"] == pytest.approx(
            calibration.fit_temperature(validation.labels, validation.probabilities), rel=1e-4)
        assert temperatures.loc[label, "validation images"] == len(validation.labels)

    reliability, histogram, scaled = figures(app)
    assert sorted(trace.name for trace in reliability.data if trace.showlegend is not False) == sorted(
        [*runs, calibration_view.SMALL_BINS_LEGEND, "perfectly calibrated"])
    first = next(iter(runs.values()))
    assert [trace.name for trace in scaled.data][0] == "as stored"
    assert sum(int(name.split("(")[1].rstrip(")")) for name in (trace.name for trace in histogram.data)) == len(
        first.predictions.labels)
    fitted = temperatures.loc[first.label, "temperature"]
    assert any(f"T = {fitted:.3f} was fitted on {len(first.validation_predictions.labels)} validation images"
               in caption.value for caption in app.caption)


def test_calibration_page_says_how_to_add_validation_predictions(open_app, calibrated_store):
    store = calibrated_store
    (store / "plain" / run_store.VALIDATION_PREDICTIONS_FILE).unlink()
    app = open_app(store, "views/calibration.py")
    (notice,) = app.info
    assert notice.value.startswith("cnn_v3 / plain stores no validation predictions")
    assert f"python -m trainers.evaluate {store / 'plain'}" in notice.value
    temperatures = app.dataframe[1].value
    assert temperatures["run"].tolist() == ["cnn_fast / fast"]


def test_the_scores_a_run_records_are_worked_out_in_one_pass_as_by_hand():
    # Both confidences (0.75 right, 0.875 wrong) fall in (0.5, 1]: accuracy 0.5 against 0.8125. Brier:
    # (0.25² + 0.25²) and (0.875² + 0.875²), averaged.
    scores = calibration.calibration_scores([0, 0], [[0.75, 0.25], [0.125, 0.875]], bins=2, min_bin_images=2)
    assert scores == pytest.approx({"ece": 0.3125, "mce": 0.3125, "brier": (0.125 + 1.53125) / 2,
                                    "calibration_bins": 2, "calibration_min_bin_images": 2})


def test_a_recorded_runs_metrics_hold_its_calibration_scores():
    labels, probabilities = [0, 1, 1], [[0.7, 0.3], [0.4, 0.6], [0.9, 0.1]]
    metrics = recording.test_metrics(labels, probabilities, ["cat", "dog"])
    assert metrics["ece"] == pytest.approx(calibration.expected_calibration_error(labels, probabilities))
    assert metrics["brier"] == pytest.approx(calibration.brier_score_loss(labels, probabilities))
    assert metrics["calibration_bins"] == calibration.BINS and metrics["accuracy"] == pytest.approx(2 / 3)
    assert metrics["calibration_min_bin_images"] == calibration.MIN_BIN_IMAGES and metrics["mce"] is None


RECORDED = {"ece": 0.03, "mce": 0.2, "brier": 0.4, "calibration_bins": 15}


def test_recorded_scores_are_taken_only_when_recorded_with_todays_bins_and_minimum():
    assert calibration_view.recorded_scores({**RECORDED, "calibration_min_bin_images": 100}) == {
        "ECE (15 bins)": 0.03, "MCE (15 bins)": 0.2, "Brier score": 0.4}
    # Recorded before MCE left small bins out (no minimum), with another minimum, or in other bins: not taken.
    assert calibration_view.recorded_scores(RECORDED) is None
    assert calibration_view.recorded_scores({**RECORDED, "calibration_min_bin_images": 1}) is None
    assert calibration_view.recorded_scores({**RECORDED, "calibration_bins": 10,
                                             "calibration_min_bin_images": 100}) is None


def test_a_run_recorded_before_the_minimum_is_scored_from_its_predictions(tmp_path):
    old = small_bin_run(tmp_path, "cnn_v4-old", metrics={**RECORDED, "mce": 0.55})  # the single image's gap
    assert not comparison.calibration_recorded(old)
    assert calibration_view.run_scores(old) == pytest.approx(
        {"ECE (15 bins)": SMALL_BIN_ECE, "MCE (15 bins)": 0.1, "Brier score": (1.6 + 32.4 + 0.605) / 101})
    new = small_bin_run(tmp_path, "cnn_v4-new", metrics={**RECORDED, "calibration_min_bin_images": 100})
    assert comparison.calibration_recorded(new)
    assert calibration_view.run_scores(new) == {"ECE (15 bins)": 0.03, "MCE (15 bins)": 0.2, "Brier score": 0.4}
    row = comparison.comparison_table([old, new]).set_index("run")
    assert row.loc["cnn_v4-old", "MCE (15 bins)"] == pytest.approx(0.1)
    assert row.loc["cnn_v4-new", "MCE (15 bins)"] == 0.2


def test_calibration_page_says_the_minimum_and_shows_each_bins_count(open_app, tmp_path):
    small_bin_run(tmp_path, "cnn_v4-1")
    app = open_app(tmp_path, "views/calibration.py")
    (scores,) = (frame.value for frame in app.dataframe)
    assert scores.loc[0, ["ECE (15 bins)", "MCE (15 bins)"]].tolist() == pytest.approx([SMALL_BIN_ECE, 0.1])
    assert "Hollow points are bins of fewer than 100 images" in app.caption[1].value
    assert app.expander[0].label == "How it is computed"
    assert "among bins of at least 100 images" in app.expander[0].markdown[0].value
    (reliability, histogram) = figures(app)
    _, hollow, bars = [trace for trace in reliability.data if trace.legendgroup == "cnn_v4 / cnn_v4-1"]
    assert list(hollow.text) == ["1"] and list(bars.y) == [1, 100]
