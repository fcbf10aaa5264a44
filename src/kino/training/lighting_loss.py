"""The temporal lighting consistency loss, on decoded luminance.

Light may change over a video (a sunset), but smoothly: the change from one frame to the next
should itself change little. The loss penalises jumps between consecutive frame-to-frame
luminance changes, plus a hinge on any single change above a threshold.
"""

from __future__ import annotations

import torch

# Rec. 601 luma weights, as video codecs use.
LUMA = (0.299, 0.587, 0.114)
# The world's fastest lighting change (sunset) moves mean luma by about 0.06 per frame in [-1, 1].
JUMP_THRESHOLD = 0.08


def luminance(video: torch.Tensor) -> torch.Tensor:
    """[B, 3, F, H, W] → [B, F] mean luma per frame."""
    weights = torch.tensor(LUMA, dtype=video.dtype, device=video.device).view(1, 3, 1, 1, 1)
    return (video * weights).sum(dim=1).mean(dim=(-2, -1))


def lighting_consistency_loss(
    video: torch.Tensor, threshold: float = JUMP_THRESHOLD
) -> torch.Tensor:
    luma = luminance(video)
    change = luma[:, 1:] - luma[:, :-1]
    jumps = (change[:, 1:] - change[:, :-1]).pow(2).mean()
    hinge = torch.relu(change.abs() - threshold).pow(2).mean()
    return jumps + hinge
