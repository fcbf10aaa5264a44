"""Write the golden file that pins kino's CLIP loader to the official Wan CLIP image encoder.

Builds a tiny official `VisionTransformer` (wan/modules/clip.py) with the vit-huge-14 settings
Wan uses (224 px, patch 14, 16 heads, GELU, pre-norm, class token) but a small width and depth,
randomises every parameter with a fixed seed, and runs `visual(x, use_31_block=True)` in
float32 on two normalised images. Saves `sd.visual.<official key>`, the images (`in.images`,
uint8, normalised with `in.mean` and `in.std` as CLIP expects) and `out.features` to
`clip.safetensors`. The official `flash_attention` asserts CUDA; it is replaced by PyTorch SDPA.

    python tools/parity/clip.py --wan21 /tmp/Wan-Video+Wan2.1 --out tests/data/official
"""

import argparse
import importlib
import sys
import types
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from torch import nn

SEED = 0
BATCH = 2
# The normalisation of the official CLIPModel transforms.
MEAN = (0.48145466, 0.4578275, 0.40821073)
STD = (0.26862954, 0.26130258, 0.27577711)


def sdpa_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    dropout_p: float = 0.0,
    causal: bool = False,
    **_: object,
) -> torch.Tensor:
    """The official `flash_attention` contract, [B, L, N, D] in and out, on any device."""
    q, k, v = (x.transpose(1, 2) for x in (q, k, v))
    out = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p, is_causal=causal)
    return out.transpose(1, 2)


def import_official_clip(wan21: Path) -> types.ModuleType:
    # Register bare `wan` packages so that only wan/modules/clip.py and what it imports run.
    for name, folder in (("wan", wan21 / "wan"), ("wan.modules", wan21 / "wan" / "modules")):
        package = types.ModuleType(name)
        package.__path__ = [str(folder)]
        sys.modules[name] = package
    # Import transformers (through the official tokenizers module) before the stub below, so
    # that its probe for torchvision sees the real, absent, package.
    importlib.import_module("wan.modules.tokenizers")
    # clip.py uses torchvision.transforms only to build its preprocessing; none is run here.
    torchvision = types.ModuleType("torchvision")
    torchvision.transforms = types.ModuleType("torchvision.transforms")
    sys.modules["torchvision"] = torchvision
    sys.modules["torchvision.transforms"] = torchvision.transforms
    clip = importlib.import_module("wan.modules.clip")
    clip.flash_attention = sdpa_attention
    return clip


def randomise(model: nn.Module, generator: torch.Generator) -> None:
    with torch.no_grad():
        for module in model.modules():
            for name, param in module.named_parameters(recurse=False):
                noise = torch.randn(param.shape, generator=generator)
                if name == "bias":
                    param.copy_(0.1 * noise)
                elif isinstance(module, nn.LayerNorm):
                    param.copy_(1 + 0.2 * noise)
                elif isinstance(module, nn.Linear | nn.Conv2d):
                    param.copy_(noise / param[0].numel() ** 0.5)
                else:  # class and position embeddings, projection head
                    param.copy_(0.5 * noise)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wan21", type=Path, required=True, help="official Wan2.1 repository")
    parser.add_argument("--out", type=Path, required=True, help="folder for clip.safetensors")
    args = parser.parse_args()

    clip = import_official_clip(args.wan21)
    generator = torch.Generator().manual_seed(SEED)
    # The arguments XLMRobertaCLIP passes for clip_xlm_roberta_vit_h_14, narrowed and shortened.
    visual = clip.VisionTransformer(
        image_size=224,
        patch_size=14,
        dim=32,
        mlp_ratio=4,
        out_dim=16,
        num_heads=16,
        num_layers=3,
        pool_type="token",
        pre_norm=True,
        post_norm=False,
        activation="gelu",
    ).eval()
    randomise(visual, generator)

    images = torch.randint(0, 256, (BATCH, 3, 224, 224), dtype=torch.uint8, generator=generator)
    mean = torch.tensor(MEAN)
    std = torch.tensor(STD)
    pixel_values = (images.float() / 255 - mean[:, None, None]) / std[:, None, None]
    with torch.no_grad():
        features = visual(pixel_values, use_31_block=True)

    golden = {f"sd.visual.{key}": value.contiguous() for key, value in visual.state_dict().items()}
    golden |= {"in.images": images, "in.mean": mean, "in.std": std}
    golden["out.features"] = features.contiguous()
    args.out.mkdir(parents=True, exist_ok=True)
    save_file(golden, args.out / "clip.safetensors")


if __name__ == "__main__":
    main()
