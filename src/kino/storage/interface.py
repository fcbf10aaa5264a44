"""What every storage backend offers: the Storage protocol and the StoredObject it returns."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol


@dataclass(frozen=True)
class StoredObject:
    key: str
    bytes: int
    sha256: str  # hex digest of the content


class Storage(Protocol):
    """An object store addressed by keys such as ``videos/job_abc/video.mp4``."""

    def put_file(self, key: str, path: Path, content_type: str) -> StoredObject: ...

    def put_bytes(self, key: str, data: bytes, content_type: str) -> StoredObject: ...

    def get_bytes(self, key: str) -> bytes:
        """Raises ObjectNotFound."""

    def download(self, key: str, path: Path) -> None:
        """Raises ObjectNotFound."""

    def open(self, key: str) -> BinaryIO:
        """A readable stream to send as a response; the caller closes it. Raises
        ObjectNotFound."""

    def presigned_url(self, key: str, expires_in: int) -> str | None:
        """A URL clients can GET for expires_in seconds, or None when the backend has none
        (the API then streams the bytes). Does not check that the object exists."""

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object whose key starts with prefix; return how many."""

    def exists(self, key: str) -> bool: ...
