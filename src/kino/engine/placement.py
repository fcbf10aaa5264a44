"""Where modules live between stages: on the accelerator, or parked on the CPU (offload)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

CPU = torch.device("cpu")


class Placement:
    """Moves modules to the device for a stage; with offload, back to the CPU afterwards."""

    def __init__(self, device: torch.device, offload: bool) -> None:
        self.device = device
        self.offload = offload and device.type != "cpu"

    def bring(self, module: nn.Module, device: torch.device | None = None) -> nn.Module:
        target = device or self.device
        if next(module.parameters()).device != target:
            module.to(target)
        return module

    def park(self, module: nn.Module) -> None:
        if self.offload:
            module.to(CPU)
            if torch.cuda.is_available():
                torch.cuda.empty_cache()

    @contextmanager
    def stage(self, module: nn.Module, device: torch.device | None = None) -> Iterator[nn.Module]:
        yield self.bring(module, device)
        self.park(module)
