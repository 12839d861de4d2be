"""Shared fixtures: small generated image folders and a small run store, built once per session."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO_ROOT = Path(__file__).resolve().parent.parent

# Colour classes a tiny CNN learns in a few steps; the mean colour of each class's images.
COLOURS = {"blue": (30, 40, 220), "green": (40, 200, 50), "red": (220, 30, 40)}


def colour_image(colour, size=(24, 24), mode="RGB", seed=0) -> Image.Image:
    """A noisy image of one colour, converted to `mode`."""
    rng = np.random.default_rng(seed)
    pixels = np.clip(np.array(colour) + rng.normal(0, 25, (size[1], size[0], 3)), 0, 255).astype(np.uint8)
    image = Image.fromarray(pixels, "RGB")
    return image.convert(mode) if mode != "RGB" else image


def make_image_folder(root: Path, per_class: int = 8, test_per_class: int = 4, mixed: bool = False) -> Path:
    """Writes train/ and test/ class folders of colour images; `mixed` varies size, mode and format."""
    variants = [((24, 24), "RGB", "png"), ((40, 30), "RGBA", "png"), ((17, 33), "L", "jpg"),
                ((32, 32), "P", "gif"), ((20, 20), "RGB", "webp"), ((28, 28), "RGB", "bmp")]
    for split, count in (("train", per_class), ("test", test_per_class)):
        for name, colour in COLOURS.items():
            folder = root / split / name
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(count):
                size, mode, ext = variants[i % len(variants)] if mixed else variants[0]
                colour_image(colour, size, mode, seed=i).save(folder / f"{i:03d}.{ext}")
    return root


def new_run(store: Path, run_id: str, config, data, preset: str = "cnn_v3"):
    """A RunWriter whose run.json is created for `config` on `data`, as `trainers.train` creates it."""
    from trainers import run_store

    writer = run_store.RunWriter(store, run_id)
    writer.create(run_store.new_run_info(config.to_dict(), {**data.summary(), "limit": None}, preset=preset,
                                         author="tester", command=""))
    return writer


@pytest.fixture(scope="session")
def image_folder(tmp_path_factory) -> Path:
    return make_image_folder(tmp_path_factory.mktemp("colours"))


@pytest.fixture(scope="session")
def tiny_store(tmp_path_factory, image_folder) -> Path:
    """A run store with two runs of tiny models (cnn_v3 and cnn_fast, 16 px) on the colour folder."""
    from trainers.train import main

    store = tmp_path_factory.mktemp("store")
    cache = tmp_path_factory.mktemp("cache")
    common = ["--dataset", f"folder:{image_folder}", "--artifacts", str(store), "--image-size", "16",
              "--cache-dir", str(cache), "--verbose", "0", "--author", "tester"]
    assert main(["cnn_v3", "--name", "plain", "--epochs", "3", "--batch-size", "8", "--lr", "3e-4",
                 "--no-keep-best", "--comment", "plain CNN", *common]) == 0
    assert main(["cnn_fast", "--name", "fast", "--epochs", "2", "--batch-size", "8", "--lr", "0.05", "--shift-tta", "1",
                 *common]) == 0
    return store



@pytest.fixture
def open_app(monkeypatch):
    """Opens the dashboard on a store, on one page, and checks it ran without an exception."""
    from streamlit.testing.v1 import AppTest

    def open_app(store, page: str = "views/home.py", timeout: float = 30):
        monkeypatch.setenv("ARTIFACTS_DIR", str(store))
        app = AppTest.from_file(str(REPO_ROOT / "dashboard" / "Home.py"), default_timeout=timeout).run()
        if page != "views/home.py":
            app.switch_page(page).run()
        assert not app.exception, app.exception
        return app
    return open_app
