"""Shared fixtures: tiny checkpoints of every task in both layouts, built once per session."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class TinyCheckpoints:
    official: Path
    diffusers: Path


@pytest.fixture(scope="session")
def tiny_checkpoints(
    tmp_path_factory: pytest.TempPathFactory,
) -> Callable[[str], TinyCheckpoints]:
    """tiny_checkpoints(task) → the same random weights saved in the official and the
    diffusers layout."""
    from kino.checkpoints.tiny import build_tiny_components, save_diffusers, save_official
    from kino.tasks import get_task

    built: dict[str, TinyCheckpoints] = {}

    def build(task: str) -> TinyCheckpoints:
        if task not in built:
            preset = get_task(task)
            components = build_tiny_components(preset, seed=0)
            root = tmp_path_factory.mktemp(task)
            built[task] = TinyCheckpoints(
                official=save_official(components, preset, root / "official"),
                diffusers=save_diffusers(components, preset, root / "diffusers"),
            )
        return built[task]

    return build
