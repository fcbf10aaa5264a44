"""The official Wan sampling schedules on diffusers' flow-matching multistep schedulers.

The official code samples with its own copies of UniPC and DPM-Solver++ (`wan/utils/fm_solvers*`);
their update rules match diffusers', their schedules do not:

- unipc: the shifted linspace starts from the training schedule's largest sigma, 1 - 1/1000
  (stored as float32), so the first sigma is 0.9998 at shift 5, not 1.0;
- dpm++: `get_sampling_sigmas` starts at exactly 1.0 and ends at shift(1/steps);
- both: timesteps are `sigmas * 1000` truncated to int64, and the final sigma is 0.

`build_scheduler` sets these schedules on the diffusers schedulers. Calling `set_timesteps` on
the result again replaces them with diffusers' own.
"""

import numpy as np
import torch
from diffusers import DPMSolverMultistepScheduler, UniPCMultistepScheduler
from diffusers.schedulers.scheduling_utils import SchedulerMixin

from kino.spec import SOLVERS

NUM_TRAIN_TIMESTEPS = 1000


def official_sigmas(solver: str, steps: int, shift: float) -> np.ndarray:
    """The official float64 sampling sigmas, one per step, before the final 0 is appended."""
    if solver == "unipc":
        # FlowUniPCMultistepScheduler.sigma_max: the first training sigma, read back from float32.
        sigma_max = float(np.float32(1.0 - 1.0 / NUM_TRAIN_TIMESTEPS))
        sigmas = np.linspace(sigma_max, 0.0, steps + 1)[:-1]
    elif solver == "dpm++":
        sigmas = np.linspace(1.0, 0.0, steps + 1)[:steps]
    else:
        raise ValueError(f"unknown solver {solver!r}; expected one of {', '.join(SOLVERS)}")
    return shift * sigmas / (1 + (shift - 1) * sigmas)


def build_scheduler(
    solver: str, steps: int, shift: float, device: torch.device | str = "cpu"
) -> SchedulerMixin:
    """A diffusers scheduler whose sigmas, timesteps and steps are the official ones."""
    sigmas = official_sigmas(solver, steps, shift)
    flow = {
        "num_train_timesteps": NUM_TRAIN_TIMESTEPS,
        "prediction_type": "flow_prediction",
        "use_flow_sigmas": True,
        "flow_shift": shift,
    }
    if solver == "unipc":
        scheduler = UniPCMultistepScheduler(**flow, solver_order=2, solver_type="bh2")
    else:
        scheduler = DPMSolverMultistepScheduler(
            **flow, solver_order=2, algorithm_type="dpmsolver++", solver_type="midpoint"
        )
    scheduler.set_timesteps(steps, device=device)
    scheduler.sigmas = torch.from_numpy(np.append(sigmas, 0.0).astype(np.float32))
    scheduler.timesteps = torch.from_numpy(sigmas * NUM_TRAIN_TIMESTEPS).to(device, torch.int64)
    # Truncated timesteps can repeat (e.g. 999, 999 for unipc at shift 16 and 100 steps); looking
    # up the first one would then start at step 1, so start at 0 without a lookup.
    scheduler.set_begin_index(0)
    return scheduler
