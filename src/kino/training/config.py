"""What one training run does: every knob of `kino train` in one value."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path


@dataclass(frozen=True)
class TrainConfig:
    out_dir: Path
    seed: int = 0
    device: str = "cpu"
    seeds_per_scene: int = 3
    # Cap on the number of training videos (None: every scene with every seed).
    pool_limit: int | None = None
    # Captions the tokenizer is trained on.
    tokenizer_corpus: int = 20000
    # VAE: 9-frame windows, 32x32 crops mostly around the object.
    vae_steps: int = 1600
    vae_batch: int = 8
    vae_lr: float = 1e-3
    vae_latent_weight: float = 1e-4
    # Reconstruction-loss weight of the object and the ring around it (1 = a plain mean).
    vae_object_weight: float = 8.0
    # Then the decoder alone, on whole 17-frame 64x64 videos, the encoder (and so the latents)
    # fixed.
    decoder_steps: int = 800
    decoder_batch: int = 4
    decoder_lr: float = 3e-4
    # DiT (and, for t2v, the text encoder).
    # A 10-layer DiT step takes about 1.2 s here (t2v): these fit the 3-hour budget.
    t2v_steps: int = 4500
    i2v_steps: int = 2000
    # The i2v stage conditions on one video per training scene.
    i2v_seeds_per_scene: int = 1
    dit_batch: int = 16
    # Both DiTs' width in attention heads of 32 channels: 4 is dim 128, the shipped width. Wider
    # DiTs fit the world better at equal steps but cost more per step (docs/demo-model.md, run 15's
    # probes and run 19).
    dit_heads: int = 4
    # Store the exported DiTs in float16: half the size, for wider DiTs under the package's
    # 40 MB. The engine loads them in its own dtype (float32 on a CPU).
    dit_fp16: bool = False
    dit_lr: float = 5e-4
    shift: float = 3.0
    caption_drop: float = 0.1
    # Decay of the moving average of the DiT (and t2v text encoder) weights that the stages
    # export (0 = export the last weights).
    ema_decay: float = 0.999
    # Flow-loss weight of the latents the object covers, and again along its path (1 = a plain
    # mean; see VideoPool.object_weights).
    object_weight: float = 8.0
    # t2v shape pairs: half of each batch repeats the other half's videos with another shape
    # (the same path, noise and σ), and the pairs' differential error gets this extra weight
    # (0 = off; see flow.pair_loss).
    shape_pair_weight: float = 0.0
    # The share of those pairs whose two samples see one noisy input, blended from both shapes,
    # each trained towards its own shape (0 = none; see flow.noise_latents).
    shape_blend: float = 0.0
    # Weight of the auxiliary caption probe on the text encoder (t2v; 0 = off).
    caption_probe_weight: float = 0.2
    # The temporal lighting consistency loss (0 = off) and how many samples per batch it decodes.
    lighting_weight: float = 0.0
    lighting_batch: int = 2
    gradient_checkpointing: bool = False
    bf16: bool = False
    checkpoint_every: int = 100
    warmup_steps: int = 100

    def quick(self) -> TrainConfig:
        """A few small steps of every stage: proves the pipeline and that the losses fall."""
        return replace(
            self,
            seeds_per_scene=1,
            pool_limit=8,
            tokenizer_corpus=1000,
            vae_steps=20,
            vae_batch=2,
            decoder_steps=5,
            decoder_batch=2,
            t2v_steps=20,
            i2v_steps=5,
            i2v_seeds_per_scene=1,
            dit_batch=4,
            checkpoint_every=10,
            warmup_steps=5,
        )
