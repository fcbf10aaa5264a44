"""Schema migrations on SQLite and PostgreSQL: migrate() builds the schema the ORM models
describe, stamps Alembic's head revision, is a no-op when run again, and engines from connect()
are configured for each database."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import DBAPIError

from kino.errors import ConfigError
from kino.jobs.database import MIGRATIONS, connect, migrate
from kino.jobs.store import JobStore, NewJob
from kino.jobs.tables import Base

TABLES = {"alembic_version", "api_keys", "jobs"}


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def versions(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.scalars(text("SELECT version_num FROM alembic_version")))


def schema(engine: Engine) -> dict[str, Any]:
    """Tables with their columns, indexes and unique constraints, as the database reports them."""
    inspector = inspect(engine)
    return {
        table: (
            [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)],
            sorted((i["name"], tuple(i["column_names"])) for i in inspector.get_indexes(table)),
            sorted(tuple(u["column_names"]) for u in inspector.get_unique_constraints(table)),
        )
        for table in sorted(inspector.get_table_names())
    }


def test_migrations_have_a_single_head() -> None:
    assert len(ScriptDirectory.from_config(alembic_config()).get_heads()) == 1


def test_migrate_creates_the_tables(engine: Engine) -> None:
    migrate(engine)
    assert set(inspect(engine).get_table_names()) == TABLES


def test_alembic_version_holds_the_head_revision(engine: Engine) -> None:
    migrate(engine)
    assert versions(engine) == [head_revision()]


def test_migration_matches_the_models(engine: Engine) -> None:
    migrate(engine)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_migrate_twice_leaves_the_schema_as_it_was(engine: Engine) -> None:
    migrate(engine)
    before = schema(engine)
    migrate(engine)
    assert schema(engine) == before
    assert versions(engine) == [head_revision()]


def test_migrate_twice_keeps_the_data(engine: Engine) -> None:
    migrate(engine)
    store = JobStore(engine)
    job, _ = store.submit(
        NewJob(owner="alice", model="m", task="t2v", seed=1, request={}, request_hash="h")
    )
    migrate(engine)
    assert store.get(job.id) == job


def test_downgrade_to_base_drops_the_tables(engine: Engine) -> None:
    migrate(engine)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    assert versions(engine) == []


def test_migrate_after_downgrade_rebuilds_the_schema(engine: Engine) -> None:
    migrate(engine)
    before = schema(engine)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    migrate(engine)
    assert schema(engine) == before


@pytest.mark.parametrize(
    "backend",
    [
        "sqlite",
        "postgres",
    ],
)
def test_failed_migrate_leaves_the_schema_untouched(
    backend: str, request: pytest.FixtureRequest
) -> None:
    engine = connect(request.getfixturevalue(f"{backend}_url"))
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE jobs (x INTEGER)"))  # in the migration's way
        with pytest.raises(DBAPIError):
            migrate(engine)
        assert inspect(engine).get_table_names() == ["jobs"]
    finally:
        engine.dispose()


def test_concurrent_migrate_from_processes_on_postgres(postgres_url: str) -> None:
    """Processes migrating together serialise on the advisory lock; all of them succeed."""
    script = (
        "import sys\n"
        "from kino.jobs.database import connect, migrate\n"
        "engine = connect(sys.argv[1])\n"
        "print('ready', flush=True)\n"
        "sys.stdin.readline()\n"
        "migrate(engine)\n"
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script, postgres_url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for process in processes:  # every process imported and connected: start them together
        assert process.stdout is not None and process.stdout.readline() == "ready\n"
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    errors = [process.communicate(timeout=60)[1] for process in processes]
    assert [process.returncode for process in processes] == [0, 0], errors
    engine = connect(postgres_url)
    try:
        assert versions(engine) == [head_revision()]
    finally:
        engine.dispose()


# -- connect --------------------------------------------------------------------------------


def test_connect_sqlite_uses_wal(sqlite_url: str) -> None:
    engine = connect(sqlite_url)
    try:
        with engine.connect() as connection:
            assert connection.scalar(text("PRAGMA journal_mode")) == "wal"
    finally:
        engine.dispose()


def test_connect_postgresql_uses_psycopg(postgres_url: str) -> None:
    engine = connect(postgres_url)
    try:
        assert engine.url.drivername == "postgresql+psycopg"
    finally:
        engine.dispose()


def test_connect_rejects_a_non_url() -> None:
    with pytest.raises(ConfigError):
        connect("not a url")


@pytest.mark.parametrize(
    "url",
    [
        "nosuchdb://user@host/db",
        "mysql://user@host/db",
    ],
)
def test_connect_rejects_an_unsupported_database(url: str) -> None:
    with pytest.raises(ConfigError):
        connect(url)
