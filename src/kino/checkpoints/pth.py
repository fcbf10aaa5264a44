"""Official `.pth` state dicts, memory-mapped so that large files are not read into RAM."""

from __future__ import annotations

import pickle
import textwrap
import zipfile
from collections.abc import Mapping
from pathlib import Path

import torch

from kino.errors import CheckpointError


def one_line(error: Exception) -> str:
    return textwrap.shorten(str(error) or type(error).__name__, width=300, placeholder=" ...")


def read_state_dict(path: Path) -> Mapping[str, torch.Tensor]:
    if not path.is_file():
        raise CheckpointError(f"{path}: no such file")
    # torch.save has written zip archives since torch 1.6, and only those can be memory-mapped.
    if not zipfile.is_zipfile(path):
        raise CheckpointError(f"{path}: not a PyTorch checkpoint (not a torch.save zip archive)")
    try:
        state_dict = torch.load(path, mmap=True, weights_only=True, map_location="cpu")
    except pickle.UnpicklingError:
        raise CheckpointError(f"{path}: holds objects other than tensors") from None
    except (OSError, RuntimeError, EOFError) as error:
        raise CheckpointError(
            f"{path}: cannot read as a PyTorch checkpoint ({one_line(error)})"
        ) from None
    if not isinstance(state_dict, Mapping) or not all(
        isinstance(value, torch.Tensor) for value in state_dict.values()
    ):
        raise CheckpointError(f"{path}: not a state dict of tensors")
    return state_dict
