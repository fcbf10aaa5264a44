"""Write the golden file that pins kino's UMT5 loader to the official Wan T5 encoder.

Builds a tiny official `T5Encoder` (same code path as umt5-xxl: encoder only, a relative
position embedding per block) with seeded random weights, runs it in float32 on padded ids
the way the official `T5EncoderModel.__call__` does, and saves
`sd.<official key>`, `in.ids`, `in.mask` and `out.context.<i>` (the trimmed rows the official
`__call__` returns) to `t5.safetensors`.

    python tools/parity/t5.py --wan21 /tmp/Wan-Video+Wan2.1 --out tests/data/official
"""

import argparse
import importlib
import sys
import types
from pathlib import Path
from unittest import mock

import torch
from safetensors.torch import save_file
from torch import nn

SEED = 0
TEXT_LEN = 512
# The second prompt is long enough to reach the clamped relative-distance buckets (>= 128).
LENGTHS = (7, 200)
PAD_ID = 0
EOS_ID = 1


def import_official_t5(wan21: Path) -> types.ModuleType:
    # Register bare `wan` packages so that only wan/modules/t5.py runs, not wan/__init__.py.
    for name, folder in (("wan", wan21 / "wan"), ("wan.modules", wan21 / "wan" / "modules")):
        package = types.ModuleType(name)
        package.__path__ = [str(folder)]
        sys.modules[name] = package
    # `T5EncoderModel.__init__` has `device=torch.cuda.current_device()` as a default argument,
    # evaluated at import time, which fails on a machine without CUDA.
    with mock.patch("torch.cuda.current_device", return_value=0):
        return importlib.import_module("wan.modules.t5")


def randomise(model: nn.Module, generator: torch.Generator) -> None:
    with torch.no_grad():
        for module in model.modules():
            for param in module.parameters(recurse=False):
                noise = torch.randn(param.shape, generator=generator)
                if isinstance(module, nn.Linear):
                    param.copy_(noise / param.shape[1] ** 0.5)
                elif param.ndim == 1:  # RMS norm scales
                    param.copy_(1 + 0.2 * noise)
                else:  # token and relative position embeddings
                    param.copy_(noise)


def padded_ids(generator: torch.Generator, vocab: int) -> tuple[torch.Tensor, torch.Tensor]:
    ids = torch.full((len(LENGTHS), TEXT_LEN), PAD_ID, dtype=torch.long)
    mask = torch.zeros((len(LENGTHS), TEXT_LEN), dtype=torch.long)
    for row, length in enumerate(LENGTHS):
        ids[row, : length - 1] = torch.randint(2, vocab, (length - 1,), generator=generator)
        ids[row, length - 1] = EOS_ID
        mask[row, :length] = 1
    return ids, mask


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wan21", type=Path, required=True, help="official Wan2.1 repository")
    parser.add_argument("--out", type=Path, required=True, help="folder for t5.safetensors")
    args = parser.parse_args()

    t5 = import_official_t5(args.wan21)
    generator = torch.Generator().manual_seed(SEED)
    model = t5.T5Encoder(
        vocab=256,
        dim=32,
        dim_attn=32,
        dim_ffn=64,
        num_heads=4,
        num_layers=2,
        num_buckets=32,
        shared_pos=False,
        dropout=0.0,
    ).eval()
    randomise(model, generator)
    ids, mask = padded_ids(generator, vocab=256)

    # As in the official T5EncoderModel.__call__.
    with torch.no_grad():
        context = model(ids, mask)
    seq_lens = mask.gt(0).sum(dim=1).long()
    trimmed = [u[:v] for u, v in zip(context, seq_lens, strict=True)]

    golden = {f"sd.{key}": value.contiguous() for key, value in model.state_dict().items()}
    golden |= {"in.ids": ids, "in.mask": mask}
    golden |= {f"out.context.{i}": rows.contiguous() for i, rows in enumerate(trimmed)}
    args.out.mkdir(parents=True, exist_ok=True)
    save_file(golden, args.out / "t5.safetensors")


if __name__ == "__main__":
    main()
