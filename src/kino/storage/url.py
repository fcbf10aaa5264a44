"""Choose and build a storage backend from a URL such as KINO_STORAGE_URL."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from kino.storage.errors import StorageError
from kino.storage.interface import Storage
from kino.storage.local import LocalStorage
from kino.storage.s3 import S3Storage, s3_client


def open_storage(
    url: str,
    *,
    endpoint_url: str | None = None,
    region: str | None = None,
    access_key_id: str | None = None,
    secret_access_key: str | None = None,
    public_endpoint_url: str | None = None,
) -> Storage:
    """A folder path or ``file:///abs/path`` gives LocalStorage; ``s3://bucket[/prefix]`` gives
    S3Storage. The keyword options apply to S3 only; nothing is contacted here."""
    scheme, separator, rest = url.partition("://")
    if not separator:
        if not url:
            raise StorageError("storage URL is empty")
        return LocalStorage(Path(url))
    if scheme == "file":
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost") or not parts.path:
            raise StorageError(f"storage URL {url!r} is not file:///absolute/path")
        return LocalStorage(Path(unquote(parts.path)))
    if scheme == "s3":
        bucket, _, prefix = rest.partition("/")
        if not bucket:
            raise StorageError(f"storage URL {url!r} names no bucket")
        credentials = {
            "region": region,
            "access_key_id": access_key_id,
            "secret_access_key": secret_access_key,
        }
        client = s3_client(endpoint_url=endpoint_url, **credentials)
        presign_client = (
            s3_client(endpoint_url=public_endpoint_url, **credentials)
            if public_endpoint_url
            else None
        )
        return S3Storage(bucket, prefix, client, presign_client=presign_client)
    raise StorageError(f"storage URL {url!r} is not a folder, file:///path or s3://bucket[/prefix]")
