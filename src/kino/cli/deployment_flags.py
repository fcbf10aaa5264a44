"""Flags shared by `kino serve`, `kino worker` and `kino keys`: they override KINO_* settings."""

from __future__ import annotations

import argparse
from pathlib import Path

from pydantic import ValidationError
from pydantic_settings import SettingsError

from kino.errors import ConfigError
from kino.settings import Settings

# flag → Settings field; a flag left out keeps the environment's value.
FLAGS = {
    "data_dir": "data_dir",
    "database_url": "database_url",
    "storage_url": "storage_url",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--data_dir", type=Path, help="Folder of the embedded defaults (KINO_DATA_DIR).")
    add(
        "--database_url",
        help="sqlite:///path or postgresql://user@host/db (KINO_DATABASE_URL; default: SQLite "
        "in the data folder).",
    )
    add(
        "--storage_url",
        help="A folder or s3://bucket/prefix (KINO_STORAGE_URL; default: the data folder).",
    )


def settings_from(args: argparse.Namespace, **overrides: object) -> Settings:
    values = {field: getattr(args, flag) for flag, field in FLAGS.items()}
    values.update(overrides)
    try:
        return Settings(**{key: value for key, value in values.items() if value is not None})
    except ValidationError as error:
        first = error.errors()[0]
        name = "KINO_" + "_".join(str(part) for part in first["loc"][:1]).upper()
        raise ConfigError(f"{name}: {first['msg']}; see README's configuration table") from None
    except SettingsError as error:  # a KINO_* variable that is not valid JSON
        raise ConfigError(f"{error}; see README's configuration table") from None


def environment_of(settings: Settings) -> dict[str, str]:
    """The KINO_* variables that give a child process these same settings."""
    env = {
        "KINO_DATA_DIR": str(settings.data_dir),
        "KINO_DATABASE_URL": settings.resolved_database_url,
        "KINO_STORAGE_URL": settings.resolved_storage_url,
        "KINO_HOST": settings.host,
        "KINO_PORT": str(settings.port),
    }
    if settings.public_url:
        env["KINO_PUBLIC_URL"] = settings.public_url
    return env
