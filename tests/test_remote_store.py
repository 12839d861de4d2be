"""A run store in a bucket: published whole or not at all, mirrored for reading, against a real S3 server.

The server is moto's, started on loopback; s3fs is the client, as for a real bucket (AWS_ENDPOINT_URL points it
at the server, fake credentials in the environment).
"""

from __future__ import annotations

import filecmp
import logging
import re
import shutil
import sys
import uuid
from pathlib import Path

import fsspec
import pytest
from moto.server import ThreadedMotoServer

from trainers.store import remote_store, run_store
from trainers.store.remote_store import StoreError
from trainers.train import main as train


@pytest.fixture(scope="module")
def s3_server():
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    with pytest.MonkeyPatch.context() as environment:
        for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                            "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1",
                            "AWS_ENDPOINT_URL": f"http://{host}:{port}"}.items():
            environment.setenv(name, value)
        fsspec.filesystem("s3").clear_instance_cache()  # so that no client made before points elsewhere
        yield fsspec.filesystem("s3")
        fsspec.filesystem("s3").clear_instance_cache()
    server.stop()


@pytest.fixture
def bucket(s3_server, tmp_path, monkeypatch) -> str:
    """A new bucket's store URL, mirrored under this test's own cache folder."""
    name = f"runs-{uuid.uuid4().hex[:12]}"
    s3_server.mkdir(name)
    monkeypatch.setenv("CNN_COMPARE_CACHE", str(tmp_path / "cache"))
    return f"s3://{name}/team"


def files_of(folder: Path) -> dict[str, Path]:
    """The files of a store or a run folder, the mirror's own record aside."""
    return {path.relative_to(folder).as_posix(): path for path in sorted(folder.rglob("*"))
            if path.is_file() and path.name != remote_store.MIRROR_FILE}


def assert_same_files(copy: Path, original: Path):
    expected = {name for name in files_of(original) if not name.startswith(run_store.TENSORBOARD_DIR)}
    assert set(files_of(copy)) == expected
    for name in expected:
        assert filecmp.cmp(copy / name, original / name, shallow=False), name


def file_identities(folder: Path) -> dict[str, tuple[int, int]]:
    """Each file's inode and modification time: a file downloaded again (moved into place) changes both."""
    return {name: (path.stat().st_ino, path.stat().st_mtime_ns) for name, path in files_of(folder).items()}


def test_published_runs_read_back_identical_through_the_mirror(s3_server, bucket, tiny_store):
    assert remote_store.publish(tiny_store / "plain", bucket) == f"{bucket}/plain"
    remote_store.publish(tiny_store / "fast", bucket)

    mirrored = remote_store.mirror(bucket)
    runs, broken = run_store.list_runs(mirrored)
    assert sorted(run.run_id for run in runs) == ["fast", "plain"] and not broken
    for run in runs:
        assert_same_files(run.path, tiny_store / run.run_id)
    test_images = run_store.test_images_path(tiny_store, runs[0].test_key)
    assert filecmp.cmp(run_store.test_images_path(mirrored, runs[0].test_key), test_images, shallow=False)
    # TensorBoard reads its logs in the bucket itself.
    assert s3_server.find(f"{bucket}/plain/{run_store.TENSORBOARD_DIR}")
    assert remote_store.mirrored_url(mirrored) == bucket


def test_a_half_uploaded_run_is_never_listed_until_its_run_json_arrives(s3_server, bucket, tiny_store):
    run = tiny_store / "plain"
    for name, path in files_of(run).items():
        if name != run_store.RUN_FILE:
            s3_server.put_file(str(path), f"{bucket}/plain/{name}")

    assert run_store.list_runs(remote_store.mirror(bucket)) == ([], [])  # not listed, nor broken
    s3_server.put_file(str(run / run_store.RUN_FILE), f"{bucket}/plain/{run_store.RUN_FILE}")
    (listed,), broken = run_store.list_runs(remote_store.mirror(bucket))
    assert listed.run_id == "plain" and not broken


def test_a_second_mirror_downloads_only_what_changed(s3_server, bucket, tiny_store):
    remote_store.publish(tiny_store / "plain", bucket)
    remote_store.publish(tiny_store / "fast", bucket)
    mirrored = remote_store.mirror(bucket)
    before = file_identities(mirrored)

    assert file_identities(remote_store.mirror(bucket)) == before

    s3_server.pipe(f"{bucket}/fast/{run_store.METRICS_FILE}", b'{"accuracy": 0.5}')
    after = file_identities(remote_store.mirror(bucket))
    changed = {name for name in before if after[name] != before[name]}
    # The changed file, and run.json: the run is committed again, which tells the dashboard to read it again.
    assert changed == {f"fast/{run_store.METRICS_FILE}", f"fast/{run_store.RUN_FILE}"}
    assert (mirrored / "fast" / run_store.METRICS_FILE).read_text() == '{"accuracy": 0.5}'


