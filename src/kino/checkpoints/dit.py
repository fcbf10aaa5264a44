"""Official Wan DiT folders ⇄ diffusers `WanTransformer3DModel`.

An official folder (one per expert in Wan2.2 A14B: `high_noise_model/`, `low_noise_model/`) holds
the `config.json` that the official `WanModel.save_pretrained` writes and
`diffusion_pytorch_model.safetensors`, or shards with an index. That config leaves out what the
official `WanModel` keeps out of its config (`text_dim`, `patch_size`, `qk_norm`,
`cross_attn_norm`), and Wan2.1 and Wan2.2 both write `model_type: i2v` though only Wan2.1 has a
CLIP image embedder, so the weights' names and shapes settle those.
"""

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import diffusers
import torch
from accelerate import init_empty_weights
from diffusers import WanTransformer3DModel
from diffusers.loaders.single_file_utils import convert_wan_transformer_to_diffusers
from huggingface_hub import split_torch_state_dict_into_shards
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from kino.errors import CheckpointError

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "diffusion_pytorch_model.safetensors"
INDEX_NAME = "diffusion_pytorch_model.safetensors.index.json"
# ModelMixin.save_pretrained's default, which the official checkpoints were written with.
OFFICIAL_MAX_SHARD_BYTES = 10 * 10**9
TEXT_LEN = 512
ROPE_MAX_SEQ_LEN = 1024
_REQUIRED = ("dim", "num_heads", "in_dim", "out_dim", "ffn_dim", "freq_dim", "num_layers", "eps")

# diffusers' converter has no entry for the FLF2V image position embedding (257 * 2 CLIP tokens).
_FLF2V_KEYS = {"img_emb.emb_pos": "condition_embedder.image_embedder.pos_embed"}

# diffusers names → official names, applied in order to each key.
_TO_OFFICIAL = (
    ("condition_embedder.time_embedder.linear_1", "time_embedding.0"),
    ("condition_embedder.time_embedder.linear_2", "time_embedding.2"),
    ("condition_embedder.text_embedder.linear_1", "text_embedding.0"),
    ("condition_embedder.text_embedder.linear_2", "text_embedding.2"),
    ("condition_embedder.time_proj", "time_projection.1"),
    ("condition_embedder.image_embedder.norm1", "img_emb.proj.0"),
    ("condition_embedder.image_embedder.ff.net.0.proj", "img_emb.proj.1"),
    ("condition_embedder.image_embedder.ff.net.2", "img_emb.proj.3"),
    ("condition_embedder.image_embedder.norm2", "img_emb.proj.4"),
    ("condition_embedder.image_embedder.pos_embed", "img_emb.emb_pos"),
    (".attn1.", ".self_attn."),
    (".attn2.", ".cross_attn."),
    (".to_q.", ".q."),
    (".to_k.", ".k."),
    (".to_v.", ".v."),
    (".to_out.0.", ".o."),
    (".add_k_proj.", ".k_img."),
    (".add_v_proj.", ".v_img."),
    (".norm_added_k.", ".norm_k_img."),
    (".ffn.net.0.proj.", ".ffn.0."),
    (".ffn.net.2.", ".ffn.2."),
    (".norm2.", ".norm3."),  # a block's cross-attention norm
    (".scale_shift_table", ".modulation"),
)

# Name parts in the order the official WanModel registers them: its state dict order, which
# decides how save_pretrained fills shards. A module's own parameters come before its children.
_OFFICIAL_ORDER = (
    *("modulation", "emb_pos", "patch_embedding", "text_embedding", "time_embedding"),
    *("time_projection", "blocks", "head", "img_emb", "self_attn", "norm3", "cross_attn"),
    *("ffn", "proj", "q", "k", "v", "o", "norm_q", "norm_k", "k_img", "v_img", "norm_k_img"),
    *("weight", "bias"),
)


