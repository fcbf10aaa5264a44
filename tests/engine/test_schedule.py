"""The official sampling schedules on diffusers schedulers, against the official solvers.

The golden file comes from tools/parity/schedule.py: per `<solver>_<steps>_<shift>` case, the
official sigmas and timesteps, seeded fake model outputs, and the latents before the first and
after every step of the official FlowUniPC / FlowDPMSolver schedulers.
"""

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from kino.engine.schedule import build_scheduler

GOLDEN = Path(__file__).parents[1] / "data" / "official" / "schedule.safetensors"
CASES = [("unipc", 50, 5.0), ("unipc", 8, 3.0), ("dpm++", 50, 5.0), ("dpm++", 8, 3.0)]


@pytest.fixture(scope="module")
def golden() -> dict[str, torch.Tensor]:
    return load_file(GOLDEN)


def case_name(solver: str, steps: int, shift: float) -> str:
    return f"{solver}_{steps}_{shift:g}"


@pytest.mark.parametrize(("solver", "steps", "shift"), CASES)
def test_sigmas_and_timesteps_are_the_official_ones(
    golden: dict[str, torch.Tensor], solver: str, steps: int, shift: float
) -> None:
    scheduler = build_scheduler(solver, steps, shift)
    name = case_name(solver, steps, shift)
    assert torch.equal(scheduler.sigmas, golden[f"{name}.sigmas"])
    assert torch.equal(scheduler.timesteps, golden[f"{name}.timesteps"])
    assert scheduler.timesteps.dtype == torch.int64


def test_unipc_starts_below_one_and_dpm_at_one() -> None:
    assert build_scheduler("unipc", 50, 5.0).sigmas[0].item() == pytest.approx(0.9998, abs=1e-6)
    assert build_scheduler("dpm++", 50, 5.0).sigmas[0].item() == 1.0


@pytest.mark.parametrize(("solver", "steps", "shift"), CASES)
def test_every_step_matches_the_official_solver(
    golden: dict[str, torch.Tensor], solver: str, steps: int, shift: float
) -> None:
    name = case_name(solver, steps, shift)
    outputs, expected = golden[f"{name}.model_outputs"], golden[f"{name}.latents"]
    scheduler = build_scheduler(solver, steps, shift)
    latents = expected[0]
    for index, t in enumerate(scheduler.timesteps):
        latents = scheduler.step(outputs[index], t, latents, return_dict=False)[0]
        assert (latents - expected[index + 1]).abs().max() < 1e-5


def test_repeated_first_timesteps_still_use_every_sigma_once() -> None:
    # unipc at shift 16 with 80 steps truncates its first two timesteps to 999; the official
    # scheduler looks the first one up, starts at step 1 and fails on its last step.
    scheduler = build_scheduler("unipc", 80, 16.0)
    assert scheduler.timesteps[0] == scheduler.timesteps[1]
    generator = torch.Generator().manual_seed(0)
    latents = torch.randn(1, 4, 1, 2, 2, generator=generator)
    for index, t in enumerate(scheduler.timesteps):
        output = torch.randn(latents.shape, generator=generator)
        latents = scheduler.step(output, t, latents, return_dict=False)[0]
        assert scheduler.step_index == index + 1
    assert torch.isfinite(latents).all()


def test_an_unknown_solver_is_refused() -> None:
    with pytest.raises(ValueError, match="euler"):
        build_scheduler("euler", 10, 5.0)
