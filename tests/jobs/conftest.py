"""Job-store test fixtures: a SQLite file in tmp_path, or a fresh schema in the local
PostgreSQL's `test` database (dropped afterwards), and an engine on either (not yet migrated)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from kino.jobs.database import connect

POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'kino.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh schema in the local PostgreSQL's `test` database, dropped afterwards."""
    import psycopg

    schema = f"kino_jobs_test_{os.getpid()}_{time.monotonic_ns()}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    # synchronous_commit off: a test's commits need not wait for the disk (it is thrown away).
    yield f"{POSTGRES_ADMIN_URL}?options=-csearch_path%3D{schema}%20-csynchronous_commit%3Doff"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as connection:
        connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on `database_url` with an empty schema; disposed before the schema is dropped."""
    engine = connect(database_url)
    yield engine
    engine.dispose()
