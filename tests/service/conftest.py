"""Service test fixtures: settings on the demo-architecture model, for either database."""

from __future__ import annotations

from collections.abc import Callable
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
