"""Write DiT parity goldens by running tiny official Wan models.

    python tools/parity/dit.py --wan21 /tmp/Wan-Video+Wan2.1 --wan22 /tmp/Wan-Video+Wan2.2 \
        --out tests/data/official

For each model type this builds a tiny official `WanModel` (Wan2.1: t2v, i2v, flf2v; Wan2.2: t2v,
i2v, ti2v), fills every parameter from a seeded generator, runs the official forward in fp32 and
writes `dit_<wan21|wan22>_<type>.safetensors` holding:

- `sd.<official key>`: the weights, as the official state dict names them, in bfloat16: every
  value was drawn bf16-representable, so `.float()` gives the fp32 weights the model ran with;
- `in.x`, `in.t`, `in.context` and, where the type takes them, `in.y`, `in.clip_fea`;
- `out.x`: the official output `[C_out, F, H, W]`;
- `lowrank.<name>.u` / `lowrank.<name>.v`: tensors 1280 wide (the CLIP width the official code
  hard-codes) are stored as rank-4 bf16 factors to keep each file small; `<name>` (an `sd.*` or
  `in.*` name) is `(u.double() @ v.double()).float()`, the exact tensor the official model saw.

Its metadata holds `config.json` (the text `save_pretrained` writes) and `index.json` (the index
`save_pretrained(max_shard_size=<max_shard_bytes>)` writes, with `max_shard_bytes`).

The official attention needs CUDA and flash_attn; it is swapped for an fp32 SDPA equivalent.
"""

import argparse
import importlib
import json
import sys
import tempfile
import types
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

SEED = 20250607
CLIP_DIM = 1280
RANK = 4
FRAMES, HEIGHT, WIDTH = 2, 8, 8
CONTEXT_TOKENS = 7
MAX_SHARD_BYTES = 60_000

TINY = dict(dim=32, ffn_dim=64, freq_dim=256, text_dim=32, num_heads=2, num_layers=2, text_len=512)


@dataclass(frozen=True)
class Case:
    release: str  # "wan21" | "wan22"
    model_type: str
    in_dim: int
    out_dim: int
    timestep: int
    clip_images: int  # CLIP feature sets fed to img_emb: 0, 1 (i2v) or 2 (flf2v)
    y_channels: int  # conditioning channels concatenated to x
    per_token_t: bool  # Wan2.2 ti2v: one timestep per token, 0 on the first latent frame


CASES = (
    Case("wan21", "t2v", 16, 16, 999, 0, 0, False),
    Case("wan21", "i2v", 36, 16, 751, 1, 20, False),
    Case("wan21", "flf2v", 36, 16, 500, 2, 20, False),
    Case("wan22", "t2v", 16, 16, 999, 0, 0, False),
    Case("wan22", "i2v", 36, 16, 875, 0, 20, False),
    Case("wan22", "ti2v", 48, 48, 937, 0, 0, True),
)


def sdpa_attention(q, k, v, q_lens=None, k_lens=None, **_):
    """`flash_attention` on [B, L, N, D] inputs, in fp32, masking keys past k_lens."""
    b, lq, lk = q.size(0), q.size(1), k.size(1)
    mask = None
    if k_lens is not None:
        keys = torch.arange(lk).view(1, lk) < k_lens.view(b, 1)
        mask = keys.view(b, 1, 1, lk)
    out = F.scaled_dot_product_attention(
        q.transpose(1, 2).float(), k.transpose(1, 2).float(), v.transpose(1, 2).float(), mask
    ).transpose(1, 2)
    if q_lens is not None:
        queries = torch.arange(lq).view(1, lq) < q_lens.view(b, 1)
        out = out * queries.view(b, lq, 1, 1)
    return out.type(q.dtype)


def import_official_model(repo: Path, package: str) -> types.ModuleType:
    """Import `<repo>/wan/modules/model.py` alone, as `<package>.modules.model`."""
    root = types.ModuleType(package)
    root.__path__ = [str(repo / "wan")]
    modules = types.ModuleType(f"{package}.modules")
    modules.__path__ = [str(repo / "wan" / "modules")]
    sys.modules[package] = root
    sys.modules[f"{package}.modules"] = modules
    model = importlib.import_module(f"{package}.modules.model")
    model.flash_attention = sdpa_attention
    return model


def lowrank(shape: tuple[int, ...], scale: float, g: torch.Generator) -> dict[str, torch.Tensor]:
    u = torch.randn(*shape[:-1], RANK, generator=g) / RANK**0.5
    v = torch.randn(RANK, shape[-1], generator=g) * scale
    return {"u": u.bfloat16(), "v": v.bfloat16()}