def test_a_run_deleted_from_the_bucket_leaves_the_mirror_but_an_unpublished_one_stays(s3_server, bucket, tiny_store):
    remote_store.publish(tiny_store / "plain", bucket)
    remote_store.publish(tiny_store / "fast", bucket)
    mirrored = remote_store.mirror(bucket)
    shutil.copytree(tiny_store / "plain", mirrored / "trained-here")  # committed here, not yet published

    s3_server.rm(f"{bucket}/plain", recursive=True)
    runs, broken = run_store.list_runs(remote_store.mirror(bucket))
    assert sorted(run.run_id for run in runs) == ["fast", "trained-here"] and not broken


def test_no_key_in_the_bucket_leads_out_of_the_mirror(s3_server, bucket, tiny_store):
    remote_store.publish(tiny_store / "plain", bucket)
    s3_server.pipe(f"{bucket}/plain/../../escaped.txt", b"written outside the mirror")

    mirrored = remote_store.mirror(bucket)
    assert not list(mirrored.parent.rglob("escaped.txt"))
    (run,), _ = run_store.list_runs(mirrored)
    assert_same_files(run.path, tiny_store / "plain")


def test_training_into_a_bucket_publishes_the_run_for_every_reader(s3_server, bucket, image_folder, tmp_path,
                                                                   monkeypatch, capsys):
    command = ["cnn_fast", "--name", "remote", "--epochs", "1", "--batch-size", "8", "--image-size", "16",
               "--dataset", f"folder:{image_folder}", "--artifacts", bucket, "--cache-dir", str(tmp_path / "data"),
               "--verbose", "0", "--author", "tester"]
    assert train(command) == 0
    assert f"Run written to {bucket}/remote" in capsys.readouterr().out
    trained = remote_store.mirror_path(bucket) / "remote"
    assert s3_server.exists(f"{bucket}/remote/{run_store.RUN_FILE}")
    assert s3_server.find(f"{bucket}/remote/{run_store.TENSORBOARD_DIR}")
    # The trainer's machine holds the run and its test images already: its mirror downloads none of them.
    before = file_identities(trained.parent)
    assert file_identities(remote_store.mirror(bucket)) == before

    monkeypatch.setenv("CNN_COMPARE_CACHE", str(tmp_path / "another-machine"))
    (run,), _ = run_store.list_runs(remote_store.mirror(bucket))
    assert_same_files(run.path, trained)
    assert run_store.load_test_images(run.store, run.test_key).images.shape[0] == 12
    # The name is taken in the bucket, even where no mirror holds the run.
    monkeypatch.setenv("CNN_COMPARE_CACHE", str(tmp_path / "a-third-machine"))
    assert train(command) == 2
    assert f"A run named 'remote' already exists in '{bucket}'" in capsys.readouterr().err


def test_a_run_committed_in_the_mirror_is_published_by_the_command_the_trainer_gives(s3_server, bucket, tiny_store,
                                                                                     capsys):
    mirrored = remote_store.local_store(bucket)  # as the trainer does
    run = shutil.copytree(tiny_store / "plain", mirrored / "plain")  # committed, then the upload failed

    assert remote_store.main([str(run)]) == 0
    assert f"Run published to {bucket}/plain" in capsys.readouterr().out
    before = file_identities(mirrored)
    assert file_identities(remote_store.mirror(bucket)) == before  # the mirror knows the run is the bucket's
    assert remote_store.main([str(run)]) == 1
    assert f"'{bucket}' already holds a run named 'plain'" in capsys.readouterr().err


def test_the_dashboard_lists_the_runs_of_a_bucket(open_app, s3_server, bucket, tiny_store):
    remote_store.publish(tiny_store / "plain", bucket)
    remote_store.publish(tiny_store / "fast", bucket)
    app = open_app(bucket)
    assert sorted(app.dataframe[0].value["run"]) == ["fast", "plain"]
    assert f"`{bucket}`, mirrored at `{remote_store.mirror_path(bucket)}`" in app.sidebar.caption[-1].value


def test_the_dashboard_on_a_missing_bucket_says_so_in_one_line(open_app, s3_server, bucket):
    app = open_app("s3://no-such-bucket/team")
    (error,) = app.error
    assert "s3://no-such-bucket/team" in error.value and "bucket does not exist" in error.value
    assert "\n" not in error.value


@pytest.mark.parametrize("store, message", [
    ("ftp://host/runs", "'ftp://host/runs' is not a run store: give a folder, or a URL of s3://bucket/prefix or "
                        "gs://bucket/prefix"),
    ("s3://", "'s3://' names no bucket"),
    ("s3://no-such-bucket/team", "cannot use the run store 's3://no-such-bucket/team': The specified bucket does "
                                 "not exist"),
    ("gs://bucket/team", "a gs:// run store needs gcsfs: pip install gcsfs"),
])
def test_a_store_that_cannot_be_used_is_one_line_from_the_trainer(s3_server, bucket, monkeypatch, capsys, store,
                                                                  message):
    monkeypatch.setitem(sys.modules, "gcsfs", None)  # not installed, whether or not it is here
    assert train(["cnn_fast", "--artifacts", store, "--dataset", "folder:missing"]) == 2  # no data set is read
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"error: {message}")
    with pytest.raises(StoreError, match=re.escape(message)):
        remote_store.mirror(store)
    assert not remote_store.mirror_path(store).exists()
