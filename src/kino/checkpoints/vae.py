"""Official Wan VAE checkpoints (`Wan2.1_VAE.pth`, `Wan2.2_VAE.pth`) <-> diffusers AutoencoderKLWan.

The official files are plain `torch.save`d state dicts of `WanVAE_` (wan/modules/vae.py in Wan2.1,
wan/modules/vae2_2.py in Wan2.2). diffusers has the same modules under other names; `key_map`
is the one place that knows how the names correspond, in both directions.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from diffusers import AutoencoderKLWan

from kino.checkpoints.pth import read_state_dict
from kino.errors import CheckpointError


class VaeVersion(enum.Enum):
    WAN21 = "Wan2.1"
    WAN22 = "Wan2.2"


# The block structure every official Wan VAE uses; only the widths vary between checkpoints.
DIM_MULT = (1, 2, 4, 4)
NUM_RES_BLOCKS = 2
TEMPORAL_DOWNSAMPLE = (False, True, True)

# Latent normalisation constants from the official wrappers (`WanVAE` in Wan2.1 vae.py,
# `Wan2_2_VAE` in Wan2.2 vae2_2.py). Pipelines apply them outside the VAE.
WAN21_LATENTS_MEAN = (
    -0.7571, -0.7089, -0.9113, 0.1075, -0.1745, 0.9653, -0.1517, 1.5508,
    0.4134, -0.0715, 0.5517, -0.3632, -0.1922, -0.9497, 0.2503, -0.2921,
)  # fmt: skip
WAN21_LATENTS_STD = (
    2.8184, 1.4541, 2.3275, 2.6558, 1.2196, 1.7708, 2.6052, 2.0743,
    3.2687, 2.1526, 2.8652, 1.5579, 1.6382, 1.1253, 2.8251, 1.9160,
)  # fmt: skip
WAN22_LATENTS_MEAN = (
    -0.2289, -0.0052, -0.1323, -0.2339, -0.2799, 0.0174, 0.1838, 0.1557,
    -0.1382, 0.0542, 0.2813, 0.0891, 0.1570, -0.0098, 0.0375, -0.1825,
    -0.2246, -0.1207, -0.0698, 0.5109, 0.2665, -0.2108, -0.2158, 0.2502,
    -0.2055, -0.0322, 0.1109, 0.1567, -0.0729, 0.0899, -0.2799, -0.1230,
    -0.0313, -0.1649, 0.0117, 0.0723, -0.2839, -0.2083, -0.0520, 0.3748,
    0.0152, 0.1957, 0.1433, -0.2944, 0.3573, -0.0548, -0.1681, -0.0667,
)  # fmt: skip
WAN22_LATENTS_STD = (
    0.4765, 1.0364, 0.4514, 1.1677, 0.5313, 0.4990, 0.4818, 0.5013,
    0.8158, 1.0344, 0.5894, 1.0901, 0.6885, 0.6165, 0.8454, 0.4978,
    0.5759, 0.3523, 0.7135, 0.6804, 0.5833, 1.4146, 0.8986, 0.5659,
    0.7069, 0.5338, 0.4889, 0.4917, 0.4069, 0.4999, 0.6866, 0.4093,
    0.5709, 0.6065, 0.6415, 0.4944, 0.5726, 1.2042, 0.5458, 1.6887,
    0.3971, 1.0600, 0.3943, 0.5537, 0.5444, 0.4089, 0.7468, 0.7744,
)  # fmt: skip
LATENTS_STATS = {
    VaeVersion.WAN21: (WAN21_LATENTS_MEAN, WAN21_LATENTS_STD),
    VaeVersion.WAN22: (WAN22_LATENTS_MEAN, WAN22_LATENTS_STD),
}

# Parameter names inside one block, official -> diffusers.
RESNET_PARAMS = {
    "residual.0.gamma": "norm1.gamma",
    "residual.2.weight": "conv1.weight",
    "residual.2.bias": "conv1.bias",
    "residual.3.gamma": "norm2.gamma",
    "residual.6.weight": "conv2.weight",
    "residual.6.bias": "conv2.bias",
    "shortcut.weight": "conv_shortcut.weight",
    "shortcut.bias": "conv_shortcut.bias",
}
ATTENTION_PARAMS = {
    name: name
    for name in ("norm.gamma", "to_qkv.weight", "to_qkv.bias", "proj.weight", "proj.bias")
}
RESAMPLE_PARAMS = {
    name: name
    for name in ("resample.1.weight", "resample.1.bias", "time_conv.weight", "time_conv.bias")
}
CONV_PARAMS = {"weight": "weight", "bias": "bias"}
NORM_PARAMS = {"gamma": "gamma"}


def _block_map(version: VaeVersion) -> list[tuple[str, str, dict[str, str]]]:
    """(official block path, diffusers block path, parameter names) for every block."""
    blocks = [("conv1", "quant_conv", CONV_PARAMS), ("conv2", "post_quant_conv", CONV_PARAMS)]
    for part in ("encoder", "decoder"):
        blocks += [
            (f"{part}.conv1", f"{part}.conv_in", CONV_PARAMS),
            (f"{part}.middle.0", f"{part}.mid_block.resnets.0", RESNET_PARAMS),
            (f"{part}.middle.1", f"{part}.mid_block.attentions.0", ATTENTION_PARAMS),
            (f"{part}.middle.2", f"{part}.mid_block.resnets.1", RESNET_PARAMS),
            (f"{part}.head.0", f"{part}.norm_out", NORM_PARAMS),
            (f"{part}.head.2", f"{part}.conv_out", CONV_PARAMS),
        ]
    encoder_resnets, decoder_resnets = NUM_RES_BLOCKS, NUM_RES_BLOCKS + 1
    for stage in range(len(DIM_MULT)):
        if version is VaeVersion.WAN21:
            # Official Wan2.1 keeps each stack as one flat list: per stage its resnets, then a
            # resample. diffusers keeps the encoder flat too, but groups the decoder by stage.
            enc_first = stage * (encoder_resnets + 1)
            dec_first = stage * (decoder_resnets + 1)
            enc = [
                (f"encoder.downsamples.{enc_first + j}", f"encoder.down_blocks.{enc_first + j}")
                for j in range(encoder_resnets)
            ]
            enc_resample = (
                f"encoder.downsamples.{enc_first + encoder_resnets}",
                f"encoder.down_blocks.{enc_first + encoder_resnets}",
            )
            dec = [
                (f"decoder.upsamples.{dec_first + j}", f"decoder.up_blocks.{stage}.resnets.{j}")
                for j in range(decoder_resnets)
            ]
            dec_resample = (
                f"decoder.upsamples.{dec_first + decoder_resnets}",
                f"decoder.up_blocks.{stage}.upsamplers.0",
            )
        else:
            enc_stage, dec_stage = f"encoder.downsamples.{stage}", f"decoder.upsamples.{stage}"
            enc = [
                (f"{enc_stage}.downsamples.{j}", f"encoder.down_blocks.{stage}.resnets.{j}")
                for j in range(encoder_resnets)
            ]
            enc_resample = (
                f"{enc_stage}.downsamples.{encoder_resnets}",
                f"encoder.down_blocks.{stage}.downsampler",
            )
            dec = [
                (f"{dec_stage}.upsamples.{j}", f"decoder.up_blocks.{stage}.resnets.{j}")
                for j in range(decoder_resnets)
            ]
            dec_resample = (
                f"{dec_stage}.upsamples.{decoder_resnets}",
                f"decoder.up_blocks.{stage}.upsampler",
            )
        blocks += [(official, ours, RESNET_PARAMS) for official, ours in enc + dec]
        if stage < len(DIM_MULT) - 1:  # the last stage has no resample
            blocks += [(*enc_resample, RESAMPLE_PARAMS), (*dec_resample, RESAMPLE_PARAMS)]
    return blocks


@functools.cache
def key_map(version: VaeVersion) -> dict[str, str]:
    """Official key -> diffusers key. Covers optional parameters (shortcuts, time convs) in every
    block that could have them; which ones exist depends on the widths and is checked on load."""
    return {
        f"{official}.{official_param}": f"{ours}.{our_param}"
        for official, ours, params in _block_map(version)
        for official_param, our_param in params.items()
    }


def detect_version(state_dict: Mapping[str, torch.Tensor]) -> VaeVersion:
    """Wan2.2 nests each encoder stage (`encoder.downsamples.0.downsamples.0`); Wan2.1 is flat."""
    if "encoder.downsamples.0.downsamples.0.residual.0.gamma" in state_dict:
        return VaeVersion.WAN22
    if "encoder.downsamples.0.residual.0.gamma" in state_dict:
        return VaeVersion.WAN21
    raise CheckpointError("not a Wan2.1 or Wan2.2 VAE (no encoder.downsamples.0 block)")


def _config(version: VaeVersion, state_dict: Mapping[str, torch.Tensor]) -> dict[str, Any]:
    for key in ("encoder.conv1.weight", "conv2.weight", "decoder.head.2.weight"):
        if key not in state_dict:
            raise CheckpointError(f"{version.value} VAE without {key}")
    base_dim = state_dict["encoder.conv1.weight"].shape[0]
    z_dim = state_dict["conv2.weight"].shape[0]
    mean, std = LATENTS_STATS[version]
    if len(mean) != z_dim:  # a tiny test checkpoint: no official statistics
        mean, std = (0.0,) * z_dim, (1.0,) * z_dim
    config: dict[str, Any] = {
        "base_dim": base_dim,
        "z_dim": z_dim,
        "dim_mult": list(DIM_MULT),
        "num_res_blocks": NUM_RES_BLOCKS,
        "attn_scales": [],
        "temperal_downsample": list(TEMPORAL_DOWNSAMPLE),
        "dropout": 0.0,
        "latents_mean": list(mean),
        "latents_std": list(std),
        "scale_factor_temporal": 4,
    }
    if version is VaeVersion.WAN21:
        return config | {
            "decoder_base_dim": None,
            "is_residual": False,
            "in_channels": 3,
            "out_channels": 3,
            "patch_size": None,
            "scale_factor_spatial": 8,
        }
    # Wan2.2 folds 2x2 pixels into channels (3 * 4 = 12) and has a wider decoder than encoder.
    return config | {
        "decoder_base_dim": state_dict["decoder.head.2.weight"].shape[1],
        "is_residual": True,
        "in_channels": 12,
        "out_channels": 12,
        "patch_size": 2,
        "scale_factor_spatial": 16,
    }


def convert_vae_state_dict(
    state_dict: Mapping[str, torch.Tensor],
) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """Official Wan2.1 or Wan2.2 VAE state dict -> (AutoencoderKLWan config, diffusers state
    dict). Widths come from tensor shapes, so narrower test checkpoints convert too."""
    version = detect_version(state_dict)
    names = key_map(version)
    unknown = [key for key in state_dict if key not in names]
    if unknown:
        raise CheckpointError(
            f"{len(unknown)} keys unknown to the {version.value} VAE layout, e.g. {unknown[0]!r}"
        )
    converted = {names[key]: tensor for key, tensor in state_dict.items()}
    return _config(version, state_dict), converted


def _check_fits(vae: AutoencoderKLWan, state_dict: Mapping[str, torch.Tensor]) -> None:
    """One-line errors, in official key names, for what load_state_dict would report as a
    multi-line RuntimeError in diffusers names."""
    expected = vae.state_dict()
    official = {ours: theirs for theirs, ours in key_map(_version_of(vae)).items()}
    missing = sorted(official[key] for key in expected.keys() - state_dict.keys())
    unexpected = sorted(official[key] for key in state_dict.keys() - expected.keys())
    for problem, keys in (("missing", missing), ("unexpected", unexpected)):
        if keys:
            raise CheckpointError(f"{len(keys)} {problem} keys, e.g. {keys[0]!r}")
    for key, tensor in state_dict.items():
        if tensor.shape != expected[key].shape:
            raise CheckpointError(
                f"{official[key]} has shape {tuple(tensor.shape)}, expected "
                f"{tuple(expected[key].shape)} from the widths of the other layers"
            )


def _version_of(vae: AutoencoderKLWan) -> VaeVersion:
    return VaeVersion.WAN22 if vae.config.is_residual else VaeVersion.WAN21


def load_official_vae(path: Path, dtype: torch.dtype = torch.float32) -> AutoencoderKLWan:
    """Load Wan2.1_VAE.pth / Wan2.2_VAE.pth as a diffusers AutoencoderKLWan in eval mode."""
    state_dict = read_state_dict(path)
    try:
        config, converted = convert_vae_state_dict(state_dict)
        with torch.device("meta"):
            vae = AutoencoderKLWan(**config)
        _check_fits(vae, converted)
    except CheckpointError as exc:
        raise CheckpointError(f"{path}: {exc}") from exc
    # Cast the tensors, not the module: a float32 file then stays memory-mapped.
    converted = {key: tensor.to(dtype) for key, tensor in converted.items()}
    vae.load_state_dict(converted, strict=True, assign=True)
    return vae.eval()


def save_official_vae(vae: AutoencoderKLWan, path: Path) -> None:
    """Write a diffusers AutoencoderKLWan as an official-layout .pth (a plain state dict)."""
    # Other widths, block counts or attention scales show up as unmapped keys; a different
    # temporal schedule would not (it only moves time convs), so it is checked by name.
    if list(vae.config.temperal_downsample) != list(TEMPORAL_DOWNSAMPLE):
        raise CheckpointError(
            f"temperal_downsample {vae.config.temperal_downsample} has no official layout"
        )
    official = {ours: theirs for theirs, ours in key_map(_version_of(vae)).items()}
    state_dict = vae.state_dict()
    unknown = [key for key in state_dict if key not in official]
    if unknown:
        raise CheckpointError(f"{len(unknown)} keys have no official name, e.g. {unknown[0]!r}")
    torch.save({official[key]: tensor for key, tensor in state_dict.items()}, path)
