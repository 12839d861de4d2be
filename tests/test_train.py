"""The training command line's errors: one line each, and no run left in the store."""

from __future__ import annotations

import shutil

import pytest

from colour_images import make_image_folder
from trainers.store import run_store
from trainers.train import main


def _single_class(root):
    make_image_folder(root)
    for split in ("train", "test"):
        for name in ("green", "blue"):
            shutil.rmtree(root / split / name)


def _empty_class(root):
    make_image_folder(root)
    for image in (root / "train" / "green").iterdir():
        image.unlink()


@pytest.mark.parametrize("argv, make_folder, message", [
    (["vgg99"], None, "Unknown preset 'vgg99'"),
    (["cnn_v3", "--dataset", "folder:{root}/nowhere"], None, "does not exist"),
    (["cnn_v3", "--dataset", "folder:{root}"], _empty_class, "has no images"),
    (["cnn_v3", "--dataset", "folder:{root}"], _single_class, "at least 2"),
    (["cnn_v3", "--dataset", "folder:{root}", "--limit", "0"], make_image_folder, "--limit must be at least 1"),
    (["cnn_v3", "--dataset", "imagenet"], None, "Unknown dataset 'imagenet'"),
    (["cnn_v3", "--dataset", "folder:{root}", "--epochs", "0"], make_image_folder, "--epochs must be at least 1"),
    (["cnn_v3", "--dataset", "folder:{root}", "--shift-tta", "16"], make_image_folder, "--shift-tta must be 0 to 15"),
    (["cnn_v3", "--dataset", "folder:{root}", "--bias-lr-scale", "64"], make_image_folder,
     "--bias-lr-scale works with --optimizer sgd only, got 'adamw'"),
    (["cnn_air", "--dataset", "folder:{root}", "--widths", "64,256"], make_image_folder,
     "--widths must be three positive channel counts, got 64,256"),
    (["cnn_v4", "--dataset", "folder:{root}", "--widths", "8,16,16"], make_image_folder,
     "--widths sizes the stages of fast_cnn and airbench_cnn, not vgg_cnn"),
    (["cnn_air", "--dataset", "folder:{root}", "--stage-convs", "4"], make_image_folder,
     "--stage-convs must be 2 or 3, got 4"),
])
def test_bad_arguments_give_one_line_of_error(argv, make_folder, message, tmp_path, capsys):
    root = tmp_path / "data"
    if make_folder:
        make_folder(root)
    argv = [arg.format(root=root) for arg in argv] + ["--artifacts", str(tmp_path / "store"), "--cache-dir", str(tmp_path)]
    assert main(argv) == 2
    error = capsys.readouterr().err.strip()
    assert message in error and error.startswith("error:") and len(error.splitlines()) == 1
    assert not (tmp_path / "store").exists() or run_store.list_runs(tmp_path / "store") == ([], [])


def test_a_name_taken_in_the_store_is_refused_with_a_free_one_before_anything_is_read(tmp_path, capsys):
    from fake_runs import write_fake_run

    store = tmp_path / "store"
    write_fake_run(store, "mine")
    argv = ["cnn_v3", "--dataset", f"folder:{tmp_path / 'nowhere'}", "--name", "mine", "--artifacts", str(store)]
    assert main(argv) == 2
    assert capsys.readouterr().err == (f"error: A run named 'mine' is already in '{store}' (or being written there): "
                                       f"name this one 'mine-2'\n")
