"""open_storage: which backend a storage URL gives."""

from __future__ import annotations

from pathlib import Path

import pytest

from kino.storage import LocalStorage, S3Storage, StorageError, open_storage


def test_folder_path(tmp_path: Path) -> None:
    storage = open_storage(str(tmp_path / "store"))
    assert isinstance(storage, LocalStorage)
    assert storage.root == tmp_path / "store"


def test_relative_folder_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    storage = open_storage("data/storage")
    assert isinstance(storage, LocalStorage)
    assert storage.root == tmp_path.resolve() / "data" / "storage"


def test_file_url(tmp_path: Path) -> None:
    storage = open_storage(f"file://{tmp_path}/my%20store")
    assert isinstance(storage, LocalStorage)
    assert storage.root == tmp_path / "my store"


@pytest.mark.parametrize(
    ("url", "prefix"),
    [
        ("s3://bucket", ""),
        ("s3://bucket/", ""),
        ("s3://bucket/kino", "kino/"),
        ("s3://bucket/deploy/kino/", "deploy/kino/"),
    ],
)
def test_s3_url(url: str, prefix: str) -> None:
    storage = open_storage(url, endpoint_url="http://127.0.0.1:9", region="us-east-1")
    assert isinstance(storage, S3Storage)
    assert storage.bucket == "bucket"
    assert storage.prefix == prefix


@pytest.mark.parametrize(
    "url", ["", "s3://", "s3:///prefix", "s3://bucket/../x", "gs://bucket", "file://host/x"]
)
def test_bad_urls(url: str) -> None:
    with pytest.raises(StorageError):
        open_storage(url)
