"""Official Wan VAE files, loaded as diffusers AutoencoderKLWan, against the official code.

The golden files come from tools/parity/vae.py: a tiny official `WanVAE_` per version with random
weights (`sd.*`), an input video and the official encoder mean (`in.video`, `out.mu`), and a
latent with its official decode (`in.latent`, `out.decoded`). Both are un-normalised: the
official model ran with scale = (zeros, ones), and diffusers leaves normalisation to pipelines.
"""

from pathlib import Path

import pytest
import torch
from diffusers import AutoencoderKLWan
from diffusers.loaders.single_file_utils import convert_wan_vae_to_diffusers
from safetensors.torch import load_file

from kino.checkpoints.vae import (
    WAN21_LATENTS_MEAN,
    WAN21_LATENTS_STD,
    WAN22_LATENTS_MEAN,
    WAN22_LATENTS_STD,
    VaeVersion,
    key_map,
    load_official_vae,
    save_official_vae,
)
from kino.errors import CheckpointError

GOLDEN = Path(__file__).parents[1] / "data" / "official"
OFFICIAL_NAMES = {"vae21": "Wan2.1_VAE.pth", "vae22": "Wan2.2_VAE.pth"}


def load_golden(name: str) -> dict[str, torch.Tensor]:
    return load_file(GOLDEN / f"{name}.safetensors")


def official_state_dict(golden: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {key.removeprefix("sd."): value for key, value in golden.items() if key[:3] == "sd."}


def write_official(golden: dict[str, torch.Tensor], folder: Path, name: str) -> Path:
    path = folder / OFFICIAL_NAMES[name]
    torch.save(official_state_dict(golden), path)
    return path


@pytest.mark.parametrize("name", ["vae21", "vae22"])
def test_matches_the_official_encode_and_decode(name: str, tmp_path: Path) -> None:
    golden = load_golden(name)
    vae = load_official_vae(write_official(golden, tmp_path, name))
    with torch.no_grad():
        mu = vae.encode(golden["in.video"]).latent_dist.mode()
        # diffusers clamps the decode to [-1, 1], as the official wrapper's decode does; the
        # golden was clamped the same way, and most of its values lie inside the range.
        decoded = vae.decode(golden["in.latent"]).sample
    assert mu.shape == golden["out.mu"].shape
    assert (mu - golden["out.mu"]).abs().max() < 1e-5
    assert decoded.shape == golden["out.decoded"].shape
    # The decode runs ~30 float32 convolutions; their kernels (and so rounding) differ between
    # CPUs, which moves outputs in [-1, 1] by up to 1e-4. A wrong weight mapping moves them by
    # 0.1 or more.
    assert (decoded - golden["out.decoded"]).abs().max() < 5e-4


@pytest.mark.parametrize(
    ("name", "widths", "latents"),
    [
        ("vae21", (2, None, 16, False), (WAN21_LATENTS_MEAN, WAN21_LATENTS_STD)),
        ("vae22", (2, 3, 48, True), (WAN22_LATENTS_MEAN, WAN22_LATENTS_STD)),
    ],
)
def test_version_and_widths_come_from_the_tensors(
    name: str, widths: tuple, latents: tuple, tmp_path: Path
) -> None:
    config = load_official_vae(write_official(load_golden(name), tmp_path, name)).config
    assert (config.base_dim, config.decoder_base_dim, config.z_dim, config.is_residual) == widths
    assert (tuple(config.latents_mean), tuple(config.latents_std)) == latents


def test_other_widths_round_trip_with_neutral_latent_statistics(tmp_path: Path) -> None:
    torch.manual_seed(0)
    vae = AutoencoderKLWan(
        base_dim=4,
        decoder_base_dim=2,
        z_dim=4,
        is_residual=True,
        in_channels=12,
        out_channels=12,
        patch_size=2,
        scale_factor_spatial=16,
    )
    save_official_vae(vae, tmp_path / "Wan2.2_VAE.pth")
    loaded = load_official_vae(tmp_path / "Wan2.2_VAE.pth")
    assert (loaded.config.base_dim, loaded.config.decoder_base_dim) == (4, 2)
    assert loaded.config.latents_mean == [0.0] * 4
    assert loaded.config.latents_std == [1.0] * 4
    for key, value in vae.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key


@pytest.mark.parametrize("name", ["vae21", "vae22"])
def test_save_official_restores_the_official_file(name: str, tmp_path: Path) -> None:
    golden = load_golden(name)
    expected = official_state_dict(golden)
    path = tmp_path / "saved.pth"
    save_official_vae(load_official_vae(write_official(golden, tmp_path, name)), path)
    saved = torch.load(path, weights_only=True)
    assert saved.keys() == expected.keys()
    for key, value in expected.items():
        assert torch.equal(saved[key], value), key


def test_wan21_key_map_agrees_with_the_diffusers_converter() -> None:
    state_dict = official_state_dict(load_golden("vae21"))
    ours = {key_map(VaeVersion.WAN21)[key]: value for key, value in state_dict.items()}
    theirs = convert_wan_vae_to_diffusers(state_dict)
    assert ours.keys() == theirs.keys()
    assert all(ours[key] is theirs[key] for key in ours)


def test_casts_to_the_requested_dtype(tmp_path: Path) -> None:
    vae = load_official_vae(write_official(load_golden("vae22"), tmp_path, "vae22"), torch.bfloat16)
    assert {param.dtype for param in vae.parameters()} == {torch.bfloat16}
    assert not vae.training


@pytest.mark.parametrize("content", ["not a checkpoint", "missing block", "other model"])
def test_a_wrong_file_raises_checkpoint_error(content: str, tmp_path: Path) -> None:
    path = tmp_path / OFFICIAL_NAMES["vae21"]
    if content == "not a checkpoint":
        path.write_text("hello")
    elif content == "missing block":
        state_dict = official_state_dict(load_golden("vae21"))
        del state_dict["decoder.upsamples.4.shortcut.weight"]
        torch.save(state_dict, path)
    else:
        torch.save({"blocks.0.attn.q.weight": torch.zeros(8, 8)}, path)
    with pytest.raises(CheckpointError, match=OFFICIAL_NAMES["vae21"]) as raised:
        load_official_vae(path)
    assert "\n" not in str(raised.value)
