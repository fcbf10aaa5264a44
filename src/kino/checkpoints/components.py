"""Load the modules of one Wan task from either checkpoint layout into diffusers and
transformers classes."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import torch
from diffusers import AutoencoderKLWan, WanTransformer3DModel
from transformers import AutoTokenizer, CLIPVisionModel, PreTrainedTokenizerBase, UMT5EncoderModel

from kino.checkpoints.clip import load_official_clip
from kino.checkpoints.dit import load_official_dit
from kino.checkpoints.layout import (
    CLIP_FILE,
    HIGH_NOISE_DIR,
    LOW_NOISE_DIR,
    T5_FILE,
    T5_TOKENIZER_DIR,
    LayoutKind,
    detect_layout,
)
from kino.checkpoints.t5 import load_official_t5
from kino.checkpoints.vae import load_official_vae
from kino.errors import CheckpointError
from kino.tasks import TaskKind, TaskPreset

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ComponentDtypes:
    text: torch.dtype
    image: torch.dtype
    dit: torch.dtype
    vae: torch.dtype


@dataclass
class WanComponents:
    """Everything one task needs. `transformer` is the only DiT, or the high-noise expert;
    `transformer_2` is the low-noise expert of Wan2.2 A14B (the diffusers convention)."""

    tokenizer: PreTrainedTokenizerBase
    text_encoder: UMT5EncoderModel
    vae: AutoencoderKLWan
    transformer: WanTransformer3DModel
    transformer_2: WanTransformer3DModel | None = None
    image_encoder: CLIPVisionModel | None = None


def _require(path: Path) -> Path:
    if not path.exists():
        raise CheckpointError(f"{path}: missing from the checkpoint folder")
    return path


def _load_official(root: Path, preset: TaskPreset, dtypes: ComponentDtypes) -> WanComponents:
    log.info("loading %s", root / T5_FILE)
    text_encoder = load_official_t5(_require(root / T5_FILE), dtypes.text)
    tokenizer = AutoTokenizer.from_pretrained(
        _require(root / T5_TOKENIZER_DIR), local_files_only=True
    )
    log.info("loading %s", root / preset.vae_file)
    vae = load_official_vae(_require(root / preset.vae_file), dtypes.vae)
    image_encoder = None
    if preset.uses_clip:
        log.info("loading %s", root / CLIP_FILE)
        image_encoder = load_official_clip(_require(root / CLIP_FILE), dtypes.image)
    if preset.experts:
        log.info("Creating WanModel from %s", root)
        high = load_official_dit(_require(root / HIGH_NOISE_DIR), dtypes.dit)
        low = load_official_dit(_require(root / LOW_NOISE_DIR), dtypes.dit)
        return WanComponents(tokenizer, text_encoder, vae, high, low, image_encoder)
    log.info("Creating WanModel from %s", root)
    return WanComponents(
        tokenizer, text_encoder, vae, load_official_dit(root, dtypes.dit), None, image_encoder
    )


def _load_diffusers(root: Path, preset: TaskPreset, dtypes: ComponentDtypes) -> WanComponents:
    index = json.loads((root / "model_index.json").read_text())

    def present(name: str) -> bool:
        entry = index.get(name)
        return isinstance(entry, list) and entry[0] is not None and (root / name).is_dir()

    def pretrained(cls, name: str, dtype: torch.dtype):
        log.info("loading %s", root / name)
        return cls.from_pretrained(
            _require(root / name), torch_dtype=dtype, local_files_only=True
        ).eval()

    tokenizer = AutoTokenizer.from_pretrained(_require(root / "tokenizer"), local_files_only=True)
    image_encoder = None
    if preset.uses_clip:
        if not present("image_encoder"):
            raise CheckpointError(f"{root}: task {preset.name} needs image_encoder/, not found")
        image_encoder = pretrained(CLIPVisionModel, "image_encoder", dtypes.image)
    transformer_2 = None
    if preset.experts:
        if not present("transformer_2"):
            raise CheckpointError(f"{root}: task {preset.name} needs transformer_2/, not found")
        transformer_2 = pretrained(WanTransformer3DModel, "transformer_2", dtypes.dit)
    return WanComponents(
        tokenizer=tokenizer,
        text_encoder=pretrained(UMT5EncoderModel, "text_encoder", dtypes.text),
        vae=pretrained(AutoencoderKLWan, "vae", dtypes.vae),
        transformer=pretrained(WanTransformer3DModel, preset.transformer_dir, dtypes.dit),
        transformer_2=transformer_2,
        image_encoder=image_encoder,
    )


_IN_CHANNELS = {TaskKind.T2V: 16, TaskKind.I2V: 36, TaskKind.FLF2V: 36, TaskKind.TI2V: 48}


def _check_matches(components: WanComponents, preset: TaskPreset, root: Path) -> None:
    """Catch a checkpoint of another task before it fails deep inside a forward pass."""
    config = components.transformer.config
    expected = _IN_CHANNELS[preset.kind]
    # Wan2.1 FLF2V marks its two CLIP images with a learned position embedding.
    flf2v = config.pos_embed_seq_len is not None
    wants_flf2v = preset.uses_clip and preset.kind is TaskKind.FLF2V
    if config.in_channels != expected or flf2v != wants_flf2v:
        raise CheckpointError(
            f"--ckpt_dir {root}: its DiT ({config.in_channels} input channels"
            f"{', first-last-frame' if flf2v else ''}) does not fit task {preset.name}; "
            "pass the checkpoint folder of that task or the --task of this checkpoint"
        )


def load_components(root: Path, preset: TaskPreset, dtypes: ComponentDtypes) -> WanComponents:
    layout = detect_layout(root)
    loader = _load_official if layout.kind is LayoutKind.OFFICIAL else _load_diffusers
    components = loader(root, preset, dtypes)
    for module in (components.text_encoder, components.vae, components.transformer):
        module.requires_grad_(False)
    _check_matches(components, preset, root)
    return components
