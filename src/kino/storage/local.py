"""Objects as files under a local folder, the default store of a single-machine service."""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from kino.storage.digest import CHUNK_BYTES
from kino.storage.errors import ObjectNotFound, StorageError
from kino.storage.interface import StoredObject
from kino.storage.keys import check_key, check_prefix


class LocalStorage:
    """Key ``a/b/c.mp4`` is the file ``root/a/b/c.mp4``. Writes go to a hidden temp file in the
    target folder and are renamed into place, so readers never see a partial object. Content
    types are not kept: whoever serves a file derives it from the key's extension."""

    def __init__(self, root: Path) -> None:
        self.root = root.expanduser().resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def put_file(self, key: str, path: Path, content_type: str) -> StoredObject:
        with path.open("rb") as source:
            return self._write(key, source.read)

    def put_bytes(self, key: str, data: bytes, content_type: str) -> StoredObject:
        return self._write(key, io.BytesIO(data).read)

    def get_bytes(self, key: str) -> bytes:
        with self.open(key) as stream:
            return stream.read()

    def download(self, key: str, path: Path) -> None:
        with self.open(key) as source:
            write_atomically(path, source.read)

    def open(self, key: str) -> BinaryIO:
        try:
            return self._path(key).open("rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectNotFound(f"no object {key!r} in {self.root}") from None

    def presigned_url(self, key: str, expires_in: int) -> str | None:
        check_key(key)
        return None

    def delete_prefix(self, prefix: str) -> int:
        check_prefix(prefix)
        # Keys match as strings, as on S3: "videos/job_a" also matches "videos/job_ab/x". Only
        # the folder holding the prefix's last segment needs walking.
        folder = self._inside_root(self.root / prefix.rpartition("/")[0], prefix)
        matches = [
            path
            for path in _files_under(folder)
            if path.relative_to(self.root).as_posix().startswith(prefix)
        ]
        for path in matches:
            path.unlink(missing_ok=True)
            _remove_empty_parents(path.parent, self.root)
        return len(matches)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def _path(self, key: str) -> Path:
        return self._inside_root(self.root / check_key(key), key)

    def _inside_root(self, path: Path, key: str) -> Path:
        # Key checks keep ".." out; this also catches a symlinked folder inside the root.
        if not path.resolve().is_relative_to(self.root):
            raise StorageError(f"storage key {key!r} resolves outside {self.root}")
        return path

    def _write(self, key: str, read: Callable[[int], bytes]) -> StoredObject:
        try:
            digest, size = write_atomically(self._path(key), read)
        except (FileExistsError, NotADirectoryError, IsADirectoryError) as error:
            # S3 holds "a" and "a/b" side by side; a folder tree cannot.
            raise StorageError(
                f"storage key {key!r} clashes with a file or folder of another key in {self.root}"
            ) from error
        return StoredObject(key=key, bytes=size, sha256=digest)


def write_atomically(path: Path, read: Callable[[int], bytes]) -> tuple[str, int]:
    """Copy chunks from read(size) into path through a temp file renamed into place; return
    the content's SHA-256 hex digest and size."""
    digest = hashlib.sha256()
    size = 0
    handle, temp_name = _temp_file(path.parent)
    try:
        with os.fdopen(handle, "wb") as target:
            # mkstemp creates owner-only files; stored objects are ordinary readable files.
            os.fchmod(target.fileno(), 0o644)
            while chunk := read(CHUNK_BYTES):
                digest.update(chunk)
                size += len(chunk)
                target.write(chunk)
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return digest.hexdigest(), size


def _temp_file(folder: Path) -> tuple[int, str]:
    # A delete_prefix running at the same time removes folders it empties, possibly this one
    # between mkdir and mkstemp; once the temp file is in, the folder is no longer empty.
    for _ in range(3):
        folder.mkdir(parents=True, exist_ok=True)
        try:
            return tempfile.mkstemp(dir=folder, prefix=".", suffix=".part")
        except FileNotFoundError:
            continue
    raise StorageError(f"cannot create a file in {folder}: the folder keeps disappearing")


def _files_under(folder: Path) -> Iterator[Path]:
    """Object files below folder, leaving out hidden names (partial writes)."""
    if not folder.is_dir():
        return
    for parent, folders, files in os.walk(folder):
        folders[:] = [name for name in folders if not name.startswith(".")]
        for name in files:
            if not name.startswith("."):
                yield Path(parent, name)


def _remove_empty_parents(folder: Path, root: Path) -> None:
    while folder != root:
        try:
            folder.rmdir()
        except OSError:  # not empty, or already gone
            return
        folder = folder.parent
