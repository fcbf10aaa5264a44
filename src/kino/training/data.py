"""Training data: rendered world videos, cached on disk, and their captions."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

import numpy as np
import torch

from kino.demo import world

log = logging.getLogger(__name__)


@dataclass
class VideoPool:
    """`seeds_per_scene` videos of every training scene, uint8 [N, F, H, W, 3]."""

    scenes: list[world.Scene]
    seeds: np.ndarray
    videos: np.ndarray

    @classmethod
    def render(cls, seeds_per_scene: int, cache: Path, limit: int | None = None) -> VideoPool:
        """`limit` keeps an evenly spread subset of the videos (for quick runs)."""
        scenes = [s for s in world.training_scenes() for _ in range(seeds_per_scene)]
        if limit is not None and limit < len(scenes):
            scenes = scenes[:: -(-len(scenes) // limit)]
        # Seeds of the training videos; the evaluation renders held-out scenes with others.
        seeds = np.arange(len(scenes), dtype=np.int64)
        return cls(scenes, seeds, _rendered(scenes, seeds, cache))

    def partners(self, rng: np.random.Generator, cache: Path) -> VideoPool:
        """Each video again with another shape: the same path (which depends only on the seed
        and the motion), colour, motion and lighting. The shape is drawn from those that make
        a training scene: the three shapes of one colour, motion and lighting fall in three
        different tenths (`world.is_held_out`), so at most one of them is held out."""
        scenes = []
        for scene in self.scenes:
            others = [replace(scene, shape=shape) for shape in world.SHAPES]
            others = [o for o in others if o != scene and not world.is_held_out(o)]
            scenes.append(others[int(rng.integers(len(others)))])
        return VideoPool(scenes, self.seeds, _rendered(scenes, self.seeds, cache))

    def __len__(self) -> int:
        return len(self.scenes)

    def tracks(self, index: int) -> world.Track:
        return world.track(self.scenes[index], int(self.seeds[index]))

    @cached_property
    def coverage(self) -> np.ndarray:
        """How much of each pixel the object covers, [N, F, H, W] in 0..1, computed once for
        the VAE and DiT weights. float16 holds it exactly: the world anti-aliases with 4x4
        samples, so every value is a multiple of 1/16."""
        out = np.empty((len(self), *self.videos.shape[1:4]), dtype=np.float16)
        for index, scene in enumerate(self.scenes):
            out[index] = world.path_coverage(scene.shape, self.tracks(index))
        return out

    def pixel_weights(self, index: int, weight: float) -> np.ndarray:
        """Reconstruction loss weights [F, H, W] for the VAE: `weight` on the object and a ring
        of 2 pixels around it, 1 elsewhere, each frame divided by its light level.

        Under a plain mean the object is 5% of the pixels, and the VAE that trained that way
        reconstructed the background and smeared the object away: the detector read the colour
        of 22% of its reconstructions of training videos wrong. The ring keeps the object's
        edge, where its shape is, and dividing by the light makes an error in a night frame
        count as much as the same error seen in daylight, as the detector sees it.
        """
        cover = torch.from_numpy(self.coverage[index].astype(np.float32))[None]
        ring = torch.nn.functional.max_pool2d(cover, kernel_size=5, stride=1, padding=2)[0]
        level, _ = world.light(self.scenes[index].lighting, cover.shape[1])
        weights = (1.0 + (weight - 1.0) * ring.numpy()) / level[:, None, None]
        return weights.astype(np.float32)

    def object_weights(self, weight: float, vae_stride: tuple[int, int, int]) -> torch.Tensor:
        """Per-latent flow-loss weights [N, 1, F', h, w]: 1, plus `weight` - 1 where the object
        is in that latent frame, plus `weight` - 1 again anywhere along its path (where it is in
        any frame), in between where it covers part of what the latent folds.

        The object covers about 5% of a frame, so under a plain mean the background and the
        lighting (the whole frame) dominate the loss, and the DiT learned to follow lighting
        words while ignoring colour, shape and motion. Weighting the object's latents restores
        the balance. Weighting only where the object is made drawing it where it is not yet
        (or no longer) cheap, and that is the error that reads as the wrong motion; weighting
        only the path took the outline's share and lost shape (docs/demo-model.md, runs 7 and
        8). A latent counts by the largest coverage of any pixel it folds (its frames and its
        stride x stride patch).
        """
        t, s = vae_stride[0], vae_stride[1]
        out = []
        for index in range(len(self)):
            cover = self.coverage[index].astype(np.float32)
            # The causal VAE folds the first frame alone, then groups of `t`.
            groups = [cover[:1]] + [cover[i : i + t] for i in range(1, len(cover), t)]
            folded = np.stack([g.max(axis=0) for g in groups])
            h, w = folded.shape[1] // s, folded.shape[2] // s
            out.append(folded.reshape(len(groups), h, s, w, s).max(axis=(2, 4)))
        covered = torch.from_numpy(np.stack(out)).float()[:, None]
        path = covered.amax(dim=2, keepdim=True)
        return 1.0 + (weight - 1.0) * (covered + path)


def _rendered(scenes: list[world.Scene], seeds: np.ndarray, cache: Path) -> np.ndarray:
    if cache.exists():
        videos = np.load(cache, mmap_mode="r")
        if len(videos) == len(scenes):
            return videos
    log.info("rendering %d training videos", len(scenes))
    videos = np.stack([world.render(s, int(seed)) for s, seed in zip(scenes, seeds, strict=True)])
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.save(cache, videos)
    return videos


def to_model_range(videos: np.ndarray) -> torch.Tensor:
    """uint8 [B, F, H, W, 3] → float [B, 3, F, H, W] in [-1, 1]."""
    tensor = torch.from_numpy(np.ascontiguousarray(videos)).float()
    return tensor.permute(0, 4, 1, 2, 3).div(127.5).sub(1.0)
