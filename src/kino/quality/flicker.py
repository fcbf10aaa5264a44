"""Temporal lighting consistency of a video: how much its brightness jitters.

A steady or smoothly changing light (a sunset) has a near-constant frame-to-frame luminance
change; flicker shows up as jumps in that change. `flicker` is the mean absolute second
difference of per-frame mean luma, in 0..255 units: 0 for any linear fade.
"""

from __future__ import annotations

import numpy as np

LUMA = np.array([0.299, 0.587, 0.114])


def mean_luma(frames: np.ndarray) -> np.ndarray:
    """uint8 [F, H, W, 3] → [F] mean luma in 0..255."""
    return (frames.astype(np.float64) @ LUMA).mean(axis=(1, 2))


def flicker(frames: np.ndarray) -> float:
    luma = mean_luma(frames)
    if len(luma) < 3:
        return 0.0
    return float(np.abs(np.diff(luma, n=2)).mean())
