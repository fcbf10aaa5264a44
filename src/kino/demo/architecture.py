"""The demo model's tiny Wan architecture: diffusers and transformers classes at toy sizes."""

from __future__ import annotations

import torch
from diffusers import AutoencoderKLWan, WanTransformer3DModel
from transformers import UMT5Config, UMT5EncoderModel

from kino.tasks import get_task

_PRESET = get_task("demo-t2v")
Z_DIM = 16
TEXT_DIM = 128
TEXT_LEN = _PRESET.text_len
# The VAE folds 4 frames and 4x4 pixels into one latent; the DiT patches 2x2 latents.
VAE_STRIDE = _PRESET.vae_stride
PATCH_SIZE = _PRESET.patch_size
# Offsets (key position - query position) the text encoder's four heads start out attending to,
# and how strongly.
TEXT_HEAD_OFFSETS = (-1, 1, -2, 2)
_LOCAL_BIAS = 4.0
# Noise channels + the i2v mask (one channel per folded frame) + conditioning latents.
I2V_IN_CHANNELS = Z_DIM + VAE_STRIDE[0] + Z_DIM
# At 6 layers the t2v DiT read motion on 40% of the held-out prompts and never drew an object
# moving right to left; at 10, 47% (docs/demo-model.md, run 6).
DIT_LAYERS = 10
# The DiT's width is `heads` of this many channels (`TrainConfig.dit_heads`).
DIT_HEAD_DIM = 32


def build_vae() -> AutoencoderKLWan:
    return AutoencoderKLWan(
        base_dim=16,
        z_dim=Z_DIM,
        dim_mult=[1, 2, 4],
        num_res_blocks=1,
        attn_scales=[],
        temperal_downsample=[True, True],
        dropout=0.0,
    )


def build_text_encoder(vocab_size: int) -> UMT5EncoderModel:
    config = UMT5Config(
        vocab_size=vocab_size,
        d_model=TEXT_DIM,
        d_kv=32,
        d_ff=256,
        num_layers=3,
        num_heads=4,
        relative_attention_num_buckets=32,
        relative_attention_max_distance=64,
        feed_forward_proj="gated-gelu",
        dropout_rate=0.0,
        pad_token_id=0,
        eos_token_id=1,
    )
    encoder = UMT5EncoderModel(config)
    _attend_to_neighbours(encoder)
    return encoder


def _attend_to_neighbours(encoder: UMT5EncoderModel) -> None:
    """Start each head of each layer looking at one neighbouring token.

    UMT5's relative position biases are its only sense of word order. At their default scale
    (std 0.09) a from-scratch encoder stayed a bag of words for 5000 steps: "from left to right"
    and "from right to left" came out the same. Heads that start on the previous, next and
    second-nearest tokens see word pairs ("from left" vs "from right") from the first step;
    training is free to move them.
    """
    for block in encoder.encoder.block:
        attention = block.layer[0].SelfAttention
        buckets = attention._relative_position_bucket(torch.tensor(TEXT_HEAD_OFFSETS))
        heads = torch.arange(len(TEXT_HEAD_OFFSETS))
        with torch.no_grad():
            attention.relative_attention_bias.weight[buckets, heads] += _LOCAL_BIAS


def build_transformer(heads: int, in_channels: int = Z_DIM) -> WanTransformer3DModel:
    return WanTransformer3DModel(
        patch_size=PATCH_SIZE,
        num_attention_heads=heads,
        attention_head_dim=DIT_HEAD_DIM,
        in_channels=in_channels,
        out_channels=Z_DIM,
        text_dim=TEXT_DIM,
        freq_dim=256,
        ffn_dim=4 * heads * DIT_HEAD_DIM,
        num_layers=DIT_LAYERS,
        cross_attn_norm=True,
        qk_norm="rms_norm_across_heads",
        eps=1e-6,
        rope_max_seq_len=1024,
    )


def widen_to_i2v(t2v: WanTransformer3DModel) -> WanTransformer3DModel:
    """An i2v DiT that starts as the t2v one: the extra mask and conditioning input channels
    start at zero, so its first prediction equals the t2v model's."""
    i2v = build_transformer(t2v.config.num_attention_heads, I2V_IN_CHANNELS)
    state = t2v.state_dict()
    weight = state["patch_embedding.weight"]
    wide = torch.zeros(weight.shape[0], I2V_IN_CHANNELS, *weight.shape[2:], dtype=weight.dtype)
    wide[:, :Z_DIM] = weight
    state["patch_embedding.weight"] = wide
    i2v.load_state_dict(state)
    return i2v
