"""Error types. Each carries a message fit for a user and a stable code; interfaces map them to
exit codes and HTTP statuses."""

from __future__ import annotations


class KinoError(Exception):
    """Base class for errors a user can act on."""

    code = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class InvalidSpec(KinoError):
    """A generation request that cannot run as given (bad size, frame count, missing image)."""

    code = "invalid_request"


class CheckpointError(KinoError):
    """A checkpoint folder or file that cannot be read or does not match a known layout."""

    code = "checkpoint_error"


class UnsupportedInProcess(KinoError):
    """A multi-process option used in a single process."""

    code = "unsupported"


class ConfigError(KinoError):
    """A deployment setting that cannot work (bad database URL, unknown model, bad list file)."""

    code = "config_error"


class NotFound(KinoError):
    """No such thing, or one the caller may not see."""

    code = "not_found"


class JobNotFound(NotFound):
    """No such job, or a job the caller may not see."""


class LeaseLost(KinoError):
    """A worker's claim on a job ended: it expired, the job was cancelled or deleted."""

    code = "lease_lost"
