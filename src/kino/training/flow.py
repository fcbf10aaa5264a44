"""Wan's flow-matching objective: x_t = (1 - σ) x_0 + σ ε, and the DiT predicts ε - x_0."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from kino.engine.schedule import NUM_TRAIN_TIMESTEPS


def shifted_sigmas(batch: int, shift: float, generator: torch.Generator) -> torch.Tensor:
    """σ ∈ (0, 1) with the same shift the sampler uses, so training spends its steps on the noise
    levels sampling visits."""
    u = torch.rand(batch, generator=generator)
    return shift * u / (1 + (shift - 1) * u)


@dataclass(frozen=True)
class FlowSample:
    noisy: torch.Tensor
    target: torch.Tensor
    sigma: torch.Tensor  # [B]
    timestep: torch.Tensor  # [B], σ · 1000 as the DiT takes it


def noise_latents(x0: torch.Tensor, sigma: torch.Tensor, generator: torch.Generator) -> FlowSample:
    noise = torch.randn(x0.shape, generator=generator).to(x0.device)
    sigma = sigma.to(x0.device)
    s = sigma.view(-1, *([1] * (x0.dim() - 1)))
    return FlowSample(
        noisy=(1 - s) * x0 + s * noise,
        target=noise - x0,
        sigma=sigma,
        timestep=sigma * NUM_TRAIN_TIMESTEPS,
    )


def predicted_x0(sample: FlowSample, prediction: torch.Tensor) -> torch.Tensor:
    s = sample.sigma.view(-1, *([1] * (prediction.dim() - 1)))
    return sample.noisy - s * prediction
