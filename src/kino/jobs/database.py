"""Database engines and schema migrations (Alembic), for SQLite and PostgreSQL alike."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import NullPool

from kino.errors import ConfigError

MIGRATIONS = Path(__file__).parent / "migrations"
# Any fixed number: serialises `alembic upgrade` across processes starting together.
_MIGRATION_LOCK = 7_105_114_111


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def connect(url: str) -> Engine:
    """An engine for `url`: sqlite:///path (WAL, waits on locks) or postgresql://..."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(
            f"database URL {url!r} is not a URL; set KINO_DATABASE_URL to e.g. "
            "sqlite:///kino.db or postgresql://user@host/db"
        ) from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(parsed, pool_pre_ping=True)
    raise ConfigError(
        f"database {parsed.get_backend_name()!r} is not supported; use sqlite or postgresql"
    )


def _sqlite_migration_engine(engine: Engine) -> Engine:
    """An engine whose transactions take SQLite's write lock up front and wrap DDL too, so
    processes starting together migrate one after another, each all or nothing."""
    migrating = create_engine(engine.url, connect_args={"timeout": 30}, poolclass=NullPool)
    event.listen(migrating, "connect", _sqlite_pragmas)
    event.listen(migrating, "connect", _driver_autocommit)
    event.listen(
        migrating, "begin", lambda connection: connection.exec_driver_sql("BEGIN IMMEDIATE")
    )
    return migrating


def _driver_autocommit(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite would otherwise issue its own BEGIN (and commit before DDL).
    dbapi_connection.isolation_level = None


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision. Safe to call from many processes at once."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if engine.dialect.name == "sqlite":
        engine = _sqlite_migration_engine(engine)
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
