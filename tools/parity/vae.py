"""Generate golden VAE references with the official Wan code.

    python tools/parity/vae.py --wan21 /tmp/Wan-Video+Wan2.1 --wan22 /tmp/Wan-Video+Wan2.2 \
        --out tests/data/official

For each of Wan2.1 and Wan2.2 this builds a tiny official `WanVAE_` (the real block structure,
narrow widths), fills every parameter with seeded random values, runs the official encode and
decode in fp32 and writes one safetensors file:

    sd.<official key>  the official state dict, exactly as `WanVAE_.state_dict()` names it
    in.video           input video in [-1, 1], shape (1, 3, T, H, W)
    out.mu             official encoder mean, before the latent normalisation
    in.latent          latent fed to the decoder
    out.decoded        official decode of `in.latent`, clamped to [-1, 1] as the wrapper does

The official wrappers (`WanVAE`, `Wan2_2_VAE`) normalise latents with per-channel mean/std. Here
the model is called with scale = (zeros, ones), so the golden values are un-normalised, which is
what diffusers' `AutoencoderKLWan` computes (pipelines normalise outside the VAE).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import torch
from safetensors.torch import save_file

SEED = 20250101
# Both official wrappers build the model with this schedule (time is not downsampled first).
TEMPORAL_DOWNSAMPLE = [False, True, True]


@dataclass(frozen=True)
class GoldenCase:
    name: str
    module_path: str  # official VAE module, relative to the repository root
    model_kwargs: dict[str, int]
    video_shape: tuple[int, ...]
    latent_shape: tuple[int, ...]


WAN21 = GoldenCase(
    name="vae21",
    module_path="wan/modules/vae.py",
    model_kwargs={"dim": 2, "z_dim": 16},
    # 9 frames: encoded in chunks of 1 + 4 + 4, so every cache path runs.
    video_shape=(1, 3, 9, 16, 24),
    # 3 latent frames: the decoder's upsample cache goes through its 'Rep' and tensor states.
    latent_shape=(1, 16, 3, 2, 3),
)

WAN22 = GoldenCase(
    name="vae22",
    module_path="wan/modules/vae2_2.py",
    # dec_dim differs from dim, as in the real model (160 / 256), so the loader must infer both.
    model_kwargs={"dim": 2, "dec_dim": 3, "z_dim": 48},
    video_shape=(1, 3, 5, 16, 32),
    latent_shape=(1, 48, 3, 2, 2),
)


def import_by_path(name: str, path: Path) -> ModuleType:
    """Import one official file without importing its package (whose __init__ pulls in
    torchvision, flash_attn and the rest of the pipeline)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def randomise(model: torch.nn.Module, generator: torch.Generator) -> None:
    """Replace every parameter, including RMS-norm gammas and the zero-initialised attention
    projections, so that a wrong key mapping cannot hide behind a default value."""
    with torch.no_grad():
        for name, param in model.named_parameters():
            noise = torch.randn(param.shape, generator=generator)
            if name.endswith("gamma"):
                param.copy_(1.0 + 0.3 * noise)
            elif name.endswith("bias"):
                param.copy_(0.1 * noise)
            else:
                fan_in = param[0].numel()
                param.copy_(noise / fan_in**0.5)


def build_golden(case: GoldenCase, repo: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    module_file = repo / case.module_path
    official = import_by_path(f"official_{case.name}", module_file)
    torch.manual_seed(SEED)
    model = official.WanVAE_(**case.model_kwargs, temperal_downsample=TEMPORAL_DOWNSAMPLE).eval()
    generator = torch.Generator().manual_seed(SEED)
    randomise(model, generator)

    z_dim = case.model_kwargs["z_dim"]
    identity_scale = [torch.zeros(z_dim), torch.ones(z_dim)]
    video = torch.rand(case.video_shape, generator=generator) * 2 - 1
    latent = torch.randn(case.latent_shape, generator=generator)
    with torch.no_grad():
        mu = model.encode(video, identity_scale)
        raw = model.decode(latent, identity_scale)
    decoded = raw.float().clamp(-1, 1)

    tensors = {f"sd.{key}": value.contiguous() for key, value in model.state_dict().items()}
    tensors |= {"in.video": video, "out.mu": mu, "in.latent": latent, "out.decoded": decoded}
    metadata = {
        "official_module": case.module_path,
        "official_module_sha256": hashlib.sha256(module_file.read_bytes()).hexdigest(),
        "model_kwargs": json.dumps(case.model_kwargs),
        "temperal_downsample": json.dumps(TEMPORAL_DOWNSAMPLE),
        "seed": str(SEED),
        "torch": torch.__version__,
        "decoded_clamped_fraction": f"{(raw.abs() > 1).float().mean().item():.4f}",
    }
    return tensors, metadata


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wan21", type=Path, required=True, help="official Wan2.1 repository")
    parser.add_argument("--wan22", type=Path, required=True, help="official Wan2.2 repository")
    parser.add_argument("--out", type=Path, required=True, help="folder for the golden files")
    args = parser.parse_args()

    args.out.mkdir(parents=True, exist_ok=True)
    for repo, case in ((args.wan21, WAN21), (args.wan22, WAN22)):
        tensors, metadata = build_golden(case, repo)
        path = args.out / f"{case.name}.safetensors"
        save_file(tensors, path, metadata=metadata)
        print(
            f"{path}: {path.stat().st_size / 1024:.0f} KiB, "
            f"{sum(k.startswith('sd.') for k in tensors)} official keys, "
            f"decoded clamped fraction {metadata['decoded_clamped_fraction']}"
        )


if __name__ == "__main__":
    main()
