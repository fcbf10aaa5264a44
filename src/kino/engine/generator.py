"""Generator.run(spec) → Video: text encode → image encode → denoise → VAE decode.

The loop follows the official pipelines (wan/text2video.py, image2video.py,
first_last_frame2video.py, textimage2video.py) step for step, on diffusers and transformers
modules, so that the same seed on the same device gives the official video.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from diffusers import WanTransformer3DModel
from tqdm import tqdm

from kino import __version__
from kino.checkpoints.components import WanComponents, load_components
from kino.engine import conditioning
from kino.engine.options import EngineOptions
from kino.engine.placement import Placement
from kino.engine.schedule import NUM_TRAIN_TIMESTEPS, build_scheduler
from kino.engine.text import encode_prompts
from kino.engine.time_embedding import use_official_time_embedding
from kino.spec import GenerationSpec, Video
from kino.tasks import TaskKind, TaskPreset, get_task

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StepEvent:
    """Progress of one run; `step` counts from 1 within the stage."""

    stage: str  # "text" | "image" | "denoise" | "decode"
    step: int
    total_steps: int


StepCallback = Callable[[StepEvent], None]


@dataclass
class _Conditioning:
    """What one spec adds to the DiT input besides noise and text."""

    latent_shape: tuple[int, int, int, int]  # channels, latent frames, height, width
    y: torch.Tensor | None = None  # i2v/flf2v: mask + conditioning latents, concatenated to x
    image_embeds: torch.Tensor | None = None  # Wan2.1 i2v/flf2v: CLIP penultimate states
    fixed: torch.Tensor | None = None  # ti2v with an image: latents kept where mask == 0
    mask: torch.Tensor | None = None  # ti2v: [C, F', h, w], 0 on the given frame


class Generator:
    """A loaded task, kept warm between runs."""

    def __init__(
        self, components: WanComponents, preset: TaskPreset, options: EngineOptions
    ) -> None:
        self.components = components
        self.preset = preset
        self.options = options
        self.placement = Placement(options.device, options.offload_model)
        vae_config = components.vae.config
        self.z_dim = int(vae_config.z_dim)
        self.latents_mean = torch.tensor(vae_config.latents_mean, dtype=torch.float32)
        # The official code multiplies by 1/std on encode and divides by it on decode.
        self.latents_inv_std = 1.0 / torch.tensor(vae_config.latents_std, dtype=torch.float32)
        if options.vae_tiling:
            components.vae.enable_tiling()
        for transformer in (components.transformer, components.transformer_2):
            if transformer is not None:
                use_official_time_embedding(transformer)

    @classmethod
    def load(cls, ckpt_dir: Path, task: str, options: EngineOptions) -> Generator:
        preset = get_task(task)
        components = load_components(ckpt_dir, preset, options.component_dtypes())
        return cls(components, preset, options)

    # -- stages ---------------------------------------------------------------------------

    def _encode_text(self, spec: GenerationSpec) -> tuple[torch.Tensor, torch.Tensor]:
        text_device = self.options.text_device
        encoder = self.components.text_encoder
        with self.placement.stage(encoder, text_device):
            context, context_null = encode_prompts(
                self.components.tokenizer,
                encoder,
                [spec.prompt, spec.negative_prompt],
                text_device,
                self.preset.text_len,
            )
        return context[None].to(self.options.device), context_null[None].to(self.options.device)

    def _vae_normalise(self, mu: torch.Tensor) -> torch.Tensor:
        shape = (1, -1, 1, 1, 1)
        mean = self.latents_mean.to(mu.device).view(shape)
        inv_std = self.latents_inv_std.to(mu.device).view(shape)
        return (mu.float() - mean) * inv_std

    @torch.no_grad()
    def _vae_encode(self, video: torch.Tensor) -> torch.Tensor:
        """[3, F, H, W] in [-1, 1] → normalised latents [C, F', h, w] (the posterior mean)."""
        vae = self.components.vae
        # The VAE stays on the device, as in the official pipelines: it is small and used twice.
        self.placement.bring(vae)
        sample = video[None].to(self.options.device, vae.dtype)
        mu = vae.encode(sample).latent_dist.mode()
        return self._vae_normalise(mu)[0]

    @torch.no_grad()
    def _vae_decode(self, latents: torch.Tensor) -> torch.Tensor:
        vae = self.components.vae
        shape = (1, -1, 1, 1, 1)
        mean = self.latents_mean.to(latents.device).view(shape)
        inv_std = self.latents_inv_std.to(latents.device).view(shape)
        z = latents[None].float() / inv_std + mean
        self.placement.bring(vae)
        video = vae.decode(z.to(self.options.device, vae.dtype)).sample
        return video.float().clamp_(-1, 1)[0]

    @torch.no_grad()
    def _clip(self, images: list[torch.Tensor]) -> torch.Tensor:
        encoder = self.components.image_encoder
        assert encoder is not None
        with self.placement.stage(encoder):
            pixels = conditioning.clip_pixels(
                [image.to(self.options.device) for image in images],
                int(encoder.config.image_size),
            )
            states = encoder(pixel_values=pixels.to(encoder.dtype), output_hidden_states=True)
        return states.hidden_states[-2]

    def _condition(self, spec: GenerationSpec, on_step: StepCallback) -> _Conditioning:
        preset = self.preset
        width, height = spec.width_height
        frames = spec.frame_num
        latent_frames = (frames - 1) // preset.vae_stride[0] + 1
        kind = preset.kind
        if kind is TaskKind.T2V or (kind is TaskKind.TI2V and not spec.images):
            shape = (
                self.z_dim,
                latent_frames,
                height // preset.vae_stride[1],
                width // preset.vae_stride[2],
            )
            if kind is TaskKind.TI2V:
                return _Conditioning(shape, mask=torch.ones(shape, device=self.options.device))
            return _Conditioning(shape)
        on_step(StepEvent("image", 1, 1))
        if kind is TaskKind.TI2V:
            dh = preset.patch_size[1] * preset.vae_stride[1]
            dw = preset.patch_size[2] * preset.vae_stride[2]
            image = conditioning.ti2v_image(spec.images[0], spec.max_area, dw, dh)
            fixed = self._vae_encode(image.to(self.options.device))
            shape = (self.z_dim, latent_frames, fixed.shape[2], fixed.shape[3])
            mask = torch.ones(shape, device=self.options.device)
            mask[:, 0] = 0
            return _Conditioning(shape, fixed=fixed, mask=mask)
        first = conditioning.image_to_tensor(spec.images[0])
        last = None
        if kind is TaskKind.FLF2V:
            last = conditioning.align_last_frame(spec.images[0], spec.images[1])
        aspect_ratio = first.shape[1] / first.shape[2]
        lat_h, lat_w = conditioning.latent_grid(
            spec.max_area, aspect_ratio, preset.vae_stride, preset.patch_size
        )
        h, w = lat_h * preset.vae_stride[1], lat_w * preset.vae_stride[2]
        mask = conditioning.frame_mask(
            frames, lat_h, lat_w, keep_last=last is not None, device=self.options.device
        )
        image_embeds = None
        if preset.uses_clip:
            images = [first] if last is None else [first, last]
            image_embeds = self._clip(images)
        video = conditioning.conditioning_video(first, last, frames, h, w)
        y = torch.concat([mask, self._vae_encode(video.to(self.options.device))])
        # The official i2v noise always has the Wan2.1 VAE's 16 channels.
        return _Conditioning((16, latent_frames, lat_h, lat_w), y=y, image_embeds=image_embeds)

    def _timestep(self, t: torch.Tensor, cond: _Conditioning) -> torch.Tensor:
        if cond.mask is None:
            return t.reshape(1)
        # Wan2.2 ti2v: one timestep per token, 0 on the given first frame.
        patch = self.preset.patch_size
        per_token = (cond.mask[0][:, :: patch[1], :: patch[2]] * t).flatten()
        return per_token[None]

    def _predict(
        self,
        model: WanTransformer3DModel,
        latents: torch.Tensor,
        timestep: torch.Tensor,
        context: torch.Tensor,
        cond: _Conditioning,
    ) -> torch.Tensor:
        x = latents if cond.y is None else torch.concat([latents, cond.y])
        dtype = model.dtype
        image_embeds = cond.image_embeds
        autocast = (
            torch.autocast("cuda", dtype=torch.bfloat16)
            if self.options.device.type == "cuda"
            else nullcontext()
        )
        with autocast:
            out = model(
                hidden_states=x[None].to(dtype),
                timestep=timestep,
                encoder_hidden_states=context.to(dtype),
                encoder_hidden_states_image=None
                if image_embeds is None
                else image_embeds.to(dtype),
                return_dict=False,
            )[0]
        return out[0].float()

    # -- the run --------------------------------------------------------------------------

    @torch.no_grad()
    def run(self, spec: GenerationSpec, on_step: StepCallback | None = None) -> Video:
        on_step = on_step or (lambda event: None)
        preset = self.preset
        device = self.options.device
        seed_g = torch.Generator(device=device)
        seed_g.manual_seed(spec.seed)

        on_step(StepEvent("text", 1, 1))
        context, context_null = self._encode_text(spec)
        cond = self._condition(spec, on_step)
        noise = torch.randn(cond.latent_shape, dtype=torch.float32, device=device, generator=seed_g)

        scheduler = build_scheduler(spec.solver, spec.sample_steps, spec.sample_shift, device)
        timesteps = scheduler.timesteps
        boundary = (preset.boundary or 0.0) * NUM_TRAIN_TIMESTEPS
        latents = noise
        if cond.fixed is not None:
            latents = (1.0 - cond.mask) * cond.fixed + cond.mask * latents

        active: WanTransformer3DModel | None = None
        total = len(timesteps)
        for index, t in enumerate(tqdm(timesteps)):
            high_noise = preset.experts and t.item() >= boundary
            model = self.components.transformer
            if preset.experts and not high_noise:
                model = self.components.transformer_2
            assert model is not None
            if model is not active:
                if active is not None:
                    self.placement.park(active)
                active = self.placement.bring(model)
            guide = spec.guide_scale[1] if high_noise else spec.guide_scale[0]
            timestep = self._timestep(t, cond)
            noise_cond = self._predict(model, latents, timestep, context, cond)
            noise_uncond = self._predict(model, latents, timestep, context_null, cond)
            noise_pred = noise_uncond + guide * (noise_cond - noise_uncond)
            latents = scheduler.step(noise_pred[None], t, latents[None], return_dict=False)[0][0]
            if cond.fixed is not None:
                latents = (1.0 - cond.mask) * cond.fixed + cond.mask * latents
            on_step(StepEvent("denoise", index + 1, total))
        if active is not None:
            self.placement.park(active)

        on_step(StepEvent("decode", 1, 1))
        video = self._vae_decode(latents)
        return Video(frames=to_uint8_frames(video), fps=preset.fps, metadata=provenance(spec))


def to_uint8_frames(video: torch.Tensor) -> np.ndarray:
    """[3, F, H, W] in [-1, 1] → uint8 [F, H, W, 3], truncating as the official save_video does."""
    scaled = (video.clamp(-1, 1) + 1) / 2
    return (scaled * 255).to(torch.uint8).permute(1, 2, 3, 0).cpu().numpy()


def provenance(spec: GenerationSpec) -> dict[str, object]:
    """What made this video; written into the MP4 and its sidecar JSON."""
    return {
        "generator": f"kino {__version__}",
        "task": spec.task,
        "prompt": spec.prompt,
        "negative_prompt": spec.negative_prompt,
        "seed": spec.seed,
        "size": spec.size,
        "frame_num": spec.frame_num,
        "sample_solver": spec.solver,
        "sample_steps": spec.sample_steps,
        "sample_shift": spec.sample_shift,
        "sample_guide_scale": list(spec.guide_scale),
        "checkpoint": None if spec.ckpt_dir is None else str(spec.ckpt_dir),
    }
