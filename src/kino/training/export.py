"""Write the trained demo model as a diffusers folder: one VAE, text encoder and tokenizer shared
by a t2v DiT (`transformer/`) and an i2v/flf2v DiT (`transformer_i2v/`)."""

from __future__ import annotations

import json
from pathlib import Path

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
) -> None:
    out.mkdir(parents=True, exist_ok=True)
    vae.save_pretrained(out / "vae")
    text_encoder.save_pretrained(out / "text_encoder")
    tokenizer.save_pretrained(out / "tokenizer")
    t2v.save_pretrained(out / "transformer")
    if i2v is not None:
        i2v.save_pretrained(out / get_task("demo-i2v").transformer_dir)
    UniPCMultistepScheduler(
        prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=3.0
    ).save_pretrained(out / "scheduler")
    (out / "model_index.json").write_text(json.dumps(MODEL_INDEX, indent=2) + "\n")