def diffusers_config_from_official(
    official: Mapping[str, Any], shapes: Mapping[str, Sequence[int]]
) -> dict[str, Any]:
    """The `WanTransformer3DModel` config for an official config and its weights' shapes.

    `shapes` maps official state-dict keys to tensor shapes; they decide what the official
    config.json does not record.
    """
    dim, heads = official["dim"], official["num_heads"]
    image = shapes.get("img_emb.proj.0.weight")
    pos_embed = shapes.get("img_emb.emb_pos")
    return {
        "patch_size": tuple(shapes["patch_embedding.weight"][2:]),
        "num_attention_heads": heads,
        "attention_head_dim": dim // heads,
        "in_channels": official["in_dim"],
        "out_channels": official["out_dim"],
        "text_dim": shapes["text_embedding.0.weight"][1],
        "freq_dim": official["freq_dim"],
        "ffn_dim": official["ffn_dim"],
        "num_layers": official["num_layers"],
        "cross_attn_norm": "blocks.0.norm3.weight" in shapes,
        "qk_norm": "rms_norm_across_heads"
        if "blocks.0.self_attn.norm_q.weight" in shapes
        else None,
        "eps": official["eps"],
        "image_dim": image[0] if image else None,
        "added_kv_proj_dim": dim if image else None,
        "rope_max_seq_len": ROPE_MAX_SEQ_LEN,
        "pos_embed_seq_len": pos_embed[1] if pos_embed else None,
    }


