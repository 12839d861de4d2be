"""dashboard.lib.samples: top-k, the images of a class or a cell most confident first, pages, and upscaling."""

from __future__ import annotations

import numpy as np
import pytest

from dashboard.lib import samples
from fake_runs import CLASSES, write_fake_run
from trainers.store import run_store
from trainers.store.run_store import Predictions


@pytest.mark.parametrize("k, expected", [
    (1, [("dog", 0.6)]),
    (2, [("dog", 0.6), ("owl", 0.3)]),
    (5, [("dog", 0.6), ("owl", 0.3), ("cat", 0.1)]),
])
def test_top_k(k, expected):
    assert samples.top_k([0.1, 0.6, 0.3], CLASSES, k=k) == pytest.approx(expected)


@pytest.mark.parametrize("k, decimals, line", [
    (2, 0, "dog 60% · owl 30%"),
    (3, 1, "dog 60.0% · owl 30.0% · cat 10.0%"),
    (1, 2, "dog 60.00%"),
])
def test_format_top_k(k, decimals, line):
    assert samples.format_top_k([0.1, 0.6, 0.3], CLASSES, k=k, decimals=decimals) == line


def test_an_images_top_k_comes_from_the_exact_top_classes_of_a_compact_file(tmp_path):
    # Classes 0 and 1 differ by less than float16 can tell: its rounded vector would tie them (0 first).
    probabilities = np.array([[0.40001, 0.40002, 0.19997]], np.float32)
    run_store.write_predictions(tmp_path, ["a"], [0], probabilities, compact=True)
    compact = run_store.read_predictions(tmp_path / run_store.PREDICTIONS_FILE)
    assert compact.probabilities[0, 0] == compact.probabilities[0, 1]
    assert samples.image_top_k(compact, 0, CLASSES, k=2) == "dog 40% · cat 40%"
    assert samples.image_top_k(compact, 0, CLASSES, k=2) == samples.format_top_k(probabilities[0], CLASSES, k=2)


PREDICTIONS = Predictions(
    ids=np.array(["i0", "i1", "i2", "i3", "i4"]),
    labels=np.array([0, 0, 1, 1, 2]),
    probabilities=np.array([[0.9, 0.1, 0.0],    # right
                            [0.2, 0.7, 0.1],    # cat as dog, 0.7
                            [0.6, 0.3, 0.1],    # dog as cat, 0.6
                            [0.1, 0.8, 0.1],    # right
                            [0.05, 0.9, 0.05]]),  # owl as dog, 0.9
)


@pytest.mark.parametrize("true_class, predicted_class, mistakes_only, ids", [
    (None, None, True, ["i4", "i1", "i2"]),
    (0, None, True, ["i1"]),
    (None, 1, True, ["i4", "i1"]),
    (2, 1, True, ["i4"]),
    (2, 0, True, []),
    (None, None, False, ["i0", "i4", "i3", "i1", "i2"]),  # i0 and i4 tie at 0.9: stored order
    (1, 1, False, ["i3"]),  # a diagonal cell holds the images the run got right
    (1, 1, True, []),
    (0, None, False, ["i0", "i1"]),
])
def test_samples_by_class_most_confident_first(true_class, predicted_class, mistakes_only, ids):
    found = samples.samples_by_class(PREDICTIONS, CLASSES, true_class=true_class, predicted_class=predicted_class,
                                     mistakes_only=mistakes_only)
    assert found["id"].tolist() == ids


def test_samples_by_class_columns():
    mistakes = samples.samples_by_class(PREDICTIONS, CLASSES, mistakes_only=True)
    assert mistakes.index.tolist() == [4, 1, 2]  # positions in the predictions
    assert mistakes.iloc[0][["true", "predicted"]].tolist() == ["owl", "dog"]
    assert mistakes["confidence"].tolist() == pytest.approx([0.9, 0.7, 0.6])


def test_a_confusion_cells_images_are_ordered_by_the_probability_of_the_predicted_class():
    cell = Predictions(ids=np.array(["i0", "i1", "i2", "i3", "i4"]), labels=np.array([0, 0, 1, 0, 0]),
                       probabilities=np.array([[0.2, 0.8, 0], [0.9, 0.1, 0], [0.1, 0.9, 0], [0.4, 0.6, 0],
                                               [0.05, 0.95, 0]]))
    assert samples.samples_by_class(cell, CLASSES, true_class=0, predicted_class=1).index.tolist() == [4, 0, 3]
    assert samples.samples_by_class(cell, CLASSES, true_class=0, predicted_class=0).index.tolist() == [1]
    assert samples.samples_by_class(cell, CLASSES, true_class=1, predicted_class=0).empty


@pytest.mark.parametrize("total, size, pages", [(0, 12, 1), (12, 12, 1), (13, 12, 2), (48, 24, 2)])
def test_page_count(total, size, pages):
    assert samples.page_count(total, size) == pages


@pytest.mark.parametrize("page, size, items", [(1, 3, [0, 1, 2]), (2, 3, [3, 4]), (3, 3, [])])
def test_page_slice(page, size, items):
    assert list(range(5))[samples.page_slice(page, size)] == items


def test_page_slice_counts_from_1():
    with pytest.raises(ValueError, match="page 0"):
        samples.page_slice(0, 10)


def test_upscale_keeps_pixels_square_and_sharp():
    pixels = np.zeros((2, 3, 3), np.uint8)
    pixels[0, 0] = (255, 0, 0)
    image = samples.upscale(pixels, 128)
    assert image.size == (3 * 42, 2 * 42)  # 128 // 3 = 42 times larger
    enlarged = np.asarray(image)
    assert (enlarged[:42, :42] == (255, 0, 0)).all() and (enlarged[42:, :] == 0).all()
    assert samples.upscale(np.zeros((256, 256, 3), np.uint8), 128).size == (256, 256)  # never smaller


def test_predictions_for_image_gives_every_runs_prediction(tmp_path):
    right = write_fake_run(tmp_path, "right")
    wrong = write_fake_run(tmp_path, "wrong", probabilities=[[0.2, 0.7, 0.1], [0, 1, 0], [0, 0, 1]])
    table = samples.predictions_for_image([right, wrong], "test/000.png")
    assert table[["run", "predicted", "correct"]].values.tolist() == [["right", "cat", True], ["wrong", "dog", False]]
    assert table["confidence"].tolist() == pytest.approx([1.0, 0.7])
    assert table["top 3"].iloc[1] == "dog 70% · cat 20% · owl 10%"
    assert samples.predictions_for_image([right], "not/there.png").empty
