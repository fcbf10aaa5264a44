"""Stages 2 and 3: the DiT with Wan's flow-matching objective.

t2v trains the text encoder and the DiT jointly from scratch. i2v starts from the t2v DiT with
36 input channels (noise + frame mask + conditioning latents, no CLIP, as Wan2.2 i2v) and learns
both first-frame (i2v) and first-and-last-frame (flf2v) conditioning; the text encoder stays as
t2v left it, since both DiTs share it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from diffusers import AutoencoderKLWan, WanTransformer3DModel
from transformers import PreTrainedTokenizerBase, UMT5EncoderModel

from kino.demo import world
from kino.demo.architecture import TEXT_LEN
from kino.demo.captions import caption
from kino.engine import conditioning
from kino.engine.text import tokenize
from kino.training.caption_probe import CaptionProbe, probe_loss
from kino.training.data import to_model_range
from kino.training.flow import noise_latents, pair_loss, predicted_x0, shifted_sigmas
from kino.training.lighting_loss import lighting_consistency_loss
from kino.training.vae_stage import denormalise

# Blended shape pairs (see flow.noise_latents) take σ and λ uniformly from these ranges: the
# noise levels where sampling settles the object's outline (docs/demo-model.md, "Where shape is
# lost"), and blends that leave both shapes in the input.
BLEND_SIGMA = (0.6, 0.95)
BLEND_MIX = (0.3, 0.7)


def captions_for(
    scenes: list[world.Scene], rng: np.random.Generator, drop_rate: float
) -> list[str]:
    """A fresh random phrasing per sample; an empty one at `drop_rate`, which teaches the
    unconditional prediction that classifier-free guidance needs."""
    return ["" if rng.random() < drop_rate else caption(scene, rng) for scene in scenes]


def paired_captions(
    scenes: list[world.Scene],
    partners: list[world.Scene],
    rng: np.random.Generator,
    drop_rate: float,
) -> list[str]:
    """Captions for shape pairs, `scenes`' then `partners'`: the two of a pair phrased from the
    same random draws, so that they differ in the shape word, and dropped together."""
    first, second = [], []
    for scene, partner in zip(scenes, partners, strict=True):
        if rng.random() < drop_rate:
            first.append("")
            second.append("")
            continue
        seed = int(rng.integers(2**31))
        first.append(caption(scene, np.random.default_rng(seed)))
        second.append(caption(partner, np.random.default_rng(seed)))
    return first + second


@dataclass
class TextBatch:
    ids: torch.Tensor
    mask: torch.Tensor


def encode_text(encoder: UMT5EncoderModel, text: TextBatch) -> torch.Tensor:
    """Real tokens' states, zeros after them, as kino.engine.text.encode_prompts returns."""
    states = encoder(input_ids=text.ids, attention_mask=text.mask).last_hidden_state
    return states * text.mask[..., None].to(states.dtype)


@dataclass
class ShapePartners:
    """t2v shape pairs: every pool video's partner with another shape (`VideoPool.partners`),
    its normalised latents and flow-loss weights."""

    scenes: list[world.Scene]
    latents: torch.Tensor
    weights: torch.Tensor


@dataclass
class DitData:
    """Normalised VAE latents of the pool's videos and, for i2v, conditioning latents."""

    scenes: list[world.Scene]
    latents: torch.Tensor  # [N, C, F', h, w]
    # Flow-loss weights per latent position [N, 1, F', h, w] (see VideoPool.object_weights).
    weights: torch.Tensor
    # i2v: pool indices with conditioning, and their first-only / first-and-last latents.
    cond_index: torch.Tensor | None = None
    cond_first: torch.Tensor | None = None
    cond_first_last: torch.Tensor | None = None
    # t2v: with partners, half of each batch is the other half's videos with another shape.
    partners: ShapePartners | None = None


def conditioning_videos(videos: np.ndarray, keep_last: bool) -> torch.Tensor:
    """The engine's conditioning video (given frames, zeros between) for uint8 world videos."""
    out = []
    for video in videos:
        frames = to_model_range(video[None])[0]
        last = frames[:, -1] if keep_last else None
        cond = conditioning.conditioning_video(frames[:, 0], last, len(video), *video.shape[1:3])
        out.append(cond)
    return torch.stack(out)


@dataclass
class DitTrainer:
    transformer: WanTransformer3DModel
    text_encoder: UMT5EncoderModel
    tokenizer: PreTrainedTokenizerBase
    vae: AutoencoderKLWan
    data: DitData
    batch: int
    shift: float
    caption_drop: float
    lighting_weight: float
    lighting_batch: int
    train_text: bool
    generator: torch.Generator
    rng: np.random.Generator
    # t2v: the auxiliary caption probe on the text encoder's states and its loss weight.
    probe: CaptionProbe | None = None
    probe_weight: float = 0.0
    # With `data.partners`: the weight of the shape pairs' differential error (see pair_loss)
    # and the share of pairs that are blended (see flow.noise_latents).
    pair_weight: float = 0.0
    shape_blend: float = 0.0

    @property
    def device(self) -> torch.device:
        return self.transformer.device

    def _context(self, prompts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """The text encoder's states for `prompts` and their token mask."""
        # The engine's tokenization, so training sees what inference feeds.
        ids, mask = tokenize(self.tokenizer, prompts, TEXT_LEN)
        text = TextBatch(ids.to(self.device), mask.to(self.device))
        if self.train_text:
            return encode_text(self.text_encoder, text), text.mask
        with torch.no_grad():
            return encode_text(self.text_encoder, text), text.mask

    def _i2v_inputs(self, picks: np.ndarray, noisy: torch.Tensor) -> torch.Tensor:
        data = self.data
        assert data.cond_first is not None and data.cond_first_last is not None
        keep_last = self.rng.random(len(picks)) < 0.5
        h, w = noisy.shape[-2:]
        frames = (noisy.shape[2] - 1) * 4 + 1
        masks = [
            conditioning.frame_mask(frames, h, w, keep_last=bool(k), device=noisy.device)
            for k in keep_last
        ]
        conds = [
            (data.cond_first_last if k else data.cond_first)[p]
            for p, k in zip(picks, keep_last, strict=True)
        ]
        y = torch.cat([torch.stack(masks), torch.stack(conds).to(noisy.device)], dim=1)
        return torch.cat([noisy, y], dim=1)

    def step_loss(self, step: int) -> dict[str, torch.Tensor]:
        data = self.data
        partners = data.partners
        if data.cond_index is None:
            count = self.batch if partners is None else self.batch // 2
            indices = self.rng.integers(0, len(data.latents), size=count)
            picks = indices
        else:
            picks = self.rng.integers(0, len(data.cond_index), size=self.batch)
            indices = data.cond_index[picks].numpy()
        x0, weights = data.latents[indices], data.weights[indices]
        scenes = [data.scenes[i] for i in indices]
        if partners is None:
            prompts = captions_for(scenes, self.rng, self.caption_drop)
        else:
            x0 = torch.cat([x0, partners.latents[indices]])
            weights = torch.cat([weights, partners.weights[indices]])
            others = [partners.scenes[i] for i in indices]
            prompts = paired_captions(scenes, others, self.rng, self.caption_drop)
            scenes = scenes + others
        context, mask = self._context(prompts)
        sigma = shifted_sigmas(len(indices), self.shift, self.generator)
        blend = None
        if partners is not None and self.shape_blend > 0:
            sigma, blend = self._blend(sigma)
        sample = noise_latents(
            x0.to(self.device), sigma, self.generator, pairs=partners is not None, blend=blend
        )
        inputs = sample.noisy if data.cond_index is None else self._i2v_inputs(picks, sample.noisy)
        prediction = self.transformer(
            hidden_states=inputs,
            timestep=sample.timestep,
            encoder_hidden_states=context,
            return_dict=False,
        )[0].float()
        error = prediction - sample.target
        weights = weights.to(self.device)
        weighted = (error.pow(2) * weights).mean() / weights.mean()
        # "flow" is the plain objective, comparable across runs whatever the weighting.
        losses = {"loss": weighted, "flow": error.detach().pow(2).mean()}
        if partners is not None:
            losses["pair"] = pair_loss(error, weights)
            losses["loss"] = losses["loss"] + self.pair_weight * losses["pair"]
        if self.probe is not None:
            captioned = torch.tensor([bool(p) for p in prompts])
            probe = probe_loss(self.probe, context, mask, scenes, captioned)
            losses["probe"] = probe
            losses["loss"] = losses["loss"] + self.probe_weight * probe
        if self.lighting_weight > 0:
            n = self.lighting_batch
            x0_hat = predicted_x0(sample, prediction)[:n]
            lighting = lighting_consistency_loss(self._decode(x0_hat))
            losses["lighting"] = lighting
            losses["loss"] = losses["loss"] + self.lighting_weight * lighting
        return losses

    def _blend(self, sigma: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """`shape_blend` of the pairs blended, with σ and λ from BLEND_SIGMA and BLEND_MIX: every
        pair's σ, and its λ (0 for a pair left as it is)."""

        def uniform(low: float, high: float) -> torch.Tensor:
            return low + (high - low) * torch.rand(len(sigma), generator=self.generator)

        chosen = uniform(0.0, 1.0) < self.shape_blend
        blended_sigma, mix = uniform(*BLEND_SIGMA), uniform(*BLEND_MIX)
        return torch.where(chosen, blended_sigma, sigma), torch.where(chosen, mix, 0.0)

    def _decode(self, latents: torch.Tensor) -> torch.Tensor:
        return self.vae.decode(denormalise(self.vae, latents)).sample
