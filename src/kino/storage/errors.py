"""Storage error types."""

from __future__ import annotations

from kino.errors import KinoError


class StorageError(KinoError):
    """An object store that cannot be used as asked: bad key, bad URL, unreachable service."""

    code = "storage_error"


class ObjectNotFound(StorageError):
    """No object is stored under the key."""

    code = "not_found"
