"""Image data sets: CIFAR-10 from Keras, or any class-per-folder tree, as uint8 arrays.

    load_dataset("cifar10", image_size=32)
    load_dataset("folder:path/to/images", image_size=64, limit=50)

A folder data set has `train/<class>/*` and `test/<class>/*`; images of any
size and mode are converted to RGB and resized to the model's input. Decoded
folders are cached (see `trainers.store.cache.default_cache_dir`) so a second
run does not decode again. Each image is turned into the model's view by
`trainers.inference.pixels.image_to_pixels`, as the dashboard's uploads are.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from trainers.inference.image_files import FILE_EXTENSIONS, FORMAT_NAMES, is_image_file, register_formats
from trainers.inference.pixels import image_to_pixels
from trainers.store import evaluable, evaluation_sets, run_store
from trainers.store.cache import default_cache_dir

CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)
_CACHE_FORMAT = 2  # bump when the cached arrays change meaning


class DatasetError(ValueError):
    """A data set that cannot be used, with a message that says why and what to do."""


@dataclass
class Split:
    """One split: images (N, H, W, 3) uint8, integer labels (N,), stable string ids (N,)."""

    images: np.ndarray
    labels: np.ndarray
    ids: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    def take(self, index: np.ndarray) -> "Split":
        return Split(self.images[index], self.labels[index], self.ids[index])


@dataclass
class ImageDataset:
    name: str
    spec: str  # what the user passed: "cifar10" or "folder:PATH"
    class_names: list[str]
    image_size: int
    train: Split
    validation: Split
    test: Split

    @property
    def test_key(self) -> str:
        """Names this exact test set (data set, size, images), so it is stored once."""
        return run_store.test_set_key(self.name, self.image_size, self.test.ids, self.test.labels)

    def summary(self) -> dict:
        return {
            "name": self.name,
            "spec": self.spec,
            "test_key": self.test_key,
            "class_names": list(self.class_names),
            "image_size": self.image_size,
            "sizes": {"train": len(self.train), "validation": len(self.validation), "test": len(self.test)},
        }


def parse_spec(spec: str) -> tuple[str, Path | None]:
    """Splits "cifar10" / "folder:PATH" into a kind and a path."""
    if spec == "cifar10":
        return "cifar10", None
    if spec.startswith("folder:") and len(spec) > len("folder:"):
        return "folder", Path(spec[len("folder:"):]).expanduser()
    raise DatasetError(f"Unknown dataset '{spec}'. Use 'cifar10' or 'folder:PATH'.")


def _load_cifar10() -> tuple[Split, Split, list[str]]:
    import keras  # deferred: TensorFlow takes seconds to import

    (x_train, y_train), (x_test, y_test) = keras.datasets.cifar10.load_data()
    y_train, y_test = y_train.reshape(-1), y_test.reshape(-1)
    train_ids = np.array([f"train/{i:05d}" for i in range(len(y_train))])
    test_ids = np.array([f"test/{i:05d}" for i in range(len(y_test))])
    return Split(x_train, y_train, train_ids), Split(x_test, y_test, test_ids), list(CIFAR10_CLASSES)


def _list_folder_split(root: Path, split: str, class_names: list[str] | None) -> tuple[list[Path], list[int], list[str]]:
    split_dir = root / split
    if not split_dir.is_dir():
        raise DatasetError(f"Dataset folder '{root}' has no '{split}/' subfolder (expected {split}/<class>/<images>).")
    found = sorted(p.name for p in split_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    if class_names is None:
        class_names = found
        if len(class_names) < 2:
            raise DatasetError(
                f"'{split_dir}' has {len(class_names)} class folder(s); a classifier needs at least 2."
            )
    elif found != class_names:
        raise DatasetError(
            f"'{split_dir}' has classes {found}, but train/ has {class_names}: they must match."
        )
    paths, labels = [], []
    for label, name in enumerate(class_names):
        files = sorted(
            p for p in (split_dir / name).rglob("*") if p.is_file() and is_image_file(p)
        )
        if not files:
            raise DatasetError(f"Class folder '{split_dir / name}' has no images ({FORMAT_NAMES}: {', '.join(FILE_EXTENSIONS)}).")
        paths += files
        labels += [label] * len(files)
    return paths, labels, class_names


def _decode(path: Path, image_size: int) -> np.ndarray | None:
    try:
        with Image.open(path) as image:
            return image_to_pixels(image, image_size)
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        warnings.warn(f"Skipping unreadable image '{path}': {error}")
        return None


def _decode_split(root: Path, paths: list[Path], labels: list[int], image_size: int) -> Split:
    register_formats()  # HEIC; before the threads, which would each register it
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        decoded = list(pool.map(lambda p: _decode(p, image_size), paths))
    keep = [i for i, pixels in enumerate(decoded) if pixels is not None]
    images = np.stack([decoded[i] for i in keep]) if keep else np.zeros((0, image_size, image_size, 3), np.uint8)
    ids = np.array([paths[i].relative_to(root).as_posix() for i in keep])
    return Split(images, np.array([labels[i] for i in keep], dtype=np.int64), ids)


def _load_folder(root: Path, image_size: int, cache_dir: Path | None) -> tuple[Split, Split, list[str]]:
    if not root.is_dir():
        raise DatasetError(f"Dataset folder '{root}' does not exist.")
    train_paths, train_labels, class_names = _list_folder_split(root, "train", None)
    test_paths, test_labels, _ = _list_folder_split(root, "test", class_names)

    # The cache key covers the file list, sizes and times, so any change re-decodes.
    digest = hashlib.sha1(f"{_CACHE_FORMAT}|{root.resolve()}|{image_size}".encode())
    for path in train_paths + test_paths:
        stat = path.stat()
        digest.update(f"{path}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    cache_file = (cache_dir or default_cache_dir()) / f"{root.name}-{image_size}px-{digest.hexdigest()[:16]}.npz"
    if cache_file.exists():
        with np.load(cache_file) as cached:
            return (
                Split(cached["train_images"], cached["train_labels"], cached["train_ids"]),
                Split(cached["test_images"], cached["test_labels"], cached["test_ids"]),
                class_names,
            )
    train = _decode_split(root, train_paths, train_labels, image_size)
    test = _decode_split(root, test_paths, test_labels, image_size)
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        partial = cache_file.with_suffix(".partial.npz")
        np.savez(
            partial,
            train_images=train.images, train_labels=train.labels, train_ids=train.ids,
            test_images=test.images, test_labels=test.labels, test_ids=test.ids,
        )
        os.replace(partial, cache_file)
    except OSError as error:  # a read-only cache only costs speed
        warnings.warn(f"Could not cache decoded images in '{cache_file.parent}': {error}")
    return train, test, class_names


@dataclass
class EvaluationFolder:
    """The images of a folder to evaluate runs on (`read_evaluation_folder`), labelled as `evaluation_sets` says."""

    images: Split  # labels: a class of the runs, evaluation_sets.NONE_OF_THESE, or evaluation_sets.UNLABELLED
    labelled: bool
    folders: list[str]  # a labelled folder's class folders, classes of the runs or not
    fingerprint: str  # of its files' paths, sizes and times: a changed folder has another


def evaluation_folder_files(root: Path) -> tuple[list[Path], list[str]]:
    """The image files of an evaluation folder, and its class folders: a class-per-folder tree (labelled), or a
    flat folder of images ([] folders); DatasetError when it is neither."""
    if not root.is_dir():
        raise DatasetError(f"Evaluation folder '{root}' does not exist.")
    loose = sorted(path for path in root.iterdir() if path.is_file() and is_image_file(path))
    folders = sorted(path.name for path in root.iterdir() if path.is_dir() and not path.name.startswith("."))
    nested = {name: sorted(path for path in (root / name).rglob("*") if path.is_file() and is_image_file(path))
              for name in folders}
    folders = [name for name in folders if nested[name]]
    if loose and folders:
        raise DatasetError(f"'{root}' holds images and folders of images: put the loose images in a folder (named "
                           "after their class, or any name for images of none of the classes), or the others beside "
                           "them for an unlabelled set")
    if not loose and not folders:
        raise DatasetError(f"'{root}' holds no images ({FORMAT_NAMES}: {', '.join(FILE_EXTENSIONS)}).")
    return (loose, []) if loose else ([path for name in folders for path in nested[name]], folders)


def read_evaluation_folder(root: Path, class_names: list[str], image_size: int) -> EvaluationFolder:
    """An evaluation folder's images at `image_size`, each labelled by its folder: the index of that class among
    `class_names`, NONE_OF_THESE for a folder that is no class of them, UNLABELLED in a flat folder. Ids are the
    files' paths inside the folder; unreadable files are skipped with a warning."""
    root = Path(root)
    paths, folders = evaluation_folder_files(root)
    index = {name: position for position, name in enumerate(class_names)}
    labels = [index.get(path.relative_to(root).parts[0], evaluation_sets.NONE_OF_THESE) if folders
              else evaluation_sets.UNLABELLED for path in paths]
    images = _decode_split(root, paths, labels, image_size)
    return EvaluationFolder(images, bool(folders), folders, evaluation_fingerprint(root, image_size, paths))