def convert_dit_state_dict(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Official DiT keys → `WanTransformer3DModel` keys; tensors are passed through."""
    official = dict(state_dict)  # the diffusers converter empties the dict it is given
    flf2v = {new: official.pop(old) for old, new in _FLF2V_KEYS.items() if old in official}
    return convert_wan_transformer_to_diffusers(official) | flf2v


def load_official_dit(folder: Path, dtype: torch.dtype = torch.float32) -> WanTransformer3DModel:
    """Load an official DiT folder without holding its weights twice or touching the network."""
    official = _read_config(folder)
    shards = {path: _read_shapes(path) for path in _shard_paths(folder)}
    shapes = {key: shape for shard in shards.values() for key, shape in shard.items()}
    try:
        config = diffusers_config_from_official(official, shapes)
    except KeyError as missing:
        raise CheckpointError(f"{folder}: no tensor {missing} in the weights") from None
    with init_empty_weights():
        model = WanTransformer3DModel.from_config(config)

    names = _diffusers_names(shapes)
    expected = {key: tuple(t.shape) for key, t in model.state_dict().items()}
    found = {names[key]: tuple(shape) for key, shape in shapes.items()}
    if found != expected:
        raise CheckpointError(
            f"{folder}: weights do not fit its config.json ({_diff(expected, found)})"
        )

    # Like diffusers' from_pretrained: modulation tables, norms and the time embedder stay fp32.
    keep_fp32 = set(model._keep_in_fp32_modules or ())
    half = dtype in (torch.float16, torch.bfloat16)
    state = {}
    for path, shard in shards.items():
        with safe_open(path, framework="pt") as f:
            for key in shard:
                name = names[key]
                kept = half and not keep_fp32.isdisjoint(name.split("."))
                state[name] = f.get_tensor(key).to(torch.float32 if kept else dtype)
    model.load_state_dict(state, strict=True, assign=True)
    return model.eval()


def save_official_dit(
    model: WanTransformer3DModel, folder: Path, model_type: str, max_shard_bytes: int | None = None
) -> None:
    """Write `model` as the official `WanModel.save_pretrained` would (10 GB shards by default)."""
    c = model.config
    config = {
        "_class_name": "WanModel",
        "_diffusers_version": diffusers.__version__,
        "model_type": model_type,
        "text_len": TEXT_LEN,
        "in_dim": c.in_channels,
        "dim": c.num_attention_heads * c.attention_head_dim,
        "ffn_dim": c.ffn_dim,
        "freq_dim": c.freq_dim,
        "out_dim": c.out_channels,
        "num_heads": c.num_attention_heads,
        "num_layers": c.num_layers,
        "eps": c.eps,
    }
    folder.mkdir(parents=True, exist_ok=True)
    (folder / CONFIG_NAME).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")

    renamed = {_official_key(key): t for key, t in model.state_dict().items()}
    state = {key: renamed[key].contiguous() for key in sorted(renamed, key=_official_rank)}
    split = split_torch_state_dict_into_shards(
        state,
        filename_pattern=WEIGHTS_NAME.replace(".safetensors", "{suffix}.safetensors"),
        max_shard_size=max_shard_bytes or OFFICIAL_MAX_SHARD_BYTES,
    )
    for filename, keys in split.filename_to_tensors.items():
        save_file({key: state[key] for key in keys}, folder / filename, metadata={"format": "pt"})
    if split.is_sharded:
        index = {"metadata": split.metadata, "weight_map": split.tensor_to_filename}
        (folder / INDEX_NAME).write_text(json.dumps(index, indent=2, sort_keys=True) + "\n")


def _read_config(folder: Path) -> dict[str, Any]:
    path = folder / CONFIG_NAME
    if not path.is_file():
        experts = " (a Wan2.2 A14B folder: load high_noise_model/ and low_noise_model/)"
        hint = experts if (folder / "high_noise_model").is_dir() else ""
        raise CheckpointError(f"{path}: not found{hint}")
    try:
        config = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CheckpointError(f"{path}: not valid JSON ({error})") from None
    missing = [key for key in _REQUIRED if key not in config]
    if missing:
        raise CheckpointError(f"{path}: not an official Wan DiT config (no {', '.join(missing)})")
    return config


def _shard_paths(folder: Path) -> list[Path]:
    index = folder / INDEX_NAME
    if index.is_file():
        try:
            weight_map = json.loads(index.read_text())["weight_map"]
        except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as error:
            raise CheckpointError(f"{index}: not a safetensors index ({error})") from None
        paths = [folder / name for name in sorted(set(weight_map.values()))]
    else:
        paths = [folder / WEIGHTS_NAME]
    for path in paths:
        if not path.is_file():
            raise CheckpointError(f"{path}: not found")
    return paths


def _read_shapes(path: Path) -> dict[str, list[int]]:
    try:
        with safe_open(path, framework="pt") as f:
            keys = f.keys()  # safe_open is not iterable
            return {key: f.get_slice(key).get_shape() for key in keys}
    except (SafetensorError, OSError) as error:
        raise CheckpointError(f"{path}: not a readable safetensors file ({error})") from None


def _diffusers_names(shapes: Mapping[str, Sequence[int]]) -> dict[str, str]:
    """Official key → diffusers key, converting one shape-only (meta) tensor at a time."""
    return {
        key: next(iter(convert_dit_state_dict({key: torch.empty(shape, device="meta")})))
        for key, shape in shapes.items()
    }


def _official_key(key: str) -> str:
    if key == "scale_shift_table":
        return "head.modulation"
    if key.startswith("proj_out."):
        return "head.head." + key.removeprefix("proj_out.")
    key = "." + key
    for diffusers_part, official_part in _TO_OFFICIAL:
        key = key.replace(diffusers_part, official_part)
    return key.removeprefix(".")


def _official_rank(key: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else _OFFICIAL_ORDER.index(p) for p in key.split("."))


def _diff(expected: Mapping[str, tuple[int, ...]], found: Mapping[str, tuple[int, ...]]) -> str:
    missing = sorted(expected.keys() - found.keys())
    unexpected = sorted(found.keys() - expected.keys())
    reshaped = sorted(k for k in expected.keys() & found.keys() if expected[k] != found[k])
    parts = [
        f"{label}: {', '.join(keys[:3])}{', …' if len(keys) > 3 else ''}"
        for label, keys in (("missing", missing), ("unexpected", unexpected), ("shape", reshaped))
        if keys
    ]
    return "; ".join(parts)
