"""A short `kino train` run: every stage runs, the losses fall, and a rerun resumes."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from safetensors.torch import load_file

from kino.training.config import TrainConfig
from kino.training.run import train


def _losses(stage_dir: Path, key: str) -> list[float]:
    return [json.loads(line)[key] for line in (stage_dir / "log.jsonl").read_text().splitlines()]


def _config(out: Path) -> TrainConfig:
    # With shape pairs, so that the run also proves the paired t2v batches, and narrower DiTs
    # stored in float16, so that it proves --dit_heads and --dit_fp16.
    return replace(
        TrainConfig(out_dir=out).quick(), shape_pair_weight=2.0, dit_heads=2, dit_fp16=True
    )


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("train")
    train(_config(out))
    return out


def test_every_stage_lowers_its_loss(run_dir: Path) -> None:
    vae = _losses(run_dir / "vae", "mse")
    assert len(vae) == 20
    assert np.mean(vae[-5:]) < 0.7 * np.mean(vae[:5])
    flow = _losses(run_dir / "t2v", "flow")
    assert len(flow) == 20
    assert np.mean(flow[-5:]) < np.mean(flow[:5])
    # Every t2v batch was shape pairs. A pair shares its noise, which no model predicts, so the
    # difference of its errors stays well below the flow loss; with unshared noise it would be
    # about twice the flow loss.
    pair = np.array(_losses(run_dir / "t2v", "pair"))
    assert (pair > 0).all() and (pair < 0.5 * np.array(flow)).all()


def test_the_run_exports_a_diffusers_folder_the_demo_tasks_load(run_dir: Path) -> None:
    import torch

    from kino.engine.generator import Generator
    from kino.engine.options import EngineOptions

    model = run_dir / "model"
    index = json.loads((model / "model_index.json").read_text())
    assert index["transformer"] == ["diffusers", "WanTransformer3DModel"]
    t2v = Generator.load(model, "demo-t2v", EngineOptions(device=torch.device("cpu")))
    i2v = Generator.load(model, "demo-flf2v", EngineOptions(device=torch.device("cpu")))
    assert t2v.components.transformer.config.in_channels == 16
    assert i2v.components.transformer.config.in_channels == 36
    assert len(t2v.components.vae.config.latents_mean) == 16
    for generator in (t2v, i2v):
        dit = generator.components.transformer
        assert dit.config.num_attention_heads * dit.config.attention_head_dim == 64
        assert dit.config.ffn_dim == 256
        # Stored in float16, loaded in the engine's float32 with the stored values.
        assert dit.dtype == torch.float32
    stored = load_file(model / "transformer" / "diffusion_pytorch_model.safetensors")
    assert {tensor.dtype for tensor in stored.values()} == {torch.float16}
    loaded = t2v.components.transformer.state_dict()
    assert all(torch.equal(loaded[k], v.float()) for k, v in stored.items())
    vae = load_file(model / "vae" / "diffusion_pytorch_model.safetensors")
    assert {tensor.dtype for tensor in vae.values()} == {torch.float32}


def test_a_rerun_resumes_instead_of_starting_over(run_dir: Path) -> None:
    train(replace(_config(run_dir), t2v_steps=25))
    steps = _losses(run_dir / "t2v", "step")
    assert steps == list(range(1, 26))
    # The finished VAE stage was loaded, not retrained.
    assert len(_losses(run_dir / "vae", "step")) == 20
