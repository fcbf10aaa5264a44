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


def noise_latents(
    x0: torch.Tensor, sigma: torch.Tensor, generator: torch.Generator, pairs: bool = False
) -> FlowSample:
    """With `pairs`, `sigma` holds one σ per pair and the second half of the batch gets the
    first half's σ and noise: see `pair_loss`."""
    shape = (len(x0) // 2, *x0.shape[1:]) if pairs else x0.shape
    noise = torch.randn(shape, generator=generator).to(x0.device)
    if pairs:
        noise, sigma = torch.cat([noise, noise]), sigma.repeat(2)
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


def pair_loss(error: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """The weighted mean square of the difference between the two halves' errors.

    The halves are pairs of samples with the same noise, σ and object path that differ only in
    the object's shape (and the caption's shape word). Write each pair's errors as a common part
    c and a differential part d (a = c + d, b = c - d): the flow loss counts 2|c|² + 2|d|², this
    4|d|². At high σ the common part, the noise the DiT cannot predict, swamps the shape's
    share of the flow loss, and the DiT learned to draw the same blob for every shape; this
    term weighs the part only the shape word can explain. `weights` holds both halves' weights;
    a pair's position counts by the larger.
    """
    half = len(error) // 2
    pair = torch.maximum(weights[:half], weights[half:])
    difference = (error[:half] - error[half:]).pow(2)
    return (difference * pair).mean() / pair.mean()
