"""Tiny, randomly initialised Wan checkpoints for any task, in either layout.

They have the real architectures and file layouts at a few thousand parameters, so the whole
stack (loading, conditioning, sampling, decoding, MP4) runs offline on a CPU in seconds. The
weights are untrained: videos from them are noise.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from diffusers import AutoencoderKLWan, UniPCMultistepScheduler, WanTransformer3DModel
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
from transformers import (
    CLIPVisionConfig,
    CLIPVisionModel,
    PreTrainedTokenizerFast,
    UMT5Config,
    UMT5EncoderModel,
)

from kino.checkpoints.clip import OFFICIAL_NUM_HEADS, save_official_clip
from kino.checkpoints.components import WanComponents
from kino.checkpoints.dit import save_official_dit
from kino.checkpoints.layout import (
    CLIP_FILE,
    HIGH_NOISE_DIR,
    LOW_NOISE_DIR,
    T5_FILE,
    T5_TOKENIZER_DIR,
)
from kino.checkpoints.t5 import save_official_t5
from kino.checkpoints.vae import WAN22_LATENTS_MEAN, WAN22_LATENTS_STD, save_official_vae
from kino.tasks import TaskKind, TaskPreset

TEXT_DIM = 32
IMAGE_DIM = 64
VOCAB = list("abcdefghijklmnopqrstuvwxyz0123456789.,!?'-")


def umt5_tokenizer(backend: Tokenizer, model_max_length: int = 512) -> PreTrainedTokenizerFast:
    """Wrap a Metaspace backend the UMT5 way: '</s>' appended, pad 0, eos 1, unk 2."""
    backend.post_processor = processors.TemplateProcessing(
        single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", 1)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        pad_token="<pad>",
        eos_token="</s>",
        unk_token="<unk>",
        model_max_length=model_max_length,
    )


def tiny_tokenizer() -> PreTrainedTokenizerFast:
    """A UMT5-style tokenizer (pad 0, eos 1, unk 2, Metaspace, '</s>' appended) with a
    character vocabulary, so that it needs no download."""
    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -1.0)]
    pieces += [(char, -2.0) for char in VOCAB]
    pieces += [(f"▁{char}", -1.5) for char in VOCAB]
    backend = Tokenizer(models.Unigram(pieces, unk_id=2, byte_fallback=False))
    backend.normalizer = normalizers.Lowercase()
    backend.pre_tokenizer = pre_tokenizers.Metaspace()
    backend.decoder = decoders.Metaspace()
    return umt5_tokenizer(backend)


def _text_encoder(vocab_size: int) -> UMT5EncoderModel:
    config = UMT5Config(
        vocab_size=vocab_size,
        d_model=TEXT_DIM,
        d_kv=8,
        d_ff=64,
        num_layers=2,
        num_heads=4,
        relative_attention_num_buckets=32,
        relative_attention_max_distance=128,
        feed_forward_proj="gated-gelu",
        dropout_rate=0.0,
        pad_token_id=0,
        eos_token_id=1,
    )
    return UMT5EncoderModel(config)


def _image_encoder() -> CLIPVisionModel:
    config = CLIPVisionConfig(
        hidden_size=IMAGE_DIM,
        intermediate_size=4 * IMAGE_DIM,
        num_hidden_layers=3,
        num_attention_heads=OFFICIAL_NUM_HEADS,
        image_size=224,
        patch_size=14,
        hidden_act="gelu",
        layer_norm_eps=1e-5,
    )
    return CLIPVisionModel(config)


def _vae(preset: TaskPreset) -> AutoencoderKLWan:
    if preset.kind is TaskKind.TI2V:
        return AutoencoderKLWan(
            base_dim=16,
            decoder_base_dim=16,
            z_dim=48,
            dim_mult=[1, 2, 4, 4],
            num_res_blocks=2,
            attn_scales=[],
            temperal_downsample=[False, True, True],
            is_residual=True,
            in_channels=12,
            out_channels=12,
            patch_size=2,
            scale_factor_temporal=4,
            scale_factor_spatial=16,
            latents_mean=list(WAN22_LATENTS_MEAN),
            latents_std=list(WAN22_LATENTS_STD),
        )
    return AutoencoderKLWan(base_dim=8, z_dim=16)


def _transformer(preset: TaskPreset) -> WanTransformer3DModel:
    in_channels = {TaskKind.T2V: 16, TaskKind.I2V: 36, TaskKind.FLF2V: 36, TaskKind.TI2V: 48}
    clip = preset.uses_clip
    return WanTransformer3DModel(
        patch_size=(1, 2, 2),
        num_attention_heads=2,
        attention_head_dim=16,
        in_channels=in_channels[preset.kind],
        out_channels=48 if preset.kind is TaskKind.TI2V else 16,
        text_dim=TEXT_DIM,
        freq_dim=256,
        ffn_dim=64,
        num_layers=2,
        image_dim=IMAGE_DIM if clip else None,
        added_kv_proj_dim=32 if clip else None,
        pos_embed_seq_len=2 * 257 if preset.kind is TaskKind.FLF2V else None,
    )


@torch.no_grad()
def _randomise(module: torch.nn.Module, generator: torch.Generator) -> None:
    """Fresh init leaves zeros (output heads, embeddings); a test should see every weight."""
    for parameter in module.parameters():
        parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.1)


def build_tiny_components(preset: TaskPreset, seed: int = 0) -> WanComponents:
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    tokenizer = tiny_tokenizer()
    parts = {
        "text_encoder": _text_encoder(len(tokenizer)),
        "vae": _vae(preset),
        "transformer": _transformer(preset),
        "transformer_2": _transformer(preset) if preset.experts else None,
        "image_encoder": _image_encoder() if preset.uses_clip else None,
    }
    for name, module in parts.items():
        if module is not None and name != "vae":
            _randomise(module, generator)
            module.eval()
    parts["vae"].eval()
    return WanComponents(tokenizer=tokenizer, **parts)


def save_official(components: WanComponents, preset: TaskPreset, root: Path) -> Path:
    """Write the official Wan layout: DiT folder(s), VAE, T5 (+ tokenizer), CLIP."""
    root.mkdir(parents=True, exist_ok=True)
    model_type = "flf2v" if preset.kind is TaskKind.FLF2V else preset.kind.value
    if preset.experts:
        assert components.transformer_2 is not None
        save_official_dit(components.transformer, root / HIGH_NOISE_DIR, model_type)
        save_official_dit(components.transformer_2, root / LOW_NOISE_DIR, model_type)
    else:
        save_official_dit(components.transformer, root, model_type)
    save_official_vae(components.vae, root / preset.vae_file)
    save_official_t5(components.text_encoder, root / T5_FILE)
    components.tokenizer.save_pretrained(root / T5_TOKENIZER_DIR)
    if components.image_encoder is not None:
        save_official_clip(components.image_encoder, root / CLIP_FILE)
    return root


def save_diffusers(components: WanComponents, preset: TaskPreset, root: Path) -> Path:
    """Write the diffusers pipeline layout with a model_index.json."""
    root.mkdir(parents=True, exist_ok=True)
    pipeline = (
        "WanImageToVideoPipeline"
        if preset.kind in (TaskKind.I2V, TaskKind.FLF2V)
        else ("WanPipeline")
    )
    index: dict[str, object] = {"_class_name": pipeline, "_diffusers_version": "0.35.0"}
    modules = {
        "tokenizer": ("transformers", "T5TokenizerFast", components.tokenizer),
        "text_encoder": ("transformers", "UMT5EncoderModel", components.text_encoder),
        "vae": ("diffusers", "AutoencoderKLWan", components.vae),
        "transformer": ("diffusers", "WanTransformer3DModel", components.transformer),
        "transformer_2": ("diffusers", "WanTransformer3DModel", components.transformer_2),
        "image_encoder": ("transformers", "CLIPVisionModel", components.image_encoder),
    }
    for name, (library, cls, module) in modules.items():
        if module is None:
            index[name] = [None, None]
            continue
        module.save_pretrained(root / name)
        index[name] = [library, cls]
    UniPCMultistepScheduler(
        prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=preset.sample_shift
    ).save_pretrained(root / "scheduler")
    index["scheduler"] = ["diffusers", "UniPCMultistepScheduler"]
    if preset.boundary is not None:
        index["boundary_ratio"] = preset.boundary
    (root / "model_index.json").write_text(json.dumps(index, indent=2) + "\n")
    return root
