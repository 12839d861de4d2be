"""The run store's test images: lossless WebP sheets, older raw stores, forged files."""

from __future__ import annotations

import numpy as np
import pytest

from trainers.store import image_sheets, run_store


def natural_images(count: int, height: int, width: int) -> np.ndarray:
    """Smooth gradients with noise: compressible like photos, yet every pixel matters."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[:height, :width]
    base = (y[..., None] * 7 + x[..., None] * 3 + np.arange(3) * 40)[None] + rng.integers(0, 256, (count, 1, 1, 3))
    return ((base + rng.integers(0, 8, (count, height, width, 3))) % 256).astype(np.uint8)


def test_test_images_come_back_bit_for_bit_across_several_sheets(tmp_path, monkeypatch):
    monkeypatch.setattr(image_sheets, "SHEET_SIDE", 21)  # 2 columns x 3 rows of 9x7 images per sheet
    images = natural_images(17, 7, 9)
    ids = [f"test/{i:03d}.png" for i in range(17)]
    run_store.save_test_images(tmp_path, "pets-9px", ids, np.arange(17) % 3, images)

    with np.load(run_store.test_images_path(tmp_path, "pets-9px")) as stored:
        assert "images" not in stored and len(stored["sheet_ends"]) == 3  # 6 + 6 + 5 images
    loaded = run_store.load_test_images(tmp_path, "pets-9px")
    np.testing.assert_array_equal(loaded.images, images)
    assert list(loaded.ids) == ids and list(loaded.labels) == list(np.arange(17) % 3)


def test_sheets_are_smaller_than_compressed_raw_pixels(tmp_path):
    images = natural_images(400, 32, 32)
    run_store.save_test_images(tmp_path, "sheets", np.arange(400).astype(str), np.zeros(400), images)
    np.savez_compressed(tmp_path / "raw.npz", images=images)
    sheets_size = run_store.test_images_path(tmp_path, "sheets").stat().st_size
    assert sheets_size < 0.8 * (tmp_path / "raw.npz").stat().st_size


def test_stores_written_with_raw_pixels_still_load(tmp_path):
    images = natural_images(3, 8, 8)
    path = run_store.test_images_path(tmp_path, "old")
    path.parent.mkdir(parents=True)
    np.savez_compressed(path, ids=np.array(["a", "b", "c"]), labels=np.array([0, 1, 2]), images=images)
    np.testing.assert_array_equal(run_store.load_test_images(tmp_path, "old").images, images)


def forge(tmp_path, drop=(), **changes) -> None:
    """A stored test set of 4 images of 8x8 pixels, with some arrays replaced or dropped."""
    arrays = dict(ids=np.array(list("abcd")), labels=np.arange(4), **image_sheets.encode(natural_images(4, 8, 8)))
    arrays.update(changes)
    path = run_store.test_images_path(tmp_path, "forged")
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **{k: v for k, v in arrays.items() if k not in drop})


def test_an_unforged_file_loads(tmp_path):
    forge(tmp_path)
    assert run_store.load_test_images(tmp_path, "forged").images.shape == (4, 8, 8, 3)


@pytest.mark.parametrize("changes, message", [
    # The sheet's header is checked before its pixels are decoded: a forged shape cannot force a huge allocation.
    (dict(image_shape=np.array([4, 800, 800, 3])), "sheet 0 is 32x8 pixels; expected 3200x800"),
    (dict(image_shape=np.array([4, 8, 8, 4])), "implausible image shape"),
    (dict(ids=np.array(list("abcde"))), "holds 4 images for 5 ids"),
    # A forged count is refused before it sizes an array (this one would take 3 TB).
    (dict(image_shape=np.array([10**9, 32, 32, 3])), "holds 1000000000 images for 4 ids"),
    (dict(sheet_ends=np.array([10, 20])), "2 sheets for 4 images; expected 1"),
    (dict(sheets=np.frombuffer(b"not a webp file", np.uint8)), "unreadable test_images.npz"),
    (dict(drop=("sheets",)), "lacks image_shape\\+sheets\\+sheet_ends or images"),
])
def test_forged_test_images_are_refused_with_the_reason(tmp_path, changes, message):
    forge(tmp_path, **changes)
    with pytest.raises(run_store.RunError, match=message):
        run_store.load_test_images(tmp_path, "forged")


@pytest.mark.parametrize("images", [np.zeros((2, 8, 8), np.uint8), np.zeros((2, 8, 8, 3), np.float32),
                                    np.zeros((2, 8, 8, 4), np.uint8)])
def test_only_rgb_uint8_images_are_encoded(images):
    with pytest.raises(ValueError, match=r"expected \(N, H, W, 3\) uint8 images"):
        image_sheets.encode(images)


def test_select_returns_images_in_the_asked_order_and_names_how_many_are_missing(tmp_path):
    images = natural_images(3, 8, 8)
    run_store.save_test_images(tmp_path, "pets", ["a", "b", "c"], [0, 1, 2], images)
    stored = run_store.load_test_images(tmp_path, "pets")
    np.testing.assert_array_equal(stored.select(["c", "a"]), images[[2, 0]])
    with pytest.raises(run_store.RunError, match="lack 2 of 3 images"):
        stored.select(["a", "x", "y"])
    assert (stored.missing(["a", "x", "y"]), stored.missing(np.array(["b", "c"]))) == (2, 0)
