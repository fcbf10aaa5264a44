"""S3Storage against moto's S3 server over real HTTP."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import httpx
import pytest
from botocore.client import BaseClient

from kino.storage import ObjectNotFound, S3Storage, StorageError, StoredObject, open_storage
from kino.storage import s3 as s3_module

VIDEO = bytes(range(256)) * 5000


def open_s3(url: str, endpoint: str, **options: str) -> S3Storage:
    storage = open_storage(url, endpoint_url=endpoint, region="eu-west-1", **options)
    assert isinstance(storage, S3Storage)
    return storage


@pytest.fixture
def bucket() -> str:
    return f"kino-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def storage(s3_endpoint: str, bucket: str) -> S3Storage:
    storage = open_s3(f"s3://{bucket}/deploy/kino", s3_endpoint)
    storage.ensure_bucket()
    return storage


@pytest.fixture
def raw_client(s3_endpoint: str) -> BaseClient:
    return boto3.client("s3", endpoint_url=s3_endpoint, region_name="eu-west-1")


def bucket_keys(client: BaseClient, bucket: str) -> list[str]:
    return sorted(item["Key"] for item in client.list_objects_v2(Bucket=bucket).get("Contents", []))


def test_put_file_round_trip(storage: S3Storage, tmp_path: Path, raw_client: BaseClient) -> None:
    source = tmp_path / "video.mp4"
    source.write_bytes(VIDEO)

    stored = storage.put_file("videos/job_abc/video.mp4", source, "video/mp4")

    assert stored == StoredObject(
        key="videos/job_abc/video.mp4", bytes=len(VIDEO), sha256=hashlib.sha256(VIDEO).hexdigest()
    )
    assert storage.get_bytes("videos/job_abc/video.mp4") == VIDEO
    with storage.open("videos/job_abc/video.mp4") as stream:
        assert stream.read() == VIDEO
    target = tmp_path / "fetched" / "copy.mp4"
    storage.download("videos/job_abc/video.mp4", target)
    assert target.read_bytes() == VIDEO
    assert storage.exists("videos/job_abc/video.mp4")
    head = raw_client.head_object(Bucket=storage.bucket, Key="deploy/kino/videos/job_abc/video.mp4")
    assert head["ContentType"] == "video/mp4"


def test_put_bytes_round_trip(storage: S3Storage) -> None:
    stored = storage.put_bytes("inputs/job_abc/image.png", b"\x89PNG", "image/png")

    assert stored == StoredObject(
        key="inputs/job_abc/image.png", bytes=4, sha256=hashlib.sha256(b"\x89PNG").hexdigest()
    )
    assert storage.get_bytes("inputs/job_abc/image.png") == b"\x89PNG"


def test_prefix_is_part_of_the_real_key(
    storage: S3Storage, s3_endpoint: str, raw_client: BaseClient
) -> None:
    storage.put_bytes("videos/job/v.mp4", b"x", "video/mp4")
    assert bucket_keys(raw_client, storage.bucket) == ["deploy/kino/videos/job/v.mp4"]

    unprefixed = open_s3(f"s3://{storage.bucket}", s3_endpoint)
    unprefixed.put_bytes("videos/job/v.mp4", b"y", "video/mp4")
    assert bucket_keys(raw_client, storage.bucket) == [
        "deploy/kino/videos/job/v.mp4",
        "videos/job/v.mp4",
    ]
    assert storage.get_bytes("videos/job/v.mp4") == b"x"


def test_presigned_url_serves_the_bytes(storage: S3Storage) -> None:
    storage.put_bytes("videos/job/v.mp4", VIDEO, "video/mp4")

    url = storage.presigned_url("videos/job/v.mp4", 60)

    assert url is not None
    assert "X-Amz-Signature=" in url
    response = httpx.get(url)
    assert response.status_code == 200
    assert response.content == VIDEO
    assert response.headers["content-type"] == "video/mp4"


def test_public_endpoint_signs_for_the_public_host(
    s3_endpoint: str, bucket: str, raw_client: BaseClient
) -> None:
    port = urlsplit(s3_endpoint).port
    public = f"http://localhost:{port}"
    storage = open_s3(f"s3://{bucket}/deploy", s3_endpoint, public_endpoint_url=public)
    storage.ensure_bucket()
    storage.put_bytes("videos/job/v.mp4", b"public bytes", "video/mp4")

    url = storage.presigned_url("videos/job/v.mp4", 60)

    assert url is not None
    assert url.startswith(f"{public}/{bucket}/deploy/videos/job/v.mp4?")
    assert httpx.get(url).content == b"public bytes"
    assert storage.get_bytes("videos/job/v.mp4") == b"public bytes"  # data calls stay internal


def test_missing_key(storage: S3Storage, tmp_path: Path) -> None:
    storage.put_bytes("videos/job/v.mp4", b"x", "video/mp4")

    assert not storage.exists("videos/job/other.mp4")
    with pytest.raises(ObjectNotFound):
        storage.get_bytes("videos/job/other.mp4")
    with pytest.raises(ObjectNotFound):
        storage.open("videos/job/other.mp4")
    with pytest.raises(ObjectNotFound):
        storage.download("videos/job/other.mp4", tmp_path / "out.mp4")
    assert list(tmp_path.iterdir()) == []


def test_delete_prefix(storage: S3Storage, raw_client: BaseClient) -> None:
    keys = [
        "videos/job_a/video.mp4",
        "videos/job_a/frames/frame_00000.png",
        "videos/job_ab/video.mp4",
        "inputs/job_a/image.png",
    ]
    for key in keys:
        storage.put_bytes(key, key.encode(), "application/octet-stream")
    raw_client.put_object(Bucket=storage.bucket, Key="videos/job_a/outside-prefix", Body=b"x")

    assert storage.delete_prefix("videos/job_a/") == 2
    assert bucket_keys(raw_client, storage.bucket) == [
        "deploy/kino/inputs/job_a/image.png",
        "deploy/kino/videos/job_ab/video.mp4",
        "videos/job_a/outside-prefix",
    ]
    assert storage.delete_prefix("videos/job_a/") == 0
    with pytest.raises(StorageError):
        storage.delete_prefix("")


def test_delete_prefix_pages(
    storage: S3Storage, raw_client: BaseClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(s3_module, "DELETE_BATCH", 2)  # 7 objects → 4 list pages, 4 deletes
    for index in range(7):
        storage.put_bytes(f"videos/job/frame_{index}.png", b"x", "image/png")
    storage.put_bytes("videos/other/frame.png", b"x", "image/png")
    batches: list[int] = []
    storage.client.meta.events.register(
        "before-parameter-build.s3.DeleteObjects",
        lambda params, **_: batches.append(len(params["Delete"]["Objects"])),
    )

    assert storage.delete_prefix("videos/job/") == 7
    assert batches == [2, 2, 2, 1]
    assert bucket_keys(raw_client, storage.bucket) == ["deploy/kino/videos/other/frame.png"]


def test_rejects_bad_keys(storage: S3Storage) -> None:
    for key in ["", "../x", "/abs", "a/../b", "a\\b"]:
        with pytest.raises(StorageError):
            storage.put_bytes(key, b"x", "text/plain")
        with pytest.raises(StorageError):
            storage.presigned_url(key, 60)


def test_bucket_is_not_created_implicitly(s3_endpoint: str, bucket: str) -> None:
    storage = open_s3(f"s3://{bucket}", s3_endpoint)
    with pytest.raises(StorageError) as error:
        storage.put_bytes("videos/job/v.mp4", b"x", "video/mp4")
    assert not isinstance(error.value, ObjectNotFound)

    storage.ensure_bucket()
    storage.ensure_bucket()  # a second call finds it
    storage.put_bytes("videos/job/v.mp4", b"x", "video/mp4")
    assert storage.exists("videos/job/v.mp4")


def test_explicit_credentials(s3_endpoint: str, bucket: str) -> None:
    storage = open_s3(
        f"s3://{bucket}",
        s3_endpoint,
        access_key_id="explicit-key",
        secret_access_key="explicit-secret",
    )
    storage.ensure_bucket()
    storage.put_bytes("k", b"x", "text/plain")

    url = storage.presigned_url("k", 60)
    assert url is not None
    assert "explicit-key" in url