def expand(factors: dict[str, torch.Tensor]) -> torch.Tensor:
    return (factors["u"].double() @ factors["v"].double()).float()


def randomise(model: torch.nn.Module, g: torch.Generator) -> dict[str, dict[str, torch.Tensor]]:
    """Fill every parameter with bf16-representable values; return the factors of the wide ones."""
    factors = {}
    for name, p in model.named_parameters():
        if p.ndim >= 2 and p.shape[-1] == CLIP_DIM:
            scale = 0.1 if name.endswith("emb_pos") else p.shape[-1] ** -0.5
            factors[f"sd.{name}"] = lowrank(tuple(p.shape), scale, g)
            p.copy_(expand(factors[f"sd.{name}"]))
            continue
        if name.endswith("modulation"):
            value = torch.randn(p.shape, generator=g) * p.shape[-1] ** -0.5
        elif p.ndim >= 2:
            value = torch.randn(p.shape, generator=g) * p[0].numel() ** -0.5
        elif name.endswith("weight"):  # a norm's scale
            value = 1 + 0.1 * torch.randn(p.shape, generator=g)
        else:
            value = 0.1 * torch.randn(p.shape, generator=g)
        p.copy_(value.bfloat16())
    return factors


def run_case(case: Case, module: types.ModuleType, out: Path) -> None:
    g = torch.Generator().manual_seed(SEED)
    model = module.WanModel(
        model_type=case.model_type, in_dim=case.in_dim, out_dim=case.out_dim, **TINY
    ).eval()
    factors = randomise(model, g)

    latent_channels = case.in_dim - case.y_channels
    seq_len = FRAMES * (HEIGHT // 2) * (WIDTH // 2)
    inputs = {
        "in.x": torch.randn(latent_channels, FRAMES, HEIGHT, WIDTH, generator=g),
        "in.context": torch.randn(CONTEXT_TOKENS, TINY["text_dim"], generator=g),
    }
    if case.per_token_t:
        first_frame = seq_len // FRAMES
        inputs["in.t"] = torch.cat(
            [torch.zeros(first_frame), torch.full((seq_len - first_frame,), float(case.timestep))]
        ).unsqueeze(0)
    else:
        inputs["in.t"] = torch.tensor([case.timestep], dtype=torch.int64)
    kwargs = {}
    if case.y_channels:
        inputs["in.y"] = torch.randn(case.y_channels, FRAMES, HEIGHT, WIDTH, generator=g)
        kwargs["y"] = [inputs["in.y"]]
    if case.clip_images:
        factors["in.clip_fea"] = lowrank((case.clip_images, 257, CLIP_DIM), 1.0, g)
        kwargs["clip_fea"] = expand(factors["in.clip_fea"])

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        x = model(
            [inputs["in.x"]],
            t=inputs["in.t"],
            context=[inputs["in.context"]],
            seq_len=seq_len,
            **kwargs,
        )[0]

    state = {f"sd.{k}": v.bfloat16() for k, v in model.state_dict().items()}
    tensors = {
        **{name: t for name, t in state.items() if name not in factors},
        **inputs,
        "out.x": x,
        **{f"lowrank.{name}.{part}": t for name, f in factors.items() for part, t in f.items()},
    }
    with tempfile.TemporaryDirectory() as tmp:
        model.save_pretrained(tmp, max_shard_size=MAX_SHARD_BYTES)
        index = (Path(tmp) / "diffusion_pytorch_model.safetensors.index.json").read_text()
        config = (Path(tmp) / "config.json").read_text()
    metadata = {"config.json": config, "index.json": index, "max_shard_bytes": str(MAX_SHARD_BYTES)}
    path = out / f"dit_{case.release}_{case.model_type}.safetensors"
    save_file(tensors, path, metadata=metadata)
    print(f"{path}: {path.stat().st_size / 1024:.0f} KiB, |out| max {x.abs().max():.3f}")
    print(json.dumps(json.loads(config)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wan21", type=Path, required=True, help="official Wan2.1 checkout")
    parser.add_argument("--wan22", type=Path, required=True, help="official Wan2.2 checkout")
    parser.add_argument("--out", type=Path, required=True, help="folder for the goldens")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    torch.set_grad_enabled(False)
    modules = {
        "wan21": import_official_model(args.wan21, "official_wan21"),
        "wan22": import_official_model(args.wan22, "official_wan22"),
    }
    for case in CASES:
        run_case(case, modules[case.release], args.out)


if __name__ == "__main__":
    main()
