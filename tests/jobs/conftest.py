"""Job-store test fixtures: an engine, not yet migrated, on either database of `database_url`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from kino.jobs.database import connect


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on `database_url` with an empty schema; disposed before the schema is dropped."""
    engine = connect(database_url)
    yield engine
    engine.dispose()
