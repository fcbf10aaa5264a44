"""LocalStorage on a real temp folder."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from kino.storage import LocalStorage, ObjectNotFound, StorageError, StoredObject

VIDEO = bytes(range(256)) * 5000  # > 1 MiB, so copies run over several chunks


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "store")


def all_files(root: Path) -> list[str]:
    return sorted(path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file())


def test_creates_root(tmp_path: Path) -> None:
    LocalStorage(tmp_path / "a" / "b")
    assert (tmp_path / "a" / "b").is_dir()


def test_put_file_round_trip(storage: LocalStorage, tmp_path: Path) -> None:
    source = tmp_path / "video.mp4"
    source.write_bytes(VIDEO)

    stored = storage.put_file("videos/job_abc/video.mp4", source, "video/mp4")

    assert stored == StoredObject(
        key="videos/job_abc/video.mp4", bytes=len(VIDEO), sha256=hashlib.sha256(VIDEO).hexdigest()
    )
    assert (storage.root / "videos" / "job_abc" / "video.mp4").read_bytes() == VIDEO
    assert storage.get_bytes("videos/job_abc/video.mp4") == VIDEO
    with storage.open("videos/job_abc/video.mp4") as stream:
        assert stream.read() == VIDEO
    target = tmp_path / "fetched" / "deeper" / "copy.mp4"
    storage.download("videos/job_abc/video.mp4", target)
    assert target.read_bytes() == VIDEO
    assert storage.exists("videos/job_abc/video.mp4")
    assert all_files(storage.root) == ["videos/job_abc/video.mp4"]  # no temp files left behind


def test_put_bytes_round_trip(storage: LocalStorage) -> None:
    stored = storage.put_bytes("inputs/job_abc/image.png", b"\x89PNG", "image/png")

    assert stored.bytes == 4
    assert stored.sha256 == hashlib.sha256(b"\x89PNG").hexdigest()
    assert storage.get_bytes("inputs/job_abc/image.png") == b"\x89PNG"
    empty = storage.put_bytes("inputs/job_abc/empty", b"", "application/octet-stream")
    assert empty.bytes == 0
    assert storage.get_bytes("inputs/job_abc/empty") == b""


def test_overwrite_replaces_content(storage: LocalStorage) -> None:
    storage.put_bytes("videos/job/v.mp4", b"old content", "video/mp4")
    storage.put_bytes("videos/job/v.mp4", b"new", "video/mp4")

    assert storage.get_bytes("videos/job/v.mp4") == b"new"
    assert all_files(storage.root) == ["videos/job/v.mp4"]
    assert (storage.root / "videos/job/v.mp4").stat().st_mode & 0o777 == 0o644


def test_missing_key(storage: LocalStorage, tmp_path: Path) -> None:
    storage.put_bytes("videos/job/v.mp4", b"x", "video/mp4")

    for key in ["videos/job/other.mp4", "videos/job", "videos/job/v.mp4/below"]:
        assert not storage.exists(key)
        with pytest.raises(ObjectNotFound):
            storage.get_bytes(key)
        with pytest.raises(ObjectNotFound):
            storage.open(key)
        with pytest.raises(ObjectNotFound):
            storage.download(key, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_presigned_url_is_none(storage: LocalStorage) -> None:
    storage.put_bytes("videos/job/v.mp4", b"x", "video/mp4")
    assert storage.presigned_url("videos/job/v.mp4", 3600) is None


def test_delete_prefix(storage: LocalStorage) -> None:
    keys = [
        "videos/job_a/video.mp4",
        "videos/job_a/frames/frame_00000.png",
        "videos/job_ab/video.mp4",
        "videos/job_b/video.mp4",
        "inputs/job_a/image.png",
    ]
    for key in keys:
        storage.put_bytes(key, key.encode(), "application/octet-stream")

    assert storage.delete_prefix("videos/job_a/") == 2
    assert all_files(storage.root) == sorted(keys[2:])
    assert not (storage.root / "videos" / "job_a").exists()  # emptied folders go too

    assert storage.delete_prefix("videos/job_") == 2  # plain string prefix, as on S3
    assert all_files(storage.root) == ["inputs/job_a/image.png"]
    assert not (storage.root / "videos").exists()
    assert storage.root.is_dir()

    assert storage.delete_prefix("videos/job_a/") == 0
    assert storage.delete_prefix("nothing") == 0


@pytest.mark.parametrize(
    "key", ["", "../x", "/abs", "a/../../x", "a\\b", "a//b", ".hidden", "a/./b", "a\0b"]
)
def test_rejects_bad_keys(storage: LocalStorage, key: str, tmp_path: Path) -> None:
    with pytest.raises(StorageError):
        storage.put_bytes(key, b"x", "text/plain")
    with pytest.raises(StorageError):
        storage.get_bytes(key)
    with pytest.raises(StorageError):
        storage.exists(key)
    with pytest.raises(StorageError):
        storage.delete_prefix(key)
    assert all_files(tmp_path) == []


def test_rejects_empty_prefix(storage: LocalStorage) -> None:
    storage.put_bytes("videos/job/v.mp4", b"x", "video/mp4")
    with pytest.raises(StorageError):
        storage.delete_prefix("")
    assert storage.exists("videos/job/v.mp4")


def test_symlink_out_of_root_is_refused(storage: LocalStorage, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, storage.root / "escape")

    (outside / "precious").write_bytes(b"keep")

    with pytest.raises(StorageError):
        storage.put_bytes("escape/x", b"x", "text/plain")
    with pytest.raises(StorageError):
        storage.delete_prefix("escape/")
    assert [path.name for path in outside.iterdir()] == ["precious"]


def test_key_clashing_with_folder(storage: LocalStorage) -> None:
    storage.put_bytes("videos/job/v.mp4", b"x", "video/mp4")
    with pytest.raises(StorageError):
        storage.put_bytes("videos/job", b"x", "video/mp4")
    with pytest.raises(StorageError):
        storage.put_bytes("videos/job/v.mp4/inner", b"x", "video/mp4")
    assert storage.get_bytes("videos/job/v.mp4") == b"x"
