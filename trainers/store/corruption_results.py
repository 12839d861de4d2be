"""Each run's predictions on corrupted copies of a class-balanced subset of its test images: the 15 corruptions of
CIFAR-10-C and ImageNet-C (Hendrycks and Dietterich, ICLR 2019) at 5 severities, one unit of work per corruption and
severity.

    <run>/corruptions/<corruption>-<severity>.npz    the run's pick of each of the unit's images: ids, labels, the
                                                     class it picked and that class's probability, in the subset's
                                                     order
    <run>/corruptions/<corruption>-<severity>.json   what was predicted: the corruption, severity and parameters, the
                                                     subset (its size and a digest of its ids), a digest of the
                                                     corrupted pixels, the libraries that made them, who and when
    <run>/corruptions/<corruption>-<severity>.claim  a process is predicting the unit (host, process, since when)

A unit keeps each image's pick and its probability, not the whole probability vector: that is all robustness reads,
and a run's 75 units of whole vectors (1,000 images each) weighed 3 MB, a fifth of the store the repository ships.

The corrupted images themselves are not stored: the same image, corruption and severity always give the same pixels
(`trainers.inference.corruptions`), so any process regenerates them in a fraction of the time a model takes to
predict them, rather than sharing 75 copies of the subset through the store. Each unit records the digest of the
pixels it was predicted on, so units made where the libraries drew other pixels can be told apart.

A unit is written whole or not at all, and a process predicts it only once it holds the unit's claim, made by
creating the claim file exclusively: processes sharing a store (one machine, or a shared folder) never predict the
same unit twice. A claim left by a process that died (gone from this machine, or older than STALE_CLAIM_SECONDS) is
taken over by one process alone.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from pathlib import Path

import numpy as np

from trainers.store import remote_store, run_store
from trainers.store.run_store import Predictions, RunError

CORRUPTIONS_DIR = "corruptions"  # in a run folder
# The corruptions in the paper's order, by family.
FAMILIES = {
    "noise": ("gaussian_noise", "shot_noise", "impulse_noise"),
    "blur": ("defocus_blur", "glass_blur", "motion_blur", "zoom_blur"),
    "weather": ("snow", "frost", "fog", "brightness"),
    "digital": ("contrast", "elastic_transform", "pixelate", "jpeg_compression"),
}
CORRUPTIONS = tuple(name for names in FAMILIES.values() for name in names)
SEVERITIES = (1, 2, 3, 4, 5)
# A unit takes seconds to minutes to predict; a claim this old is left by a process that is gone.
STALE_CLAIM_SECONDS = 3600
FILE_ARRAYS = ("ids", "labels", "predicted", "confidence", "classes")  # of a unit's .npz
UNIT_FIELDS = ("corruption", "severity", "parameters", "profile", "images", "subset", "pixels", "libraries",
               "evaluated_at", "evaluated_by")


def unit_name(corruption: str, severity: int) -> str:
    """The file stem of a unit ("gaussian_noise-5"); ValueError for a corruption or severity there is not."""
    if corruption not in CORRUPTIONS:
        raise ValueError(f"no corruption '{corruption}': one of {', '.join(CORRUPTIONS)}")
    if severity not in SEVERITIES:
        raise ValueError(f"no severity {severity!r}: 1 to 5")
    return f"{corruption}-{severity}"


def _unit_path(run_path: str | Path, corruption: str, severity: int, suffix: str) -> Path:
    return Path(run_path) / CORRUPTIONS_DIR / (unit_name(corruption, severity) + suffix)


def write_unit(run_path: str | Path, corruption: str, severity: int, predictions: Predictions, record: dict) -> Path:
    """Writes a run's predictions on a unit's images beside its record (`UNIT_FIELDS`), in place of any it had;
    whole or not at all: the predictions are moved into place last, once their record is."""
    record = {**record, "corruption": corruption, "severity": severity}
    missing = [field for field in UNIT_FIELDS if field not in record]
    if missing:
        raise ValueError(f"a unit's record lacks {', '.join(missing)}")
    (Path(run_path) / CORRUPTIONS_DIR).mkdir(exist_ok=True)
    path = _unit_path(run_path, corruption, severity, ".npz")
    classes = predictions.probabilities.shape[1]
    with run_store.written_aside(path) as partial:
        np.savez_compressed(partial, ids=np.asarray(predictions.ids).astype(str),
                            labels=np.asarray(predictions.labels, dtype=np.int64),
                            predicted=predictions.predicted.astype(np.min_scalar_type(classes)),
                            confidence=predictions.confidence.astype(np.float32), classes=np.int64(classes))
        run_store.write_json(path.with_suffix(".json"), record)
    return path


def unit_record(run_path: str | Path, corruption: str, severity: int) -> dict | None:
    """A unit's record, or None when the run has no predictions on it (or only a record whose predictions a kill
    kept from being moved into place)."""
    path = _unit_path(run_path, corruption, severity, ".json")
    if not (path.is_file() and path.with_suffix(".npz").is_file()):
        return None
    record = run_store.read_json(path)
    missing = [field for field in UNIT_FIELDS if field not in record]
    if missing:
        raise RunError(f"{path} lacks {', '.join(missing)}")
    return record


def read_unit(run_path: str | Path, corruption: str, severity: int) -> tuple[Predictions, dict]:
    """A run's predictions on a unit and its record; RunError when they cannot be read."""
    record = unit_record(run_path, corruption, severity)
    if record is None:
        raise RunError(f"{Path(run_path).name} has no predictions on {unit_name(corruption, severity)}")
    path = _unit_path(run_path, corruption, severity, ".npz")
    try:
        with np.load(path, allow_pickle=False) as stored:
            ids, labels, predicted, confidence, classes = (stored[name] for name in FILE_ARRAYS)
    except (OSError, ValueError, KeyError, EOFError) as error:  # missing arrays, a damaged or truncated file
        raise RunError(f"{path} cannot be read: {error}") from None
    count = len(ids)
    if not (labels.shape == predicted.shape == confidence.shape == (count,)) or not (predicted < classes).all():
        raise RunError(f"{path}'s arrays do not fit together: {count} ids, labels {labels.shape}, picks "
                       f"{predicted.shape}, probabilities {confidence.shape}")
    # As `Predictions` of the top class alone (no whole vector): its pick, probability and order are exact.
    return Predictions(ids, labels, np.zeros((count, 0), np.float32), predicted.astype(np.int64)[:, None],
                       confidence[:, None]), record


