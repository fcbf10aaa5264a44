"""`kino train`: the demo model from scratch, stage by stage, resumable.

tokenizer → VAE → latents → decoder fine-tune → t2v (text encoder + DiT) → i2v/flf2v DiT →
diffusers folder.
Each stage keeps its state under `out_dir`; a stage that finished is loaded, not retrained, so
rerunning the same command after an interruption continues where it stopped.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

import numpy as np
import torch
from diffusers import AutoencoderKLWan, WanTransformer3DModel
from transformers import AutoTokenizer, PreTrainedTokenizerBase, UMT5EncoderModel

from kino.demo import architecture
from kino.demo.captions import vocabulary_corpus
from kino.demo.tokenizer import train_tokenizer
from kino.engine.time_embedding import use_official_time_embedding
from kino.training.caption_probe import CaptionProbe
from kino.training.config import TrainConfig
from kino.training.data import VideoPool
from kino.training.dit_stage import DitData, DitTrainer, ShapePartners, conditioning_videos
from kino.training.export import export_model
from kino.training.loop import run_stage
from kino.training.vae_stage import (
    decoder_loss,
    denormalise,
    encode_means,
    normalise,
    sample_windows,
    set_latent_statistics,
    vae_loss,
    whole_videos,
)

log = logging.getLogger(__name__)


def _tokenizer(config: TrainConfig):
    path = config.out_dir / "tokenizer"
    if not path.exists():
        corpus = vocabulary_corpus(np.random.default_rng(config.seed), config.tokenizer_corpus)
        train_tokenizer(corpus).save_pretrained(path)
    return AutoTokenizer.from_pretrained(path, local_files_only=True)


def _vae(config: TrainConfig, pool: VideoPool, device: torch.device, summary: dict):
    done = config.out_dir / "vae" / "final"
    if done.exists():
        return AutoencoderKLWan.from_pretrained(done).to(device)
    torch.manual_seed(config.seed)
    vae = architecture.build_vae().to(device)
    if config.gradient_checkpointing:
        vae.enable_gradient_checkpointing()
    generator = torch.Generator().manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)

    def step_loss(step: int) -> dict[str, torch.Tensor]:
        clips = sample_windows(pool, config.vae_batch, config.vae_object_weight, rng)
        return vae_loss(vae, clips.to(device), config.vae_latent_weight)

    history = run_stage(
        "vae",
        config.out_dir / "vae",
        {"vae": vae},
        step_loss,
        config.vae_steps,
        config.vae_lr,
        config.warmup_steps,
        generator,
        rng,
        config.checkpoint_every,
        config.bf16,
        device,
    )
    summary["vae"] = _stage_summary(history)
    with torch.no_grad():
        set_latent_statistics(vae, encode_means(vae, pool.videos[: min(len(pool), 256)]))
    vae.save_pretrained(done)
    return vae


def _decoder(
    config: TrainConfig,
    pool: VideoPool,
    vae: AutoencoderKLWan,
    latents: torch.Tensor,
    summary: dict,
) -> AutoencoderKLWan:
    done = config.out_dir / "decoder" / "final"
    if done.exists():
        return AutoencoderKLWan.from_pretrained(done).to(vae.device)
    modules = {"decoder": vae.decoder, "post_quant_conv": vae.post_quant_conv}
    for module in modules.values():
        module.requires_grad_(True)
    raw = denormalise(vae, latents)
    generator = torch.Generator().manual_seed(config.seed + 3)
    rng = np.random.default_rng(config.seed + 3)
    stride = architecture.VAE_STRIDE[0]

    def step_loss(step: int) -> dict[str, torch.Tensor]:
        index = rng.integers(0, len(pool), size=config.decoder_batch)
        videos = whole_videos(pool, index, config.vae_object_weight, stride).to(vae.device)
        return decoder_loss(vae, raw[index].to(vae.device), videos)

    history = run_stage(
        "decoder",
        config.out_dir / "decoder",
        modules,
        step_loss,
        config.decoder_steps,
        config.decoder_lr,
        config.warmup_steps,
        generator,
        rng,
        config.checkpoint_every,
        config.bf16,
        vae.device,
    )
    summary["decoder"] = _stage_summary(history)
    vae.requires_grad_(False)
    vae.eval()
    vae.save_pretrained(done)
    return vae


def _latents(
    config: TrainConfig, pool: VideoPool, vae, i2v_every: int, partners: VideoPool | None
) -> dict:
    path = config.out_dir / "latents.pt"
    saved = torch.load(path) if path.exists() else {}
    if not saved:
        log.info("encoding %d training videos", len(pool))
        with torch.no_grad():
            cond_index = torch.arange(0, len(pool), i2v_every)
            videos = np.asarray(pool.videos[cond_index.numpy()])
            saved = {
                "latents": normalise(vae, encode_means(vae, pool.videos)),
                "cond_index": cond_index,
                "first": normalise(
                    vae, encode_means(vae, conditioning_videos(videos, keep_last=False))
                ),
                "first_last": normalise(
                    vae, encode_means(vae, conditioning_videos(videos, keep_last=True))
                ),
            }
        torch.save(saved, path)
    # A run resumed with shape pairs turned on encodes its partners then.
    if partners is not None and "partners" not in saved:
        log.info("encoding %d shape partners", len(partners))
        with torch.no_grad():
            saved["partners"] = normalise(vae, encode_means(vae, partners.videos))
        torch.save(saved, path)
    return saved


def _dit_stage(
    name: str,
    config: TrainConfig,
    transformer: WanTransformer3DModel,
    text_encoder: UMT5EncoderModel,
    tokenizer: PreTrainedTokenizerBase,
    vae: AutoencoderKLWan,
    data: DitData,
    steps: int,
    seed: int,
    summary: dict,
) -> None:
    """Train `transformer` (and, when `data` has no conditioning, i.e. t2v, the text encoder)."""
    train_text = data.cond_index is None
    probe = None
    if train_text and config.caption_probe_weight > 0:
        probe = CaptionProbe(text_encoder.config.d_model).to(transformer.device)
    trainer = DitTrainer(
        transformer=transformer,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        vae=vae,
        data=data,
        batch=config.dit_batch,
        shift=config.shift,
        caption_drop=config.caption_drop,
        lighting_weight=config.lighting_weight,
        lighting_batch=config.lighting_batch,
        train_text=train_text,
        generator=torch.Generator().manual_seed(seed),
        rng=np.random.default_rng(seed),
        probe=probe,
        probe_weight=config.caption_probe_weight,
        pair_weight=config.shape_pair_weight,
        shape_blend=config.shape_blend,
    )
    modules: dict[str, torch.nn.Module] = {"transformer": transformer}
    if train_text:
        modules["text_encoder"] = text_encoder
    if probe is not None:
        modules["caption_probe"] = probe
    if config.gradient_checkpointing:
        transformer.enable_gradient_checkpointing()
        if train_text:
            text_encoder.gradient_checkpointing_enable()
    history = run_stage(
        name,
        config.out_dir / name,
        modules,
        trainer.step_loss,
        steps,
        config.dit_lr,
        config.warmup_steps,
        trainer.generator,
        trainer.rng,
        config.checkpoint_every,
        config.bf16,
        transformer.device,
        ema_decay=config.ema_decay,
        ema_modules=tuple(m for m in modules if m != "caption_probe"),
    )
    summary[name] = _stage_summary(history)


def _stage_summary(history: list[dict[str, float]]) -> dict[str, float]:
    """First and last losses, averaged over 5% of the steps to smooth out batch noise."""
    window = max(1, len(history) // 20)
    keys = [k for k in history[0] if k not in ("step", "seconds")]
    out: dict[str, float] = {"steps": history[-1]["step"], "seconds": history[-1]["seconds"]}
    for key in keys:
        out[f"{key}_first"] = float(np.mean([h[key] for h in history[:window]]))
        out[f"{key}_last"] = float(np.mean([h[key] for h in history[-window:]]))
    return out


def train(config: TrainConfig) -> Path:
    """Run every stage; returns the exported diffusers folder."""
    # The tokenizers library's idle worker threads fight torch's for the cores: with them, a
    # VAE step after tokenizer training ran 5x slower on 2 cores.
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    began = time.perf_counter()
    device = torch.device(config.device)
    config.out_dir.mkdir(parents=True, exist_ok=True)
    summary_path = config.out_dir / "summary.json"
    summary: dict = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    pool = VideoPool.render(
        config.seeds_per_scene, config.out_dir / "videos.npy", config.pool_limit
    )
    tokenizer = _tokenizer(config)
    vae = _vae(config, pool, device, summary)
    vae.requires_grad_(False)
    vae.eval()
    partners = None
    if config.shape_pair_weight > 0:
        rng = np.random.default_rng(config.seed + 4)
        partners = pool.partners(rng, config.out_dir / "partners.npy")
    data = _latents(
        config, pool, vae, config.seeds_per_scene // config.i2v_seeds_per_scene, partners
    )
    # It changes only the decoder, so the latents the DiTs learn stay as they are; before the
    # DiTs, so that their checkpoints (and the lighting loss) decode as the exported model will.
    vae = _decoder(config, pool, vae, data["latents"], summary)

    weights = pool.object_weights(config.object_weight, architecture.VAE_STRIDE)
    torch.manual_seed(config.seed)
    text_encoder = architecture.build_text_encoder(len(tokenizer)).to(device)
    t2v = architecture.build_transformer(heads=config.dit_heads).to(device)
    use_official_time_embedding(t2v)
    t2v_data = DitData(pool.scenes, data["latents"], weights)
    if partners is not None:
        partner_weights = partners.object_weights(config.object_weight, architecture.VAE_STRIDE)
        t2v_data.partners = ShapePartners(partners.scenes, data["partners"], partner_weights)
    _dit_stage(
        "t2v", config, t2v, text_encoder, tokenizer, vae, t2v_data, config.t2v_steps,
        config.seed + 1, summary,
    )  # fmt: skip
    text_encoder.requires_grad_(False)

    i2v = architecture.widen_to_i2v(t2v).to(device)
    use_official_time_embedding(i2v)
    conditioned = DitData(
        pool.scenes,
        data["latents"],
        weights,
        data["cond_index"],
        data["first"],
        data["first_last"],
    )
    _dit_stage(
        "i2v", config, i2v, text_encoder, tokenizer, vae, conditioned, config.i2v_steps,
        config.seed + 2, summary,
    )  # fmt: skip

    model_dir = config.out_dir / "model"
    export_model(model_dir, vae, text_encoder, tokenizer, t2v, i2v, dit_fp16=config.dit_fp16)
    summary["total_seconds_this_run"] = round(time.perf_counter() - began, 1)
    summary_path.write_text(json.dumps(summary, indent=2) + "\n")
    return model_dir
