"""Which kind of checkpoint folder this is: the official Wan layout or a diffusers pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from kino.errors import CheckpointError

T5_FILE = "models_t5_umt5-xxl-enc-bf16.pth"
T5_TOKENIZER_DIR = "google/umt5-xxl"
CLIP_FILE = "models_clip_open-clip-xlm-roberta-large-vit-huge-14.pth"
HIGH_NOISE_DIR = "high_noise_model"
LOW_NOISE_DIR = "low_noise_model"
DIT_CONFIG = "config.json"
DIT_WEIGHTS_GLOB = "diffusion_pytorch_model*.safetensors"


class LayoutKind(StrEnum):
    OFFICIAL = "official"
    DIFFUSERS = "diffusers"


@dataclass(frozen=True)
class CheckpointLayout:
    kind: LayoutKind
    root: Path


def _is_official_dit(folder: Path) -> bool:
    return (folder / DIT_CONFIG).is_file() and any(folder.glob(DIT_WEIGHTS_GLOB))


def detect_layout(root: Path) -> CheckpointLayout:
    """Detect the layout from the files present; no file is read."""
    if not root.is_dir():
        raise CheckpointError(f"--ckpt_dir {root}: no such folder; pass a Wan checkpoint folder")
    if (root / "model_index.json").is_file():
        return CheckpointLayout(LayoutKind.DIFFUSERS, root)
    if _is_official_dit(root) or _is_official_dit(root / HIGH_NOISE_DIR):
        return CheckpointLayout(LayoutKind.OFFICIAL, root)
    raise CheckpointError(
        f"--ckpt_dir {root}: not a Wan checkpoint (expected model_index.json, or config.json with "
        f"{DIT_WEIGHTS_GLOB}, or {HIGH_NOISE_DIR}/ and {LOW_NOISE_DIR}/)"
    )
