"""Error types. Each carries a message fit for a user; interfaces map them to exit codes."""


class KinoError(Exception):
    """Base class for errors a user can act on."""


class InvalidSpec(KinoError):
    """A generation request that cannot run as given (bad size, frame count, missing image)."""


class CheckpointError(KinoError):
    """A checkpoint folder or file that cannot be read or does not match a known layout."""


class UnsupportedInProcess(KinoError):
    """A multi-process option used in a single process."""
