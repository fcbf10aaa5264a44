"""Task presets: the official size tables and sampling defaults of Wan2.1 and Wan2.2.

This module is the one source of truth for them; the CLI, the API schema and the docs read
from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from kino.errors import InvalidSpec


class TaskKind(StrEnum):
    T2V = "t2v"
    I2V = "i2v"
    FLF2V = "flf2v"
    TI2V = "ti2v"


# wan/configs/shared_config.py: sample_neg_prompt
NEGATIVE_PROMPT = (
    "色调艳丽，过曝，静态，细节模糊不清，字幕，风格，作品，画作，画面，静止，整体发灰，最差质量，低质量，"
    "JPEG压缩残留，丑陋的，残缺的，多余的手指，画得不好的手部，画得不好的脸部，畸形的，毁容的，形态畸形的肢体，"
    "手指融合，静止不动的画面，杂乱的背景，三条腿，背景人很多，倒着走"
)
I2V_NEGATIVE_PROMPT = "镜头晃动，" + NEGATIVE_PROMPT
FLF2V_NEGATIVE_PROMPT = "镜头切换，" + I2V_NEGATIVE_PROMPT

# The official SIZE_CONFIGS keys of both repositories, as "width*height".
SIZES: tuple[str, ...] = (
    "720*1280",
    "1280*720",
    "480*832",
    "832*480",
    "704*1280",
    "1280*704",
    "1024*704",
    "704*1024",
    "1024*1024",
    # The demo model's world.
    "64*64",
)

DEFAULT_SIZE = "1280*720"

_SIZES_720_480 = ("720*1280", "1280*720", "480*832", "832*480")


@dataclass(frozen=True)
class TaskPreset:
    """One official task: what it needs as input and how it samples by default."""

    name: str
    family: str  # "wan2.1" | "wan2.2"
    kind: TaskKind
    sizes: tuple[str, ...]
    sample_steps: int
    sample_shift: float
    # (low noise, high noise); equal for single-expert models.
    guide_scale: tuple[float, float]
    negative_prompt: str = NEGATIVE_PROMPT
    frame_num: int = 81
    fps: int = 16
    # Wan2.2 A14B: the high-noise expert runs while t >= boundary * 1000.
    boundary: float | None = None
    vae_stride: tuple[int, int, int] = (4, 8, 8)
    patch_size: tuple[int, int, int] = (1, 2, 2)
    # Wan2.1 i2v recommends shift 3.0 at 480p; generate.py applies it when --sample_shift is absent.
    shift_480p: float | None = None
    # Prompt tokens the text encoder reads; the DiT sees them zero-padded to this length.
    text_len: int = 512
    # The diffusers subfolder holding this task's DiT.
    transformer_dir: str = "transformer"
    # Demo tasks run the model shipped inside the package when no --ckpt_dir is given.
    builtin: bool = False

    @property
    def experts(self) -> bool:
        return self.boundary is not None

    @property
    def uses_clip(self) -> bool:
        return self.family == "wan2.1" and self.kind in (TaskKind.I2V, TaskKind.FLF2V)

    @property
    def vae_file(self) -> str:
        return "Wan2.2_VAE.pth" if self.kind is TaskKind.TI2V else "Wan2.1_VAE.pth"

    def default_shift(self, size: str) -> float:
        if self.shift_480p is not None and size in ("832*480", "480*832"):
            return self.shift_480p
        return self.sample_shift

    @property
    def default_size(self) -> str:
        """The official generate.py's default, 1280*720, or this task's largest size."""
        return DEFAULT_SIZE if DEFAULT_SIZE in self.sizes else self.sizes[-1]

    def check_size(self, size: str) -> None:
        if size not in self.sizes:
            raise InvalidSpec(
                f"size {size} is not supported by task {self.name}; "
                f"use --size with one of: {', '.join(self.sizes)}",
                code="unsupported_size",
            )


TASKS: dict[str, TaskPreset] = {
    preset.name: preset
    for preset in (
        TaskPreset(
            name="t2v-1.3B",
            family="wan2.1",
            kind=TaskKind.T2V,
            sizes=("480*832", "832*480"),
            sample_steps=50,
            sample_shift=5.0,
            guide_scale=(5.0, 5.0),
        ),
        TaskPreset(
            name="t2v-14B",
            family="wan2.1",
            kind=TaskKind.T2V,
            sizes=_SIZES_720_480,
            sample_steps=50,
            sample_shift=5.0,
            guide_scale=(5.0, 5.0),
        ),
        TaskPreset(
            name="i2v-14B",
            family="wan2.1",
            kind=TaskKind.I2V,
            sizes=_SIZES_720_480,
            sample_steps=40,
            sample_shift=5.0,
            shift_480p=3.0,
            guide_scale=(5.0, 5.0),
            negative_prompt=I2V_NEGATIVE_PROMPT,
        ),
        TaskPreset(
            name="flf2v-14B",
            family="wan2.1",
            kind=TaskKind.FLF2V,
            sizes=_SIZES_720_480,
            sample_steps=50,
            sample_shift=16.0,
            guide_scale=(5.0, 5.0),
            negative_prompt=FLF2V_NEGATIVE_PROMPT,
        ),
        TaskPreset(
            name="t2v-A14B",
            family="wan2.2",
            kind=TaskKind.T2V,
            sizes=_SIZES_720_480,
            sample_steps=40,
            sample_shift=12.0,
            guide_scale=(3.0, 4.0),
            boundary=0.875,
        ),
        TaskPreset(
            name="i2v-A14B",
            family="wan2.2",
            kind=TaskKind.I2V,
            sizes=_SIZES_720_480,
            sample_steps=40,
            sample_shift=5.0,
            guide_scale=(3.5, 3.5),
            boundary=0.900,
        ),
        *(
            TaskPreset(
                name=f"demo-{kind}",
                family="demo",
                kind=kind,
                sizes=("64*64",),
                sample_steps=20,
                sample_shift=3.0,
                guide_scale=(4.0, 4.0),
                negative_prompt="",
                frame_num=17,
                fps=8,
                vae_stride=(4, 4, 4),
                text_len=48,
                transformer_dir="transformer" if kind is TaskKind.T2V else "transformer_i2v",
                builtin=True,
            )
            for kind in (TaskKind.T2V, TaskKind.I2V, TaskKind.FLF2V)
        ),
        TaskPreset(
            name="ti2v-5B",
            family="wan2.2",
            kind=TaskKind.TI2V,
            sizes=("704*1280", "1280*704"),
            sample_steps=50,
            sample_shift=5.0,
            guide_scale=(5.0, 5.0),
            frame_num=121,
            fps=24,
            vae_stride=(4, 16, 16),
        ),
    )
}


def get_task(name: str) -> TaskPreset:
    try:
        return TASKS[name]
    except KeyError:
        raise InvalidSpec(
            f"unknown task {name!r}; use --task with one of: {', '.join(TASKS)}",
            code="unknown_task",
        ) from None


def parse_size(size: str) -> tuple[int, int]:
    """ "1280*720" -> (1280, 720), as (width, height)."""
    width, _, height = size.partition("*")
    if not (width.isdigit() and height.isdigit()):
        raise InvalidSpec(
            f"size {size!r} is not WIDTH*HEIGHT; use e.g. --size 832*480", code="unsupported_size"
        )
    return int(width), int(height)


def check_frame_num(frame_num: int) -> None:
    if frame_num < 1 or (frame_num - 1) % 4 != 0:
        raise InvalidSpec(
            f"frame_num {frame_num} is not of the form 4n+1; use e.g. --frame_num 81 or 17",
            code="invalid_frame_num",
        )
