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
    x0: torch.Tensor,
    sigma: torch.Tensor,
    generator: torch.Generator,
    pairs: bool = False,
    blend: torch.Tensor | None = None,
) -> FlowSample:
    """With `pairs`, `sigma` holds one σ per pair and the second half of the batch gets the
    first half's σ and noise: see `pair_loss`.

    `blend` (pairs only) holds one λ per pair: a pair with λ > 0 is a blended pair. Both of its
    samples see one noisy input, made from (1 - λ) a + λ b of the pair's clean latents a and b,
    and each is trained towards its own: the target is the velocity (x_t - x_0) / σ that carries
    the shared input to that sample's latents, which for an unblended sample is ε - x_0. Sampling
    from noise, the DiT settles on a blob of no particular shape before the outline shows; in
    training the noisy input always shows the shape the caption names, so nothing taught the DiT
    to turn a blob into that shape. In a blended pair the input is the same for both captions
    and only the shape word tells the two targets apart.
    """
    shape = (len(x0) // 2, *x0.shape[1:]) if pairs else x0.shape
    noise = torch.randn(shape, generator=generator).to(x0.device)
    shown = x0
    if pairs:
        noise, sigma = torch.cat([noise, noise]), sigma.repeat(2)
        if blend is not None:
            half = len(x0) // 2
            mix = blend.to(x0.device).view(-1, *([1] * (x0.dim() - 1)))
            mixed = (1 - mix) * x0[:half] + mix * x0[half:]
            shown = torch.cat([mixed, torch.where(mix > 0, mixed, x0[half:])])
    sigma = sigma.to(x0.device)
    s = sigma.view(-1, *([1] * (x0.dim() - 1)))
    # (x_t - x_0) / σ, written so that it is exactly ε - x_0 wherever nothing is blended.
    target = noise - x0 + (1 - s) / s.clamp_min(1e-6) * (shown - x0)
    return FlowSample(
        noisy=(1 - s) * shown + s * noise,
        target=target,
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