def units(run_path: str | Path) -> list[tuple[str, int]]:
    """The (corruption, severity) units a run has predictions on, in the paper's order."""
    folder = Path(run_path) / CORRUPTIONS_DIR
    if not folder.is_dir():
        return []
    return [(corruption, severity) for corruption in CORRUPTIONS for severity in SEVERITIES
            if (folder / f"{corruption}-{severity}.json").is_file()
            and (folder / f"{corruption}-{severity}.npz").is_file()]


def this_process() -> str:
    """This process, as a unit's record names who predicted it: "host:pid"."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _claim_is_stale(claim: Path) -> bool:
    """Whether the process that made the claim is gone: a process of this machine that no longer runs, or a claim
    older than STALE_CLAIM_SECONDS; an unreadable claim is one a process is still writing, not stale."""
    try:
        holder = json.loads(claim.read_text())
    except (OSError, ValueError):
        return False
    if time.time() - float(holder.get("since", 0)) > STALE_CLAIM_SECONDS:
        return True
    if holder.get("host") != socket.gethostname():
        return False
    try:
        os.kill(int(holder["pid"]), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, KeyError, ValueError, TypeError):
        return False
    return False


def claim(run_path: str | Path, corruption: str, severity: int) -> bool:
    """Claims a unit for this process: True when no other process holds it (the claim file is created exclusively,
    so of processes claiming at once, one wins). A stale claim is first moved aside under this process's name,
    which one process alone can do."""
    path = _unit_path(run_path, corruption, severity, ".claim")
    path.parent.mkdir(exist_ok=True)
    for _ in range(2):
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            if not _claim_is_stale(path):
                return False
            aside = path.with_name(f"{path.name}.stale-{os.getpid()}")
            try:
                os.rename(path, aside)  # of processes finding it stale, the first moves it; the others fail
            except FileNotFoundError:
                return False
            aside.unlink(missing_ok=True)
            continue
        with os.fdopen(descriptor, "w") as claim_file:
            json.dump({"host": socket.gethostname(), "pid": os.getpid(), "since": time.time()}, claim_file)
        return True
    return False


def release(run_path: str | Path, corruption: str, severity: int) -> None:
    """Gives up this process's claim of a unit."""
    with contextlib.suppress(FileNotFoundError):
        _unit_path(run_path, corruption, severity, ".claim").unlink()


# In a remote store (`trainers.store.remote_store`), processes on several machines each predict in their own mirror
# folder: a unit's claim is made in the bucket too, and its files are added to the bucket once written.
def _bucket_key(run_path: str | Path, corruption: str, severity: int, suffix: str) -> str:
    return f"{Path(run_path).name}/{CORRUPTIONS_DIR}/{unit_name(corruption, severity)}{suffix}"


def claim_in_bucket(url: str, run_path: str | Path, corruption: str, severity: int) -> bool:
    """Claims a unit in the bucket of a remote store: True when this process holds it. The claim is created only if
    the bucket lacks it (a conditional write), so one process of all the machines wins. A claim older than
    STALE_CLAIM_SECONDS is taken over by the one process that first creates its takeover marker."""
    key = _bucket_key(run_path, corruption, severity, ".claim")
    holder = json.dumps({"host": socket.gethostname(), "pid": os.getpid(), "since": time.time()}).encode()
    if remote_store.create_exclusively(url, key, holder):
        return True
    held = remote_store.read_file(url, key)
    try:
        since = float(json.loads(held)["since"]) if held else None
    except (ValueError, KeyError, TypeError):
        since = None
    if since is None or time.time() - since <= STALE_CLAIM_SECONDS:
        return False
    if not remote_store.create_exclusively(url, f"{key}.takeover-{since}", holder):
        return False
    remote_store.delete_file(url, key)
    return remote_store.create_exclusively(url, key, holder)


def release_in_bucket(url: str, run_path: str | Path, corruption: str, severity: int) -> None:
    remote_store.delete_file(url, _bucket_key(run_path, corruption, severity, ".claim"))


def bucket_record(url: str, run_path: str | Path, corruption: str, severity: int) -> dict | None:
    """A unit's record in the bucket, once its predictions are there too; None otherwise."""
    if not remote_store.file_exists(url, _bucket_key(run_path, corruption, severity, ".npz")):
        return None
    content = remote_store.read_file(url, _bucket_key(run_path, corruption, severity, ".json"))
    return json.loads(content) if content else None


def publish_unit(url: str, run_path: str | Path, corruption: str, severity: int) -> None:
    """Adds a written unit to the bucket: its record, then its predictions (a reader takes a unit once both are
    there)."""
    remote_store.add_files(run_path, url, [_unit_path(run_path, corruption, severity, suffix)
                                           for suffix in (".json", ".npz")])
