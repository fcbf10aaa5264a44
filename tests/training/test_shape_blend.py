"""Blended shape pairs in a t2v training step: one input per pair, σ where outlines settle."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch
from transformers import AutoTokenizer

from kino.demo import MODEL_DIR, world
from kino.demo.architecture import Z_DIM, build_text_encoder, build_transformer
from kino.engine.schedule import NUM_TRAIN_TIMESTEPS
from kino.training.dit_stage import BLEND_SIGMA, DitData, DitTrainer, ShapePartners

PAIRS = 4


def _trainer(shape_blend: float) -> DitTrainer:
    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(MODEL_DIR / "tokenizer", local_files_only=True)
    scenes = world.training_scenes()[:PAIRS]
    others = [replace(s, shape="circle" if s.shape != "circle" else "square") for s in scenes]
    latents = torch.randn(2, PAIRS, Z_DIM, 5, 16, 16)
    weights = torch.ones(PAIRS, 1, 5, 16, 16)
    data = DitData(scenes, latents[0], weights)
    data.partners = ShapePartners(others, latents[1], weights)
    return DitTrainer(
        transformer=build_transformer(heads=1),
        text_encoder=build_text_encoder(len(tokenizer)),
        tokenizer=tokenizer,
        vae=None,  # only the lighting loss decodes
        data=data,
        batch=2 * PAIRS,
        shift=3.0,
        caption_drop=0.0,
        lighting_weight=0.0,
        lighting_batch=0,
        train_text=False,
        generator=torch.Generator().manual_seed(0),
        rng=np.random.default_rng(0),
        pair_weight=2.0,
        shape_blend=shape_blend,
    )


def _dit_inputs(trainer: DitTrainer) -> tuple[torch.Tensor, torch.Tensor, dict]:
    seen = {}

    def keep(module, args, kwargs):
        seen.update(kwargs)

    trainer.transformer.register_forward_pre_hook(keep, with_kwargs=True)
    losses = trainer.step_loss(0)
    return seen["hidden_states"], seen["timestep"] / NUM_TRAIN_TIMESTEPS, losses


def test_blended_pairs_show_both_captions_one_input_at_outline_noise_levels() -> None:
    noisy, sigma, losses = _dit_inputs(_trainer(shape_blend=1.0))
    assert torch.equal(noisy[:PAIRS], noisy[PAIRS:])
    assert torch.equal(sigma[:PAIRS], sigma[PAIRS:])
    assert ((sigma >= BLEND_SIGMA[0]) & (sigma <= BLEND_SIGMA[1])).all()
    # Same input, different captions and targets: only the shape word can shrink this.
    assert losses["pair"] > 0


def test_without_blending_each_half_sees_its_own_latents() -> None:
    noisy, sigma, _ = _dit_inputs(_trainer(shape_blend=0.0))
    assert torch.equal(sigma[:PAIRS], sigma[PAIRS:])
    assert not torch.allclose(noisy[:PAIRS], noisy[PAIRS:])
