"""How the engine runs: device, dtypes and memory modes. Not part of a spec: the same spec gives
the same video whatever the memory mode."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from kino.checkpoints.components import ComponentDtypes

DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}


def pick_device() -> torch.device:
    if torch.cuda.is_available():
        return torch.device("cuda", torch.cuda.current_device())
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


@dataclass(frozen=True)
class EngineOptions:
    device: torch.device
    # "auto": as the official code on an accelerator (T5 and DiT bf16, CLIP fp16, VAE fp32);
    # fp32 throughout on the CPU.
    dtype: str = "auto"
    offload_model: bool = True
    t5_cpu: bool = False
    convert_model_dtype: bool = False
    vae_tiling: bool = False

    @property
    def accelerated(self) -> bool:
        return self.device.type != "cpu"

    @property
    def text_device(self) -> torch.device:
        return torch.device("cpu") if self.t5_cpu else self.device

    def component_dtypes(self) -> ComponentDtypes:
        if self.dtype != "auto":
            chosen = DTYPES[self.dtype]
            dit = torch.bfloat16 if self.convert_model_dtype else chosen
            return ComponentDtypes(text=chosen, image=chosen, dit=dit, vae=torch.float32)
        if not self.accelerated:
            dit = torch.bfloat16 if self.convert_model_dtype else torch.float32
            return ComponentDtypes(torch.float32, torch.float32, dit, torch.float32)
        # The official T5 runs in bf16 even with --t5_cpu.
        return ComponentDtypes(torch.bfloat16, torch.float16, torch.bfloat16, torch.float32)
