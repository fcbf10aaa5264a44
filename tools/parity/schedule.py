"""Write sampling-schedule parity goldens by running the official Wan schedulers.

    python tools/parity/schedule.py --wan21 /tmp/Wan-Video+Wan2.1 --out tests/data/official

Runs the official FlowUniPCMultistepScheduler and FlowDPMSolverMultistepScheduler as
wan/text2video.py sets them up, on seeded fake model outputs, and writes
`schedule.safetensors` with, per `<solver>_<steps>_<shift>` case:
`.sigmas` (float32, final 0 included), `.timesteps` (int64), `.model_outputs` [steps, ...] and
`.latents` [steps + 1, ...]: the start noise, then the latents after every step.
"""

import argparse
import importlib.util
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

SEED = 20250607
SHAPE = (1, 4, 2, 4, 4)  # batch 1, as the official loop steps it
CASES = (("unipc", 50, 5.0), ("unipc", 8, 3.0), ("dpm++", 50, 5.0), ("dpm++", 8, 3.0))


def import_file(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def official_scheduler(solvers, solver: str, steps: int, shift: float):
    """The scheduler and timesteps exactly as wan/text2video.py builds them."""
    if solver == "unipc":
        scheduler = solvers.unipc.FlowUniPCMultistepScheduler(
            num_train_timesteps=1000, shift=1, use_dynamic_shifting=False
        )
        scheduler.set_timesteps(steps, device="cpu", shift=shift)
        return scheduler, scheduler.timesteps
    scheduler = solvers.dpm.FlowDPMSolverMultistepScheduler(
        num_train_timesteps=1000, shift=1, use_dynamic_shifting=False
    )
    sigmas = solvers.dpm.get_sampling_sigmas(steps, shift)
    timesteps, _ = solvers.dpm.retrieve_timesteps(scheduler, device="cpu", sigmas=sigmas)
    return scheduler, timesteps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wan21", type=Path, required=True, help="official Wan2.1 checkout")
    parser.add_argument("--out", type=Path, required=True, help="folder for the goldens")
    args = parser.parse_args()
    utils = args.wan21 / "wan" / "utils"
    solvers = argparse.Namespace(
        unipc=import_file(utils / "fm_solvers_unipc.py", "official_fm_solvers_unipc"),
        dpm=import_file(utils / "fm_solvers.py", "official_fm_solvers"),
    )
    tensors = {}
    for solver, steps, shift in CASES:
        g = torch.Generator().manual_seed(SEED)
        scheduler, timesteps = official_scheduler(solvers, solver, steps, shift)
        latents = [torch.randn(SHAPE, generator=g)]
        outputs = []
        for t in timesteps:
            outputs.append(torch.randn(SHAPE, generator=g))
            latents.append(scheduler.step(outputs[-1], t, latents[-1], return_dict=False)[0])
        name = f"{solver}_{steps}_{shift:g}"
        tensors |= {
            f"{name}.sigmas": scheduler.sigmas.clone(),
            f"{name}.timesteps": timesteps.clone(),
            f"{name}.model_outputs": torch.stack(outputs),
            f"{name}.latents": torch.stack(latents),
        }
        print(name, timesteps[:4].tolist(), f"sigma0={scheduler.sigmas[0].item():.6f}")
    args.out.mkdir(parents=True, exist_ok=True)
    save_file(tensors, args.out / "schedule.safetensors")


if __name__ == "__main__":
    main()
