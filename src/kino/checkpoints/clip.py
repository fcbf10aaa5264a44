"""The official Wan CLIP image encoder file as a transformers `CLIPVisionModel`.

`models_clip_open-clip-xlm-roberta-large-vit-huge-14.pth` holds the state dict of the official
`XLMRobertaCLIP` (wan/modules/clip.py). Wan uses only its `visual` tower, a ViT-H/14 with exact
(erf) GELU, a pre-norm after the embeddings, no patch embedding bias and a class token; it reads
the output of all blocks but the last, with no post-norm. In transformers that is
`hidden_states[-2]` of a forward with `output_hidden_states=True`. The text tower, the logit
scale and the visual projection head are not used by Wan and are dropped.
"""

import math
import re
from collections.abc import Mapping
from pathlib import Path

import torch
from accelerate import init_empty_weights
from transformers import CLIPVisionConfig, CLIPVisionModel

from kino.checkpoints.pth import one_line, read_state_dict
from kino.errors import CheckpointError

# The head count is not stored in the file; Wan's ViT-H/14 has 16 heads of 80 channels.
OFFICIAL_NUM_HEADS = 16

_DROPPED = re.compile(r"textual\..+|log_scale|visual\.head")
# Official key inside `visual.` -> transformers key; the fused `to_qkv` is split separately.
_TOP_KEYS = {
    "patch_embedding.weight": "embeddings.patch_embedding.weight",
    "pre_norm.weight": "pre_layrnorm.weight",
    "pre_norm.bias": "pre_layrnorm.bias",
    "post_norm.weight": "post_layernorm.weight",
    "post_norm.bias": "post_layernorm.bias",
}
# Official key inside `visual.transformer.<i>.` -> transformers key inside `encoder.layers.<i>.`.
_BLOCK_KEYS = {
    "norm1.weight": "layer_norm1.weight",
    "norm1.bias": "layer_norm1.bias",
    "attn.proj.weight": "self_attn.out_proj.weight",
    "attn.proj.bias": "self_attn.out_proj.bias",
    "norm2.weight": "layer_norm2.weight",
    "norm2.bias": "layer_norm2.bias",
    "mlp.0.weight": "mlp.fc1.weight",
    "mlp.0.bias": "mlp.fc1.bias",
    "mlp.2.weight": "mlp.fc2.weight",
    "mlp.2.bias": "mlp.fc2.bias",
}
_OFFICIAL_TOP_KEYS = {hf: official for official, hf in _TOP_KEYS.items()}
_OFFICIAL_BLOCK_KEYS = {hf: official for official, hf in _BLOCK_KEYS.items()}
_BLOCK_KEY = re.compile(r"visual\.transformer\.(\d+)\.(.+)")
_HF_BLOCK_KEY = re.compile(r"encoder\.layers\.(\d+)\.(.+)")


def convert_clip_state_dict(
    state_dict: Mapping[str, torch.Tensor], *, num_heads: int = OFFICIAL_NUM_HEADS
) -> tuple[CLIPVisionConfig, dict[str, torch.Tensor]]:
    """Map an official `XLMRobertaCLIP` state dict to a `CLIPVisionModel` config and state dict."""
    config = _infer_config(state_dict, num_heads)
    converted = {}
    for key, value in state_dict.items():
        if not _DROPPED.fullmatch(key):
            converted |= _convert_tensor(key, value)
    return config, converted


def load_official_clip(
    path: Path, dtype: torch.dtype = torch.float32, *, num_heads: int = OFFICIAL_NUM_HEADS
) -> CLIPVisionModel:
    """Load the visual tower of an official Wan CLIP `.pth` file, memory-mapped, in eval mode."""
    state_dict = read_state_dict(path)
    try:
        config, converted = convert_clip_state_dict(state_dict, num_heads=num_heads)
        # Parameters on the meta device; the non-persistent `position_ids` buffer stays real.
        with init_empty_weights():
            model = CLIPVisionModel(config)
        model.load_state_dict(converted, strict=True, assign=True)
    except (CheckpointError, RuntimeError, ValueError) as error:
        raise CheckpointError(
            f"{path}: not an official Wan CLIP model: {one_line(error)}"
        ) from None
    return model.to(dtype).eval()


