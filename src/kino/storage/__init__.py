"""Object storage for job inputs and videos: a local folder or an S3-compatible bucket."""

from __future__ import annotations

from kino.storage.errors import ObjectNotFound, StorageError
from kino.storage.interface import Storage, StoredObject
from kino.storage.local import LocalStorage
from kino.storage.s3 import S3Storage
from kino.storage.url import open_storage

__all__ = [
    "LocalStorage",
    "ObjectNotFound",
    "S3Storage",
    "Storage",
    "StorageError",
    "StoredObject",
    "open_storage",
]
