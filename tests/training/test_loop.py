"""The shared optimisation loop: the moving average of the weights a stage ends on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from kino.errors import CheckpointError
from kino.training.loop import run_stage

TARGET = 3.0


class Crash(Exception):
    pass


def _stage(
    stage_dir: Path,
    steps: int,
    trajectory: list[float],
    ema_decay: float,
    crash_at: int | None = None,
) -> float:
    """Fit one weight to TARGET; `trajectory` collects the weight each step starts from."""
    torch.manual_seed(0)
    module = torch.nn.Linear(1, 1, bias=False)

    def step_loss(step: int) -> dict[str, torch.Tensor]:
        if step == crash_at:
            raise Crash
        trajectory.append(module.weight.item())
        return {"loss": (module.weight - TARGET).pow(2).sum()}

    run_stage(
        "fit", stage_dir, {"fit": module}, step_loss, steps, lr=0.05, warmup=1,
        generator=torch.Generator().manual_seed(0), rng=np.random.default_rng(0),
        checkpoint_every=5, bf16=False, device=torch.device("cpu"),
        ema_decay=ema_decay, ema_modules=("fit",) if ema_decay else (),
    )  # fmt: skip
    return module.weight.item()


def _saved_weight(stage_dir: Path) -> float:
    return float(torch.load(stage_dir / "state.pt", weights_only=False)["modules"]["fit"]["weight"])


def test_a_stage_with_ema_ends_on_the_moving_average_of_its_weights(tmp_path: Path) -> None:
    trajectory: list[float] = []
    final = _stage(tmp_path, 30, trajectory, ema_decay=0.9)
    # The weight after each of the 30 updates: what the next step saw, then the saved last one.
    updated = [*trajectory[1:], _saved_weight(tmp_path)]
    average = trajectory[0]
    for step, weight in enumerate(updated):
        decay = 0.0 if step == 0 else min(0.9, (1 + step) / (10 + step))
        average = decay * average + (1 - decay) * weight
    assert abs(final - average) < 1e-6
    # The average lags the raw weight, which has moved towards TARGET.
    assert abs(updated[-1] - TARGET) < abs(final - TARGET)


def test_without_ema_a_stage_ends_on_its_last_weights(tmp_path: Path) -> None:
    final = _stage(tmp_path, 30, [], ema_decay=0.0)
    assert final == _saved_weight(tmp_path)


def test_a_resumed_stage_ends_on_the_same_average_as_an_uninterrupted_one(
    tmp_path: Path,
) -> None:
    whole = _stage(tmp_path / "whole", 30, [], ema_decay=0.9)
    # Killed at step 12, two steps after its step-10 checkpoint, then rerun.
    with pytest.raises(Crash):
        _stage(tmp_path / "split", 30, [], ema_decay=0.9, crash_at=12)
    resumed = _stage(tmp_path / "split", 30, [], ema_decay=0.9)
    assert resumed == whole
    # Resuming without the saved average would restart it from the step-10 weights.
    fresh = tmp_path / "fresh"
    with pytest.raises(Crash):
        _stage(fresh, 30, [], ema_decay=0.9, crash_at=12)
    state = torch.load(fresh / "state.pt", weights_only=False)
    state["ema"] = None
    torch.save(state, fresh / "state.pt")
    assert abs(_stage(fresh, 30, [], ema_decay=0.9) - whole) > 1e-4


def test_resuming_into_a_model_of_another_size_is_a_clear_error(tmp_path: Path) -> None:
    _stage(tmp_path, 5, [], ema_decay=0.0)
    wider = torch.nn.Linear(2, 1, bias=False)
    with pytest.raises(CheckpointError, match=r"holds a fit of another size .* new --out"):
        run_stage(
            "fit", tmp_path, {"fit": wider}, lambda step: {"loss": wider.weight.sum()}, 10,
            lr=0.05, warmup=1, generator=torch.Generator(), rng=np.random.default_rng(0),
            checkpoint_every=5, bf16=False, device=torch.device("cpu"),
        )  # fmt: skip
