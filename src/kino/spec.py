"""The values that flow through kino: a validated request and the video it produces."""

from __future__ import annotations

import random
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from kino.errors import InvalidSpec
from kino.tasks import TaskKind, TaskPreset, check_frame_num, get_task, parse_size


@dataclass(frozen=True)
class GenerationSpec:
    """One generation, validated. Layers below the interfaces trust it as it is."""

    task: str
    prompt: str
    negative_prompt: str
    size: str  # "width*height", a key of the official size table
    frame_num: int
    sample_steps: int
    sample_shift: float
    guide_scale: tuple[float, float]  # (low noise, high noise)
    solver: str
    seed: int
    # i2v / ti2v: (image,); flf2v: (first_frame, last_frame); t2v: ().
    images: tuple[Image.Image, ...] = ()
    ckpt_dir: Path | None = None

    @property
    def preset(self) -> TaskPreset:
        return get_task(self.task)

    @property
    def width_height(self) -> tuple[int, int]:
        return parse_size(self.size)

    @property
    def max_area(self) -> int:
        width, height = self.width_height
        return width * height


@dataclass(frozen=True)
class Video:
    """Decoded frames as uint8 [frames, height, width, 3], with their fps and provenance."""

    frames: np.ndarray
    fps: int
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def num_frames(self) -> int:
        return int(self.frames.shape[0])

    @property
    def width_height(self) -> tuple[int, int]:
        return int(self.frames.shape[2]), int(self.frames.shape[1])


SOLVERS = ("unipc", "dpm++")


def resolve_seed(seed: int) -> int:
    """-1 (or any negative) picks a random seed, as the official generate.py does."""
    return seed if seed >= 0 else random.randint(0, sys.maxsize)


def open_image(path: str | Path, flag: str) -> Image.Image:
    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except FileNotFoundError:
        raise InvalidSpec(
            f"{flag} {path}: file not found; pass the path of a PNG or JPEG"
        ) from None
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise InvalidSpec(
            f"{flag} {path}: cannot read the image ({exc}); pass a PNG or JPEG"
        ) from None


def make_spec(
    task: str,
    *,
    prompt: str,
    size: str,
    negative_prompt: str | None = None,
    frame_num: int | None = None,
    sample_steps: int | None = None,
    sample_shift: float | None = None,
    guide_scale: float | tuple[float, float] | None = None,
    solver: str = "unipc",
    seed: int = -1,
    images: tuple[Image.Image, ...] = (),
    ckpt_dir: Path | None = None,
) -> GenerationSpec:
    """Fill the task's defaults and validate everything once."""
    preset = get_task(task)
    preset.check_size(size)
    frame_num = preset.frame_num if frame_num is None else frame_num
    check_frame_num(frame_num)
    if preset.kind is TaskKind.FLF2V and frame_num < 5:
        raise InvalidSpec(
            f"frame_num {frame_num}: first-last-frame video needs at least 5 frames; "
            "use e.g. --frame_num 81",
            code="invalid_frame_num",
        )
    if preset.kind is TaskKind.FLF2V and len(images) != 2:
        raise InvalidSpec(
            f"task {task} needs two images; pass --first_frame FILE and --last_frame FILE",
            code="missing_image",
        )
    if preset.kind is TaskKind.I2V and len(images) != 1:
        raise InvalidSpec(
            f"task {task} needs an input image; pass --image FILE", code="missing_image"
        )
    if preset.kind is TaskKind.T2V and images:
        raise InvalidSpec(
            f"task {task} is text-to-video and takes no image; drop --image",
            code="unexpected_image",
        )
    if solver not in SOLVERS:
        raise InvalidSpec(f"unknown solver {solver!r}; use --sample_solver unipc or dpm++")
    steps = preset.sample_steps if sample_steps is None else sample_steps
    if steps < 1:
        raise InvalidSpec(f"sample_steps {steps} must be at least 1", code="invalid_steps")
    if guide_scale is None:
        guide = preset.guide_scale
    elif isinstance(guide_scale, tuple):
        guide = guide_scale
    else:
        guide = (float(guide_scale), float(guide_scale))
    return GenerationSpec(
        task=task,
        prompt=prompt,
        negative_prompt=negative_prompt or preset.negative_prompt,
        size=size,
        frame_num=frame_num,
        sample_steps=steps,
        sample_shift=preset.default_shift(size) if sample_shift is None else sample_shift,
        guide_scale=guide,
        solver=solver,
        seed=resolve_seed(seed),
        images=images,
        ckpt_dir=ckpt_dir,
    )
