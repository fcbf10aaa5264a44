"""Write the trained demo model as a diffusers folder: one VAE, text encoder and tokenizer shared
by a t2v DiT (`transformer/`) and an i2v/flf2v DiT (`transformer_i2v/`)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import torch
from diffusers import AutoencoderKLWan, UniPCMultistepScheduler, WanTransformer3DModel
from transformers import PreTrainedTokenizerBase, UMT5EncoderModel

from kino.tasks import get_task

MODEL_INDEX = {
    "_class_name": "WanPipeline",
    "_diffusers_version": "0.35.0",
    "scheduler": ["diffusers", "UniPCMultistepScheduler"],
    "text_encoder": ["transformers", "UMT5EncoderModel"],
    "tokenizer": ["transformers", "PreTrainedTokenizerFast"],
    "transformer": ["diffusers", "WanTransformer3DModel"],
    "transformer_2": [None, None],
    "vae": ["diffusers", "AutoencoderKLWan"],
}


def export_model(
    out: Path,
    vae: AutoencoderKLWan,
    text_encoder: UMT5EncoderModel,
    tokenizer: PreTrainedTokenizerBase,
    t2v: WanTransformer3DModel,
    i2v: WanTransformer3DModel | None,
    dit_fp16: bool = False,
) -> None:
    """With `dit_fp16` the DiTs are stored in float16; the modules passed in stay as they are."""
    out.mkdir(parents=True, exist_ok=True)
    vae.save_pretrained(out / "vae")
    text_encoder.save_pretrained(out / "text_encoder")
    tokenizer.save_pretrained(out / "tokenizer")
    dits = [(t2v, "transformer")]
    if i2v is not None:
        dits.append((i2v, get_task("demo-i2v").transformer_dir))
    for dit, folder in dits:
        stored = copy.deepcopy(dit).to(torch.float16) if dit_fp16 else dit
        stored.save_pretrained(out / folder)
    UniPCMultistepScheduler(
        prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=3.0
    ).save_pretrained(out / "scheduler")
    (out / "model_index.json").write_text(json.dumps(MODEL_INDEX, indent=2) + "\n")
