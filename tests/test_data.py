"""Loading data sets: image folders of mixed sizes, modes and formats (decoded once, then cached), at most
n images per class, and CIFAR-10 from the Keras loader."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from colour_images import COLOURS, colour_image, make_image_folder
from paths import REPO_ROOT
from upload_files import encoded, phone_photo
from trainers.inference.image_files import FILE_EXTENSIONS
from trainers.training.data import DatasetError, load_dataset


def test_folder_with_mixed_sizes_modes_and_formats_loads(tmp_path, monkeypatch):
    folder = make_image_folder(tmp_path / "mixed", per_class=6, test_per_class=6, mixed=True)
    data = load_dataset(f"folder:{folder}", image_size=20, cache_dir=tmp_path / "cache", validation_fraction=0.2)
    assert data.class_names == sorted(COLOURS)
    assert data.train.images.shape[1:] == (20, 20, 3) and data.train.images.dtype == np.uint8
    assert len(data.train) + len(data.validation) == 18 and len(data.test) == 18
    assert set(data.validation.ids).isdisjoint(data.train.ids)
    red = data.class_names.index("red")
    red_means = data.test.images[data.test.labels == red].reshape(-1, 3).mean(axis=0)
    assert red_means[0] > 150 and red_means[1] < 90  # red stays red in every mode, transparency included
    # A second load comes from the cache: decoding is not called again.
    monkeypatch.setattr("trainers.training.data._decode", lambda *a: pytest.fail("decoded again"))
    again = load_dataset(f"folder:{folder}", image_size=20, cache_dir=tmp_path / "cache", validation_fraction=0.2)
    np.testing.assert_array_equal(again.test.images, data.test.images)


def test_a_folder_of_phone_photos_and_scans_reads_as_the_live_page_does(tmp_path):
    """HEIC, AVIF, TIFF and upper-case extensions are training images (the Live page's list); other files are
    left out, and a class folder of them alone says which files it wanted."""
    folder = make_image_folder(tmp_path / "phone", per_class=1, test_per_class=1)
    red = folder / "train" / "red"
    files = {"IMG_0001.HEIC": phone_photo("HEIF"), "photo.avif": phone_photo("AVIF"), "PHOTO.JPG": phone_photo("JPEG"),
             "scan.tiff": encoded(colour_image(COLOURS["red"]), "TIFF"), "logo.svg": b"<svg/>", "notes.txt": b"notes"}
    for name, data in files.items():
        (red / name).write_bytes(data)
    data = load_dataset(f"folder:{folder}", image_size=8, cache_dir=tmp_path / "cache", validation_fraction=0.1)
    images = dict(zip([*data.train.ids, *data.validation.ids], [*data.train.images, *data.validation.images]))
    assert sorted(name for name in images if name.startswith("train/red/")) == sorted(
        f"train/red/{name}" for name in [*files][:4] + ["000.png"])
    for name in [*files][:3]:  # red above blue once upright
        pixels = images[f"train/red/{name}"].astype(int)
        assert pixels[1, 4, 0] > 180 > pixels[1, 4, 2] and pixels[-2, 4, 2] > 180 > pixels[-2, 4, 0]
    for image in (folder / "test" / "blue").iterdir():
        image.rename(image.with_suffix(".svg"))
    with pytest.raises(DatasetError, match="has no images") as error:
        load_dataset(f"folder:{folder}", image_size=8, cache_dir=tmp_path / "cache")
    assert all(extension in str(error.value) for extension in FILE_EXTENSIONS)


@pytest.mark.slow  # a fresh interpreter
def test_a_fresh_interpreter_reads_a_heic_folder_without_registering_the_format_first(tmp_path):
    """Importing the project registers nothing with Pillow; loading a folder registers HEIC itself."""
    folder = make_image_folder(tmp_path / "phone", per_class=2, test_per_class=1)
    (folder / "train" / "red" / "IMG_0001.HEIC").write_bytes(phone_photo("HEIF"))
    script = f"""
from pathlib import Path
from PIL import Image
from trainers.training.data import load_dataset
assert ".heic" not in Image.registered_extensions()
data = load_dataset("folder:{folder}", image_size=8, cache_dir=Path({str(tmp_path / "cache")!r}), validation_fraction=0.1)
print(sorted([*data.train.ids, *data.validation.ids]))
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr
    assert "train/red/IMG_0001.HEIC" in result.stdout and "Skipping" not in result.stderr


def test_limit_takes_at_most_n_per_class(image_folder, tmp_path):
    data = load_dataset(f"folder:{image_folder}", image_size=16, limit=2, cache_dir=tmp_path)
    assert np.bincount(data.test.labels).tolist() == [2, 2, 2]
    assert len(data.train) + len(data.validation) == 6


def test_cifar10_comes_from_the_keras_loader(monkeypatch):
    import keras

    rng = np.random.default_rng(0)
    fake = ((rng.integers(0, 255, (40, 32, 32, 3), dtype=np.uint8), np.repeat(np.arange(10), 4).reshape(-1, 1)),
            (rng.integers(0, 255, (20, 32, 32, 3), dtype=np.uint8), np.repeat(np.arange(10), 2).reshape(-1, 1)))
    monkeypatch.setattr(keras.datasets.cifar10, "load_data", lambda: fake)
    data = load_dataset("cifar10", image_size=32, validation_fraction=0.25)
    assert data.name == "cifar10" and data.class_names[:3] == ["airplane", "automobile", "bird"]
    assert (len(data.train), len(data.validation), len(data.test)) == (30, 10, 20)
    assert data.test.ids[0] == "test/00000" and data.test.labels.tolist() == np.repeat(np.arange(10), 2).tolist()
    np.testing.assert_array_equal(data.test.images, fake[1][0])
