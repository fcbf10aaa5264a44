"""The official Wan text encoder file as a transformers `UMT5EncoderModel`.

`models_t5_umt5-xxl-enc-bf16.pth` holds the state dict of the official `T5Encoder`
(wan/modules/t5.py): umt5-xxl, encoder only, with a relative position embedding in every block.
Its math is UMT5's: RMS norms with eps 1e-6, unscaled attention with a per-layer bidirectional
relative bias (32 buckets, max distance 128), and a feed-forward gated by tanh-approximated GELU.
"""

import re
from collections.abc import Mapping
from pathlib import Path

import torch
from accelerate import init_empty_weights
from transformers import UMT5Config, UMT5EncoderModel

from kino.checkpoints.pth import one_line, read_state_dict
from kino.errors import CheckpointError

# Official key inside `blocks.<i>.` -> transformers key inside `encoder.block.<i>.`.
_BLOCK_KEYS = {
    "norm1.weight": "layer.0.layer_norm.weight",
    "attn.q.weight": "layer.0.SelfAttention.q.weight",
    "attn.k.weight": "layer.0.SelfAttention.k.weight",
    "attn.v.weight": "layer.0.SelfAttention.v.weight",
    "attn.o.weight": "layer.0.SelfAttention.o.weight",
    "pos_embedding.embedding.weight": "layer.0.SelfAttention.relative_attention_bias.weight",
    "norm2.weight": "layer.1.layer_norm.weight",
    "ffn.gate.0.weight": "layer.1.DenseReluDense.wi_0.weight",
    "ffn.fc1.weight": "layer.1.DenseReluDense.wi_1.weight",
    "ffn.fc2.weight": "layer.1.DenseReluDense.wo.weight",
}
_TOP_KEYS = {
    "token_embedding.weight": "shared.weight",
    "norm.weight": "encoder.final_layer_norm.weight",
}
_OFFICIAL_TOP_KEYS = {hf: official for official, hf in _TOP_KEYS.items()}
_OFFICIAL_BLOCK_KEYS = {hf: official for official, hf in _BLOCK_KEYS.items()}
_BLOCK_KEY = re.compile(r"blocks\.(\d+)\.(.+)")
_HF_BLOCK_KEY = re.compile(r"encoder\.block\.(\d+)\.(.+)")
# Not stored in the file: the official T5RelativeEmbedding default.
_MAX_DISTANCE = 128


def convert_t5_state_dict(
    state_dict: Mapping[str, torch.Tensor],
) -> tuple[UMT5Config, dict[str, torch.Tensor]]:
    """Map an official `T5Encoder` state dict to a `UMT5EncoderModel` config and state dict."""
    config = _infer_config(state_dict)
    converted = {_hf_key(key): value for key, value in state_dict.items()}
    converted["encoder.embed_tokens.weight"] = converted["shared.weight"]
    return config, converted


def load_official_t5(path: Path, dtype: torch.dtype = torch.float32) -> UMT5EncoderModel:
    """Load an official Wan T5 encoder `.pth` file, memory-mapped, as an eval-mode model."""
    state_dict = read_state_dict(path)
    try:
        config, converted = convert_t5_state_dict(state_dict)
        with init_empty_weights():
            model = UMT5EncoderModel(config)
        model.load_state_dict(converted, strict=True, assign=True)
    except (CheckpointError, RuntimeError) as error:
        raise CheckpointError(
            f"{path}: not an official Wan T5 encoder: {one_line(error)}"
        ) from None
    # After `assign` the two embedding names are separate Parameters over one tensor, which
    # `.to(dtype)` would turn into two copies of the (1 G parameter) umt5-xxl embedding.
    model.tie_weights()
    return model.to(dtype).eval()


def save_official_t5(model: UMT5EncoderModel, path: Path) -> None:
    """Write `model` in the official `T5Encoder` layout (the inverse of `load_official_t5`)."""
    official = {}
    for key, value in model.state_dict().items():
        if key != "encoder.embed_tokens.weight":
            official[_official_key(key)] = value
    torch.save(official, path)


def _infer_config(state_dict: Mapping[str, torch.Tensor]) -> UMT5Config:
    try:
        vocab_size, d_model = state_dict["token_embedding.weight"].shape
        inner_dim = state_dict["blocks.0.attn.q.weight"].shape[0]
        num_buckets, num_heads = state_dict["blocks.0.pos_embedding.embedding.weight"].shape
        d_ff = state_dict["blocks.0.ffn.fc1.weight"].shape[0]
    except (KeyError, ValueError) as error:
        raise CheckpointError(f"missing or misshapen tensor {error}") from None
    blocks = {int(m.group(1)) for key in state_dict if (m := _BLOCK_KEY.fullmatch(key))}
    return UMT5Config(
        vocab_size=vocab_size,
        d_model=d_model,
        d_kv=inner_dim // num_heads,
        d_ff=d_ff,
        num_layers=max(blocks) + 1,
        num_heads=num_heads,
        relative_attention_num_buckets=num_buckets,
        relative_attention_max_distance=_MAX_DISTANCE,
        layer_norm_epsilon=1e-6,
        feed_forward_proj="gated-gelu",
        pad_token_id=0,
        eos_token_id=1,
    )


def _hf_key(key: str) -> str:
    if key in _TOP_KEYS:
        return _TOP_KEYS[key]
    if (match := _BLOCK_KEY.fullmatch(key)) and match.group(2) in _BLOCK_KEYS:
        return f"encoder.block.{match.group(1)}.{_BLOCK_KEYS[match.group(2)]}"
    raise CheckpointError(f"unexpected key {key!r}")


def _official_key(key: str) -> str:
    if key in _OFFICIAL_TOP_KEYS:
        return _OFFICIAL_TOP_KEYS[key]
    match = _HF_BLOCK_KEY.fullmatch(key)
    assert match is not None, key
    return f"blocks.{match.group(1)}.{_OFFICIAL_BLOCK_KEYS[match.group(2)]}"
