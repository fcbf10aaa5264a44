"""Service test fixtures: settings on the demo-architecture model, and SQLite or PostgreSQL
(a fresh schema per test)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from harness import DEMO_TASKS, free_port

from kino.settings import ModelEntry, Settings


@pytest.fixture
def settings_for(tmp_path: Path, demo_model: Path) -> Callable[..., Settings]:
    """settings_for(database_url, **overrides) → Settings on the demo-architecture model."""

    def make(database_url: str, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "data_dir": tmp_path / "data",
            "database_url": database_url,
            "models": {"kino-demo": ModelEntry(path=demo_model, tasks=DEMO_TASKS)},
            "port": free_port(),
            "device": "cpu",
            "lease_seconds": 3.0,
            "retry_backoff_seconds": 0.1,
            "poll_seconds": 0.1,
            "webhook_backoff_seconds": 0.05,
        }
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'kino.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh schema in the local PostgreSQL's `test` database, dropped afterwards."""
    import psycopg

    schema = f"kino_test_{os.getpid()}_{time.monotonic_ns()}"
    admin = "postgresql://postgres@127.0.0.1:5432/test"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    yield f"postgresql://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue(f"{request.param}_url")
