"""Object keys: relative, slash-separated names such as ``videos/job_abc/video.mp4``."""

from __future__ import annotations

from kino.storage.errors import StorageError


def check_key(key: str) -> str:
    """Return the key unchanged, or raise StorageError if it could name something outside the
    store: empty, absolute, a backslash, an empty, ``.`` or ``..`` segment.

    Segments starting with ``.`` are refused as a whole: the local backend keeps its partial
    writes under such names, so no key may collide with one.
    """
    if not key:
        raise StorageError("storage key is empty")
    if key.startswith("/"):
        raise StorageError(f"storage key {key!r} is absolute; keys are relative")
    if "\\" in key or "\0" in key:
        raise StorageError(f"storage key {key!r} contains a backslash or NUL character")
    for segment in key.split("/"):
        if not segment:
            raise StorageError(f"storage key {key!r} has an empty segment")
        if segment.startswith("."):
            raise StorageError(f"storage key {key!r} has a segment starting with '.'")
    return key


def check_prefix(prefix: str) -> str:
    """A key prefix as delete_prefix takes it: a key, optionally ending with ``/``. The empty
    prefix is refused so that a bug cannot wipe the whole store."""
    if not prefix:
        raise StorageError("storage prefix is empty; refusing to match every object")
    check_key(prefix.removesuffix("/"))
    return prefix