def save_official_clip(model: CLIPVisionModel, path: Path) -> None:
    """Write `model` as the official `visual.*` keys (the inverse of `load_official_clip`).

    The official projection head, `visual.head`, has no counterpart and is not written.
    """
    state_dict = model.state_dict()
    official = {
        "visual.cls_embedding": state_dict["embeddings.class_embedding"].reshape(1, 1, -1),
        "visual.pos_embedding": state_dict["embeddings.position_embedding.weight"].unsqueeze(0),
    }
    for key, value in state_dict.items():
        if key in _OFFICIAL_TOP_KEYS:
            official[f"visual.{_OFFICIAL_TOP_KEYS[key]}"] = value
        elif (match := _HF_BLOCK_KEY.fullmatch(key)) and match.group(2) in _OFFICIAL_BLOCK_KEYS:
            layer, name = match.groups()
            official[f"visual.transformer.{layer}.{_OFFICIAL_BLOCK_KEYS[name]}"] = value
    for layer in range(model.config.num_hidden_layers):
        prefix = f"encoder.layers.{layer}.self_attn"
        for kind in ("weight", "bias"):
            parts = [state_dict[f"{prefix}.{name}_proj.{kind}"] for name in ("q", "k", "v")]
            official[f"visual.transformer.{layer}.attn.to_qkv.{kind}"] = torch.cat(parts)
    torch.save(official, path)


def _infer_config(state_dict: Mapping[str, torch.Tensor], num_heads: int) -> CLIPVisionConfig:
    try:
        hidden_size, num_channels, patch_size, _ = state_dict["visual.patch_embedding.weight"].shape
        _, num_positions, _ = state_dict["visual.pos_embedding"].shape
        intermediate_size = state_dict["visual.transformer.0.mlp.0.weight"].shape[0]
    except (KeyError, ValueError) as error:
        raise CheckpointError(f"missing or misshapen tensor {error}") from None
    grid = math.isqrt(num_positions - 1)
    if grid * grid != num_positions - 1:
        raise CheckpointError(f"{num_positions} positions are not a class token and a square grid")
    layers = {int(m.group(1)) for key in state_dict if (m := _BLOCK_KEY.fullmatch(key))}
    return CLIPVisionConfig(
        hidden_size=hidden_size,
        intermediate_size=intermediate_size,
        num_hidden_layers=max(layers) + 1,
        num_attention_heads=num_heads,
        num_channels=num_channels,
        image_size=grid * patch_size,
        patch_size=patch_size,
        hidden_act="gelu",
        layer_norm_eps=1e-5,
    )


def _convert_tensor(key: str, value: torch.Tensor) -> dict[str, torch.Tensor]:
    if key == "visual.cls_embedding":
        return {"embeddings.class_embedding": value.reshape(-1)}
    if key == "visual.pos_embedding":
        return {"embeddings.position_embedding.weight": value.squeeze(0)}
    if key.startswith("visual.") and key.removeprefix("visual.") in _TOP_KEYS:
        return {_TOP_KEYS[key.removeprefix("visual.")]: value}
    if match := _BLOCK_KEY.fullmatch(key):
        layer, name = match.groups()
        if name in _BLOCK_KEYS:
            return {f"encoder.layers.{layer}.{_BLOCK_KEYS[name]}": value}
        if name in ("attn.to_qkv.weight", "attn.to_qkv.bias"):
            # The official attention reads q, k, v as consecutive thirds of the fused output.
            kind = name.rsplit(".", 1)[1]
            return {
                f"encoder.layers.{layer}.self_attn.{part}_proj.{kind}": chunk
                for part, chunk in zip(("q", "k", "v"), value.chunk(3), strict=True)
            }
    raise CheckpointError(f"unexpected key {key!r}")
