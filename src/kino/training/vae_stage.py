"""Stage 1: the VAE, trained for reconstruction on short windows and crops of world videos."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from diffusers import AutoencoderKLWan

from kino.demo import world
from kino.training.data import VideoPool, to_model_range

# The causal VAE encodes a first frame alone, then groups of four that read a cache of the
# group before; nine frames (1 + 4 + 4) train both the first and the steady-state transition.
WINDOW = 9
CROP = 32
# Most crops are centred near the object, where the detail is.
OBJECT_CROP_RATE = 0.75


@dataclass(frozen=True)
class ReconstructionBatch:
    """Videos in [-1, 1] [B, 3, F, H, W] and their per-pixel loss weights [B, 1, F, H, W]."""

    videos: torch.Tensor
    weights: torch.Tensor

    def to(self, device: torch.device) -> ReconstructionBatch:
        return ReconstructionBatch(self.videos.to(device), self.weights.to(device))


def sample_windows(
    pool: VideoPool, batch: int, object_weight: float, rng: np.random.Generator
) -> ReconstructionBatch:
    clips, weights = [], []
    for index in rng.integers(0, len(pool), size=batch):
        start = int(rng.integers(0, world.FRAMES - WINDOW + 1))
        if rng.random() < OBJECT_CROP_RATE:
            path = pool.tracks(int(index))
            middle = start + WINDOW // 2
            cx = path.x[middle] * world.SIZE + rng.uniform(-10, 10)
            cy = path.y[middle] * world.SIZE + rng.uniform(-10, 10)
            left = int(np.clip(round(cx - CROP / 2), 0, world.SIZE - CROP))
            top = int(np.clip(round(cy - CROP / 2), 0, world.SIZE - CROP))
        else:
            left, top = (int(v) for v in rng.integers(0, world.SIZE - CROP + 1, size=2))
        window = (slice(start, start + WINDOW), slice(top, top + CROP), slice(left, left + CROP))
        clips.append(pool.videos[index][window])
        weights.append(pool.pixel_weights(int(index), object_weight)[window])
    return ReconstructionBatch(
        to_model_range(np.stack(clips)), torch.from_numpy(np.stack(weights))[:, None]
    )


def whole_videos(
    pool: VideoPool, indices: np.ndarray, object_weight: float, temporal_stride: int
) -> ReconstructionBatch:
    """Whole videos with their pixel weights, the first frame's times `temporal_stride`.

    The first frame is a latent frame of its own where every other latent frame folds
    `temporal_stride` video frames, so under an even weighting it got a quarter of a latent
    frame's share. The decoder of run 4 reconstructed the object there at 15 dB PSNR against
    about 20 dB in later frames, and DiT videos began with a faint or wrong-coloured object.
    """
    weights = np.stack([pool.pixel_weights(int(i), object_weight) for i in indices])
    weights[:, 0] *= temporal_stride
    return ReconstructionBatch(
        to_model_range(np.asarray(pool.videos[indices])), torch.from_numpy(weights)[:, None]
    )


def reconstruction_loss(
    recon: torch.Tensor, target: ReconstructionBatch
) -> dict[str, torch.Tensor]:
    """Weighted MSE + L1 (see VideoPool.pixel_weights), and the plain PSNR for the log."""
    error = recon - target.videos
    total = target.weights.expand_as(error).sum()
    mse = (error.pow(2) * target.weights).sum() / total
    l1 = (error.abs() * target.weights).sum() / total
    # PSNR over [0, 255]: the range is 2 in model units.
    plain = error.detach().pow(2).mean().clamp_min(1e-10)
    return {"loss": mse + l1, "mse": mse.detach(), "psnr": 10 * torch.log10(4.0 / plain)}


def vae_loss(
    vae: AutoencoderKLWan, clips: ReconstructionBatch, latent_weight: float
) -> dict[str, torch.Tensor]:
    """Reconstruction from the posterior mean, as the DiT's latents and decodes use it.

    Sampling the posterior during training would cap reconstruction at the noise the sampled
    latents carry; a small penalty on the means keeps the latent scale bounded instead.
    """
    mean = vae.encode(clips.videos).latent_dist.mode()
    losses = reconstruction_loss(vae.decode(mean).sample, clips)
    losses["loss"] = losses["loss"] + latent_weight * mean.pow(2).mean()
    return losses


def decoder_loss(
    vae: AutoencoderKLWan, latents: torch.Tensor, videos: ReconstructionBatch
) -> dict[str, torch.Tensor]:
    """Full-length, full-size reconstruction from fixed posterior means: fine-tunes the decoder
    (its causal cache over every frame group, and the whole canvas) while the latents the DiT
    learned stay exactly as they are."""
    return reconstruction_loss(vae.decode(latents).sample, videos)


def denormalise(vae: AutoencoderKLWan, latents: torch.Tensor) -> torch.Tensor:
    """Unit-scale latents → the VAE's posterior-mean scale (the inverse of `normalise`)."""
    shape = (1, -1, 1, 1, 1)
    mean = torch.tensor(vae.config.latents_mean, device=latents.device).view(shape)
    std = torch.tensor(vae.config.latents_std, device=latents.device).view(shape)
    return latents * std + mean


@torch.no_grad()
def encode_means(
    vae: AutoencoderKLWan, videos: np.ndarray | torch.Tensor, batch: int = 16
) -> torch.Tensor:
    """uint8 [N, F, H, W, 3] or model-range [N, 3, F, H, W] → posterior means [N, C, F', h, w]."""
    parts = []
    for i in range(0, len(videos), batch):
        chunk = videos[i : i + batch]
        pixels = to_model_range(chunk) if isinstance(chunk, np.ndarray) else chunk
        parts.append(vae.encode(pixels.to(vae.device)).latent_dist.mode().cpu())
    return torch.cat(parts)


def set_latent_statistics(vae: AutoencoderKLWan, means: torch.Tensor) -> None:
    """Store per-channel mean and std in the config, where the engine reads them (as the real
    Wan VAEs carry theirs) to normalise latents to unit scale."""
    per_channel = means.transpose(0, 1).flatten(1)
    vae.register_to_config(
        latents_mean=per_channel.mean(dim=1).tolist(),
        latents_std=per_channel.std(dim=1).tolist(),
    )


def normalise(vae: AutoencoderKLWan, means: torch.Tensor) -> torch.Tensor:
    shape = (1, -1, 1, 1, 1)
    mean = torch.tensor(vae.config.latents_mean).view(shape)
    std = torch.tensor(vae.config.latents_std).view(shape)
    return (means - mean) / std
