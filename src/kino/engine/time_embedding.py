"""The official timestep sinusoid, in float64.

diffusers' WanTransformer3DModel computes the sinusoidal timestep embedding in float32; the
official `sinusoidal_embedding_1d` computes its phases in float64. At t = 999 the float32 phase
is off by ~6e-5 rad, enough to move fp32 DiT outputs by ~2e-5. kino swaps the official
computation in, for both checkpoint layouts alike.
"""

from __future__ import annotations

import torch
from diffusers import WanTransformer3DModel


class OfficialTimestepSinusoid(torch.nn.Module):
    """[cos, sin] of t * 10000^(-k / half), in float64, returned as float32."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.half = dim // 2

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        # MPS has no float64; the phases are tiny to compute on the CPU.
        position = t.detach().to("cpu", torch.float64)
        freqs = torch.pow(10000, -torch.arange(self.half).to(position).div(self.half))
        phases = torch.outer(position, freqs)
        embedding = torch.cat([torch.cos(phases), torch.sin(phases)], dim=1)
        return embedding.float().to(t.device)


def use_official_time_embedding(model: WanTransformer3DModel) -> None:
    model.condition_embedder.timesteps_proj = OfficialTimestepSinusoid(model.config.freq_dim)
