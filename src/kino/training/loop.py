"""The optimisation loop every stage shares: warmup + cosine learning rate, gradient clipping,
bf16 autocast, an optional exponential moving average of the weights, a progress bar, a loss log
and resumable checkpoints."""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch
from diffusers.training_utils import EMAModel
from tqdm import tqdm

from kino.training.state import load_state, save_state

log = logging.getLogger(__name__)

StepLoss = Callable[[int], dict[str, torch.Tensor]]


def learning_rate(step: int, steps: int, peak: float, warmup: int) -> float:
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def run_stage(
    name: str,
    stage_dir: Path,
    modules: dict[str, torch.nn.Module],
    step_loss: StepLoss,
    steps: int,
    lr: float,
    warmup: int,
    generator: torch.Generator,
    rng: np.random.Generator,
    checkpoint_every: int,
    bf16: bool,
    device: torch.device,
    ema_decay: float = 0.0,
    ema_modules: tuple[str, ...] = (),
) -> list[dict[str, float]]:
    """Train `modules` for `steps` steps, resuming from `stage_dir/state.pt` if it is there.

    `step_loss(step)` returns named losses; "loss" is the one optimised. With `ema_decay` > 0,
    the modules named in `ema_modules` end the stage holding the moving average of their
    weights (diffusers' EMAModel, decay warming up as (1 + step) / (10 + step)). Returns the log.
    """
    stage_dir.mkdir(parents=True, exist_ok=True)
    params = [p for m in modules.values() for p in m.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.99), weight_decay=0.01)
    state_path = stage_dir / "state.pt"
    log_path = stage_dir / "log.jsonl"
    start, saved_ema = 0, None
    if state_path.exists():
        start, saved_ema = load_state(state_path, modules, optimizer, generator, rng)
        log.info("%s: resuming at step %d", name, start)
    # Built after the restore: a stage saved without an average starts one from its weights.
    averaged = [p for name in ema_modules for p in modules[name].parameters()]
    ema = EMAModel(averaged, decay=ema_decay) if ema_decay > 0 else None
    if ema is not None and saved_ema is not None:
        ema.load_state_dict(saved_ema)
    for module in modules.values():
        module.train()
    autocast = torch.autocast(device.type, dtype=torch.bfloat16) if bf16 else nullcontext()
    began = time.perf_counter()
    bar = tqdm(range(start, steps), desc=name, initial=start, total=steps, mininterval=5)
    with log_path.open("a") as log_file:
        for step in bar:
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(step, steps, lr, warmup)
            with autocast:
                losses = step_loss(step)
            optimizer.zero_grad(set_to_none=True)
            losses["loss"].backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            if ema is not None:
                ema.step(averaged)
            record = {"step": step + 1, **{k: float(v.detach()) for k, v in losses.items()}}
            record["seconds"] = round(time.perf_counter() - began, 1)
            log_file.write(json.dumps(record) + "\n")
            bar.set_postfix(loss=f"{record['loss']:.4f}")
            if (step + 1) % checkpoint_every == 0 or step + 1 == steps:
                log_file.flush()
                save_state(state_path, step + 1, modules, optimizer, generator, rng, ema)
    if ema is not None:
        ema.copy_to(averaged)
    for module in modules.values():
        module.eval()
    return [json.loads(line) for line in log_path.read_text().splitlines()]
