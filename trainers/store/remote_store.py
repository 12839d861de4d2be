"""Run stores in object storage (`s3://bucket/prefix`, `gs://bucket/prefix`), used through a local mirror folder.

The run store's code (`trainers.store.run_store`) reads and writes folders; a remote store keeps it so. Each URL has
a mirror folder, itself a run store (under `$CNN_COMPARE_CACHE/stores/`, `~/.cache/cnn-compare/stores/` by
default):

- a reader calls `mirror(url)`: it downloads the runs complete in the bucket that are new or changed since the
  last call, drops those deleted there, and returns the folder;
- the trainer trains into `local_store(url)`, the same folder (an interrupted run resumes from its `.partial/`
  there), and hands the committed run to `publish(run_path, url)`.

Object stores have no rename, so a run is committed in the bucket by the order of its uploads: every file of the
run, then its test set's images (if the bucket lacks them), then run.json, the file that says a run is complete.
Readers take only the folders whose run.json they find: a folder without one is an upload in progress.

s3:// needs s3fs and gs:// gcsfs (`pip install -e ".[cloud]"`); credentials and endpoints are the clients' own
(AWS_* variables or ~/.aws, AWS_ENDPOINT_URL for an S3-compatible server; GOOGLE_APPLICATION_CREDENTIALS).

    python -m trainers.store.remote_store artifacts/cnn_v4-20261127-101500 s3://bucket/runs
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from trainers.store import run_store
from trainers.store.cache import default_cache_dir

# Scheme -> the fsspec implementation that reads it, and so the package to install.
SCHEMES = {"s3": "s3fs", "gs": "gcsfs"}
# In a mirror folder: the URL it mirrors and the signature of each file it holds from there.
MIRROR_FILE = ".mirror.json"
# Where a mirror downloads before moving files into place, so that its own readers never see half a run.
INCOMING_DIR = ".incoming"


class StoreError(Exception):
    """A remote store that cannot be used; the message says why, in one line."""


def is_remote(store: str | os.PathLike | None) -> bool:
    """Whether `store` is a URL (`scheme://...`) rather than a folder. A Path never is: it folds '//' into '/'."""
    return isinstance(store, str) and "://" in store


def store_url(store: str | os.PathLike | None = None) -> str | None:
    """The URL of the remote store that `store` (else $ARTIFACTS_DIR) names; None when it names a folder."""
    store = store or os.environ.get("ARTIFACTS_DIR")
    return store if is_remote(store) else None


def mirror_path(url: str) -> Path:
    """The folder that mirrors `url`: a readable name, plus a hash so that 's3://a-b/c' and 's3://a/b-c' differ."""
    url = url.rstrip("/")
    readable = re.sub(r"[^\w.-]+", "-", url).strip("-")
    return default_cache_dir() / "stores" / f"{readable}-{hashlib.sha256(url.encode()).hexdigest()[:8]}"


def mirrored_url(store: str | os.PathLike) -> str | None:
    """The URL that the folder `store` mirrors; None for any other store."""
    try:
        return json.loads((Path(store) / MIRROR_FILE).read_text())["url"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def local_store(store: str | os.PathLike | None = None) -> Path:
    """The folder a writer writes runs in: `store` (else $ARTIFACTS_DIR, else artifacts/), or its mirror if it is
    a URL, once the bucket is found readable. Raises StoreError (a bad scheme, a missing client, no access)."""
    url = store_url(store)
    if not url:
        return run_store.resolve_store(store)
    fs, root = _filesystem(url)
    with _remote_errors(url):
        # What mirror() lists: a new prefix is an empty store; a missing bucket or bad credentials raise. (With a
        # maxdepth, fsspec would take a missing bucket for an empty folder.)
        fs.find(root)
    return _mirror_folder(url)


def run_exists(url: str, run_id: str) -> bool:
    """Whether the remote store holds a complete run named `run_id`."""
    fs, root = _filesystem(url)
    with _remote_errors(url):
        return fs.exists(f"{root}/{run_id}/{run_store.RUN_FILE}")


def mirror(url: str) -> Path:
    """Brings the mirror folder of `url` up to date with the bucket and returns it (see the module's docstring).

    Only what changed is downloaded (each file's size and ETag, or modification time, is compared with what
    was downloaded before). Runs' tensorboard/ folders are left in the bucket: TensorBoard reads them there.
    Runs that this mirror never took from the bucket (trained here, not yet published) are left alone.
    """
    fs, root = _filesystem(url)
    with _remote_errors(url):
        fs.invalidate_cache(root)  # fsspec keeps listings; a new run must show
        listing = {_relative(name, root): _signature(info) for name, info in fs.find(root, detail=True).items()}
    local = _mirror_folder(url)  # only once the bucket is found: a mistyped URL leaves no folder behind
    wanted = _files_to_mirror(listing)
    known = _read_manifest(local)
    changed = {key for key, signature in wanted.items() if known.get(key) != signature or not (local / key).is_file()}
    # A changed run is committed again here: its run.json is replaced last, which also tells readers that keep
    # runs by run.json's modification time (the dashboard) to read it again.
    changed |= {f"{_run_of(key)}/{run_store.RUN_FILE}" for key in changed if _run_of(key)}
    complete_runs = {_run_of(key) for key in wanted} - {None}
    deleted_runs = {_run_of(key) for key in known} - {None} - complete_runs  # from the bucket, or their run.json
    try:
        with tempfile.TemporaryDirectory(prefix="sync-", dir=_created(local / INCOMING_DIR)) as incoming:
            if changed:
                with _remote_errors(url):
                    fs.get([f"{root}/{key}" for key in sorted(changed)],
                           [str(_created(Path(incoming, key).parent) / Path(key).name) for key in sorted(changed)])
            _move_into_place(Path(incoming), local, changed)
            for run_id in deleted_runs & {path.name for path in local.iterdir()}:
                # Out of the store in one rename; deleted with `incoming`.
                os.replace(local / run_id, _created(Path(incoming, "deleted")) / run_id)
        for key in set(known) - set(wanted):
            if _run_of(key) in complete_runs or _run_of(key) is None:
                (local / key).unlink(missing_ok=True)  # a file deleted from a run or a test set in the bucket
        if wanted != known:
            _write_manifest(local, url, wanted)
    except OSError as error:  # a full disk, a mirror folder that cannot be written
        raise StoreError(f"cannot mirror '{url}' in '{local}': {error}") from None
    with suppress(OSError):
        (local / INCOMING_DIR).rmdir()  # unless another sync is downloading
    return local


def publish(run_path: str | os.PathLike, url: str) -> str:
    """Uploads a committed run folder to the remote store `url`, run.json last; returns the run's URL.

    Its test set's images go too, before run.json, if the bucket lacks them. Raises RunError if the folder
    is not a complete run, StoreError if the bucket holds a complete run of that name or cannot be written.
    """
    run = run_store.load_run(run_path)
    fs, root = _filesystem(url)
    target = f"{root}/{run.run_id}"
    info_file = run.path / run_store.RUN_FILE
    uploads = {str(path): f"{target}/{path.relative_to(run.path).as_posix()}"
               for path in sorted(run.path.rglob("*")) if path.is_file() and path != info_file}
    test_images = run_store.test_images_path(run.store, run.test_key)
    remote_test_images = f"{root}/{test_images.relative_to(run.store).as_posix()}"
    with _remote_errors(url):
        if fs.exists(f"{target}/{run_store.RUN_FILE}"):
            raise StoreError(f"'{url}' already holds a run named '{run.run_id}'")
        if test_images.is_file() and not fs.exists(remote_test_images):
            uploads[str(test_images)] = remote_test_images
        fs.put(list(uploads), list(uploads.values()))
        fs.put_file(str(info_file), f"{target}/{run_store.RUN_FILE}")  # last: the run is complete from here on
        if mirrored_url(run.store) == url.rstrip("/"):
            # What the mirror holds from the bucket, so that mirror() downloads none of it and drops the run
            # once it is deleted from the bucket.
            uploaded = fs.find(target, detail=True) | fs.find(remote_test_images, detail=True)
            published = _files_to_mirror({_relative(name, root): _signature(info) for name, info in uploaded.items()})
            _write_manifest(run.store, url, {**_read_manifest(run.store), **published})
    return f"{url.rstrip('/')}/{run.run_id}"


def add_files(run_path: str | os.PathLike, url: str, paths: list[Path]) -> None:
    """Uploads files a published run gained since (its predictions on a corruption, say) to the bucket, in the
    order given: a reader that needs two files of a unit writes its record first and takes the unit once the second
    is there."""
    run = Path(run_path)
    fs, root = _filesystem(url)
    with _remote_errors(url):
        for path in paths:
            fs.put_file(str(path), f"{root}/{run.name}/{Path(path).relative_to(run).as_posix()}")


def file_exists(url: str, key: str) -> bool:
    """Whether the bucket holds `key` (a path under the store's prefix)."""
    fs, root = _filesystem(url)
    with _remote_errors(url):
        fs.invalidate_cache(f"{root}/{key}")
        return fs.exists(f"{root}/{key}")


def create_exclusively(url: str, key: str, content: bytes) -> bool:
    """Writes `key` unless the bucket holds it already: True when this call created it. Conditional writes (S3's
    If-None-Match, GCS's generation match, through fsspec's "xb" mode) make this one request that one writer
    alone wins, as creating a file exclusively is on a local disk."""
    fs, root = _filesystem(url)
    with _remote_errors(url):
        try:
            with fs.open(f"{root}/{key}", "xb") as remote_file:
                remote_file.write(content)
        except FileExistsError:  # what s3fs raises when the condition fails
            return False
    return True


def read_file(url: str, key: str) -> bytes | None:
    """The content of `key`, or None when the bucket lacks it."""
    fs, root = _filesystem(url)
    with _remote_errors(url):
        try:
            return fs.cat_file(f"{root}/{key}")
        except FileNotFoundError:
            return None


def delete_file(url: str, key: str) -> None:
    """Removes `key` from the bucket, if it is there."""
    fs, root = _filesystem(url)
    with _remote_errors(url), suppress(FileNotFoundError):
        fs.rm_file(f"{root}/{key}")


def _filesystem(url: str):
    """The fsspec file system of `url` and the path in it (bucket/prefix, no trailing slash)."""
    scheme, _, path = url.partition("://")
    if scheme not in SCHEMES:
        raise StoreError(f"'{url}' is not a run store: give a folder, or a URL of "
                         f"{' or '.join(f'{name}://bucket/prefix' for name in SCHEMES)}")
    if not path.strip("/"):
        raise StoreError(f"'{url}' names no bucket: give {scheme}://bucket or {scheme}://bucket/prefix")
    import fsspec  # deferred: a local store, the common case, does without it

    try:
        return fsspec.filesystem(scheme), path.strip("/")
    except ImportError:
        raise StoreError(f"a {scheme}:// run store needs {SCHEMES[scheme]}: pip install {SCHEMES[scheme]} "
                         f"(or pip install -e \".[cloud]\")") from None


@contextmanager
def _remote_errors(url: str) -> Iterator[None]:
    """Turns whatever the client raises into one StoreError line naming the store."""
    try:
        yield
    except StoreError:
        raise
    except Exception as error:  # noqa: BLE001 - each client has its own errors: botocore's, google-auth's, aiohttp's
        reason = " ".join(str(error).split()) or type(error).__name__
        hint = " (check the credentials)" if isinstance(error, PermissionError) else ""
        raise StoreError(f"cannot use the run store '{url}': {reason}{hint}") from None


# What the clients' listings call a file's version, best first (s3fs, gcsfs, then any fsspec file system).
_VERSION_KEYS = ("ETag", "etag", "md5Hash", "LastModified", "updated", "mtime")


def _signature(info: dict) -> str:
    """What changes when a remote file does: its size and ETag (S3, GCS), else its modification time."""
    version = next((info[key] for key in _VERSION_KEYS if info.get(key)), "")
    return f"{info.get('size')}:{version}"


def _relative(name: str, root: str) -> str:
    return name.removeprefix(root).lstrip("/")


def _run_of(key: str) -> str | None:
    """The run folder a file of the store is in; None for a test set's images."""
    first = key.split("/", 1)[0]
    return None if first == run_store.DATASETS_DIR else first


def _files_to_mirror(listing: dict[str, str]) -> dict[str, str]:
    """Of a remote store's files (relative key -> signature), those of complete runs (tensorboard/ aside) and the
    stored test images. Keys that would not make a plain relative path are skipped: none leads out of the mirror."""
    complete = {key.split("/")[0] for key in listing if key.count("/") == 1 and key.endswith(f"/{run_store.RUN_FILE}")}
    complete = {name for name in complete if not name.startswith(".") and name not in run_store.RESERVED_NAMES}
    wanted = {}
    for key, signature in listing.items():
        parts = key.split("/")
        folders = {"/".join(parts[:end]) for end in range(1, len(parts))}
        if (len(parts) < 2 or any(part in ("", ".", "..") or "\\" in part for part in parts)
                or folders & listing.keys()):  # an object store lets 'a' and 'a/b' both be files
            continue
        if parts[0] == run_store.DATASETS_DIR or parts[0] in complete and parts[1] != run_store.TENSORBOARD_DIR:
            wanted[key] = signature
    return wanted


def _move_into_place(incoming: Path, local: Path, downloaded: set[str]) -> None:
    """Moves downloaded files from `incoming` into the mirror: a new run folder in one rename, the files of a run
    already there one by one with its run.json last."""
    for run_id in {_run_of(key) for key in downloaded} - {None}:
        if not (local / run_id).exists():
            with suppress(OSError):  # another sync moved it in first: the files are then moved one by one
                os.replace(incoming / run_id, local / run_id)
    for key in sorted(downloaded, key=lambda key: key.endswith(f"/{run_store.RUN_FILE}")):  # run.json last
        if (incoming / key).exists():
            os.replace(incoming / key, _created((local / key).parent) / Path(key).name)


def _created(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _mirror_folder(url: str) -> Path:
    """The mirror folder of `url`, made (with the record of its URL) if it was not there."""
    local = mirror_path(url)
    try:
        if mirrored_url(_created(local)) is None:
            _write_manifest(local, url, {})
    except OSError as error:
        raise StoreError(f"cannot mirror '{url}' in '{local}': {error}") from None
    return local


def _read_manifest(local: Path) -> dict[str, str]:
    try:
        files = json.loads((local / MIRROR_FILE).read_text()).get("files", {})
    except (OSError, ValueError, AttributeError):
        return {}
    return files if isinstance(files, dict) else {}


def _write_manifest(local: Path, url: str, files: dict[str, str]) -> None:
    with tempfile.NamedTemporaryFile("w", dir=local, prefix=".mirror-", suffix=".json", delete=False) as file:
        json.dump({"url": url.rstrip("/"), "files": files}, file, indent=1, sort_keys=True)
    os.replace(file.name, local / MIRROR_FILE)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m trainers.store.remote_store", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", help="a committed run folder")
    parser.add_argument("url", nargs="?", help="the remote store (default: the one the run's store mirrors)")
    args = parser.parse_args(argv)
    url = args.url or mirrored_url(Path(args.run).parent)
    if not url:
        print(f"error: '{Path(args.run).parent}' mirrors no remote store: name the URL to publish to",
              file=sys.stderr)
        return 2
    try:
        print(f"Run published to {publish(args.run, url)}")
    except (StoreError, run_store.RunError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
