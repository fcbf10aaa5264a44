"""Resumable training state: modules, optimiser, step and random generators in one file."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from diffusers.training_utils import EMAModel

from kino.errors import CheckpointError


def save_state(
    path: Path,
    step: int,
    modules: dict[str, torch.nn.Module],
    optimizer: torch.optim.Optimizer,
    generator: torch.Generator,
    rng: np.random.Generator,
    ema: EMAModel | None = None,
) -> None:
    state = {
        "step": step,
        "modules": {name: module.state_dict() for name, module in modules.items()},
        "optimizer": optimizer.state_dict(),
        "generator": generator.get_state(),
        "rng": rng.bit_generator.state,
        "ema": None if ema is None else ema.state_dict(),
    }
    # Written aside and renamed, so an interrupted save never leaves a broken checkpoint.
    partial = path.with_suffix(".partial")
    torch.save(state, partial)
    os.replace(partial, path)


def load_state(
    path: Path,
    modules: dict[str, torch.nn.Module],
    optimizer: torch.optim.Optimizer,
    generator: torch.Generator,
    rng: np.random.Generator,
) -> tuple[int, dict | None]:
    """Restore everything saved at `path`; returns the step to continue from and the moving
    average's state (None if the stage was saved without one)."""
    state = torch.load(path, weights_only=False)
    for name, module in modules.items():
        try:
            module.load_state_dict(state["modules"][name])
        except RuntimeError as error:
            # A model of another size (e.g. another --dit_heads) in the same run folder.
            raise CheckpointError(
                f"{path} holds a {name} of another size than this run builds; resume with the "
                "flags that started it, or pass a new --out"
            ) from error
    optimizer.load_state_dict(state["optimizer"])
    generator.set_state(state["generator"])
    rng.bit_generator.state = state["rng"]
    return int(state["step"]), state.get("ema")