def evaluation_fingerprint(root: Path, image_size: int, paths: list[Path] | None = None) -> str:
    """What an evaluation folder holds, in a few characters: its files' paths, sizes and times, and the image size
    they are read at; read before any image is decoded, so a set already stored is not decoded again."""
    root = Path(root)
    digest = hashlib.sha1(f"{image_size}".encode())
    for path in paths if paths is not None else evaluation_folder_files(root)[0]:
        stat = path.stat()
        digest.update(f"{path.relative_to(root).as_posix()}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def stored_evaluation_set(run: run_store.Run, spec: str,
                          name: str | None = None) -> tuple[evaluation_sets.EvaluationSet, bool]:
    """The evaluation set `spec` names for the runs of `run`'s test set, stored, and whether its folder was read again
    because it changed: what every way of adding a run's predictions on a set starts from.

    Args:
        spec: "folder:PATH": a class-per-folder tree or a flat folder (`read_evaluation_folder`), stored under `name`
            (default: the folder's name) unless it is already, and read again when the folder changed; or the name of
            a set already stored for the test set.
        name: the name of a set read from a folder.

    Raises:
        DatasetError: in one line, a folder that is no set, a name the test set has no set of, or a name taken by a
            set read from another folder.
    """
    if not spec.startswith(evaluable.FOLDER_PREFIX):
        return _named_set(run, spec, name), False
    _, root = parse_spec(spec)
    root = root.resolve()
    name = name or root.name
    source = f"{evaluable.FOLDER_PREFIX}{root}"
    stored = evaluation_sets.set_description(run.store, run.test_key, name)
    if stored is not None and stored["source"] != source:
        raise DatasetError(f"the runs of this test set have a set named '{name}' read from {stored['source']}: give "
                           "this one another name (--eval-name, eval_name=)")
    if stored is not None and stored["fingerprint"] == evaluation_fingerprint(root, run.image_size):
        return evaluation_sets.load_set(run.store, run.test_key, name), False
    folder = read_evaluation_folder(root, run.class_names, run.image_size)
    evaluation_set = evaluation_sets.EvaluationSet(name, source, folder.labelled, folder.folders, folder.fingerprint,
                                                   folder.images.ids, folder.images.labels, folder.images.images)
    evaluation_sets.save_set(run.store, run.test_key, evaluation_set)
    return evaluation_set, stored is not None


