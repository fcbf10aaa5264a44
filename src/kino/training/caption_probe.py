"""An auxiliary objective for the from-scratch text encoder: read the scene back from its states.

Wan's DiT reads the prompt only through cross-attention, which sees the encoder's token states as
an unordered set. A UMT5 encoder trained from scratch by the flow loss alone left that set almost
unchanged when two words swapped places: "from left to right" and "from right to left" gave mean
states 0.035 apart, against 3.6 for two colours, so the DiT could not tell the directions apart.
A linear probe per attribute on the mean state, trained jointly, gives the encoder a direct
reason to put every attribute, word order included, into its states. The probe is training-only
and is not exported.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from kino.demo import world


class CaptionProbe(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.heads = nn.ModuleDict(
            {a: nn.Linear(dim, len(v)) for a, v in world.ATTRIBUTE_VALUES.items()}
        )

    def forward(self, states: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
        """Logits per attribute from [B, L, D] states, averaged over the real tokens."""
        weights = mask[..., None].to(states.dtype)
        pooled = (states * weights).sum(1) / weights.sum(1).clamp(min=1.0)
        return {a: head(pooled) for a, head in self.heads.items()}


def probe_loss(
    probe: CaptionProbe,
    states: torch.Tensor,
    mask: torch.Tensor,
    scenes: list[world.Scene],
    captioned: torch.Tensor,
) -> torch.Tensor:
    """Mean cross-entropy over the attributes, on the samples whose caption was not dropped
    (`captioned`, bool [B]); zero when every caption was."""
    if not bool(captioned.any()):
        return states.sum() * 0.0
    logits = probe(states[captioned], mask[captioned])
    kept = [s for s, c in zip(scenes, captioned.tolist(), strict=True) if c]
    losses = []
    for attribute, values in world.ATTRIBUTE_VALUES.items():
        target = torch.tensor([values.index(getattr(s, attribute)) for s in kept])
        losses.append(F.cross_entropy(logits[attribute], target.to(states.device)))
    return torch.stack(losses).mean()