def _named_set(run: run_store.Run, name: str, renamed: str | None) -> evaluation_sets.EvaluationSet:
    """The set stored as `name` for the run's test set; DatasetError naming the sets it has when it has no such one."""
    if renamed not in (None, name):
        raise DatasetError(f"'{name}' names a stored set, which keeps its name: a new name is for a set read from a "
                           f"folder ({evaluable.FOLDER_PREFIX}PATH)")
    try:
        stored = evaluation_sets.set_description(run.store, run.test_key, name)
    except run_store.RunError:  # not a name a set can have: a path given without folder:, say
        stored = None
    if stored is None:
        known = evaluation_sets.set_names(run.store, run.test_key)
        raise DatasetError(f"'{name}' is neither {evaluable.FOLDER_PREFIX}PATH nor a set stored for the test set "
                           f"{run.test_key} ({'its sets: ' + ', '.join(known) if known else 'it has none yet'})")
    return evaluation_sets.load_set(run.store, run.test_key, name)


def _first_per_class(split: Split, limit: int) -> Split:
    keep = np.concatenate([np.flatnonzero(split.labels == c)[:limit] for c in np.unique(split.labels)])
    return split.take(np.sort(keep))


def _validation_split(train: Split, fraction: float, seed: int, num_classes: int) -> tuple[Split, Split]:
    from sklearn.model_selection import train_test_split

    n_validation = max(num_classes, round(fraction * len(train)))
    if len(train) - n_validation < num_classes:
        raise DatasetError(
            f"Only {len(train)} training images for {num_classes} classes: too few to hold out a validation split."
        )
    index = np.arange(len(train))
    counts = np.bincount(train.labels, minlength=num_classes)
    stratify = train.labels if counts.min() >= 2 else None
    fit_index, validation_index = train_test_split(
        index, test_size=n_validation, random_state=seed, stratify=stratify
    )
    return train.take(np.sort(fit_index)), train.take(np.sort(validation_index))


def load_dataset(
    spec: str,
    *,
    image_size: int = 32,
    limit: int | None = None,
    validation_fraction: float = 0.1,
    seed: int = 42,
    cache_dir: Path | None = None,
) -> ImageDataset:
    """Loads a data set as uint8 arrays with a seeded validation split taken from train.

    Args:
        spec: "cifar10" (keras.datasets, downloads once) or "folder:PATH".
        image_size: side in pixels the images are resized to.
        limit: at most this many images per class in every split (None = all).
        validation_fraction: share of train held out for validation; never test.
        seed: seed of the validation split.
        cache_dir: where decoded folders are cached (default: `default_cache_dir()`).

    Returns:
        An ImageDataset with train, validation and test splits.

    Example:
        >>> data = load_dataset("folder:animals", image_size=64, limit=100)
        >>> data.class_names[:2], data.train.images.shape[1:]
        (['cat', 'dog'], (64, 64, 3))
    """
    if limit is not None and limit < 1:
        raise DatasetError(f"--limit must be at least 1 image per class, got {limit}.")
    kind, root = parse_spec(spec)
    if kind == "cifar10":
        name = "cifar10"
        train, test, class_names = _load_cifar10()
        if image_size != 32:
            train, test = (
                Split(np.stack([image_to_pixels(Image.fromarray(x), image_size) for x in s.images]), s.labels, s.ids)
                for s in (train, test)
            )
    else:
        name = root.resolve().name
        train, test, class_names = _load_folder(root, image_size, cache_dir)
    if limit is not None:
        train, test = _first_per_class(train, limit), _first_per_class(test, limit)
    train, validation = _validation_split(train, validation_fraction, seed, len(class_names))
    return ImageDataset(name, spec, class_names, image_size, train, validation, test)
