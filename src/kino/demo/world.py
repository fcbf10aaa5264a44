"""The synthetic video world the demo model is trained on.

One object (a circle, square or triangle in one of five colours) moves over a fixed sky-and-ground
background under one of four lightings. Everything is a pure function of a `Scene` and a seed, so
the same call always gives the same pixels, and the evaluation's detector can read videos back by
the same rules.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

SIZE = 64
FRAMES = 17
FPS = 8

SHAPES = ("circle", "square", "triangle")
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "green": (40, 180, 60),
    "blue": (40, 80, 220),
    "yellow": (230, 210, 40),
    "white": (240, 240, 240),
}
MOTIONS = ("left_to_right", "right_to_left", "up", "down", "grows", "shrinks", "still")
LIGHTINGS = ("daylight", "night", "sunset", "sunrise")
# Every attribute of a `Scene` and the values it can take.
ATTRIBUTE_VALUES: dict[str, tuple[str, ...]] = {
    "shape": SHAPES,
    "colour": tuple(COLOURS),
    "motion": MOTIONS,
    "lighting": LIGHTINGS,
}

# Object height as a fraction of the canvas.
MIN_HEIGHT, MAX_HEIGHT = 0.20, 0.30
# Where the object's path lies across its direction of travel (and where a still object sits):
# near the middle, so that a caption leaves one place for it.
LANE = (0.46, 0.54)
NIGHT_LEVEL = 0.3
DUSK_LEVEL = 0.35
# Colour multipliers of the warm tint at full strength (sunset's end, sunrise's start).
WARM_TINT = (1.0, 0.85, 0.62)
HORIZON = 0.62
SKY_TOP, SKY_HORIZON = (150, 168, 190), (120, 134, 152)
GROUND_HORIZON, GROUND_BOTTOM = (96, 90, 80), (62, 58, 52)
# Triangle base width relative to its height (an equilateral triangle is 1.155).
TRIANGLE_BASE = 1.155
_SUPERSAMPLE = 4


@dataclass(frozen=True)
class Scene:
    """What a video shows: the parameters its captions are written from."""

    shape: str
    colour: str
    motion: str
    lighting: str

    def __post_init__(self) -> None:
        for attribute, allowed in ATTRIBUTE_VALUES.items():
            value = getattr(self, attribute)
            if value not in allowed:
                raise ValueError(f"{value!r} is not one of {', '.join(allowed)}")


@dataclass(frozen=True)
class Track:
    """Where the object is in each frame: centre and height as fractions of the canvas."""

    x: np.ndarray
    y: np.ndarray
    height: np.ndarray


def all_scenes() -> list[Scene]:
    return [Scene(*p) for p in itertools.product(SHAPES, COLOURS, MOTIONS, LIGHTINGS)]


def is_held_out(scene: Scene) -> bool:
    """The fixed tenth of combinations kept out of training for the evaluation.

    Every single value and every pair of values still appears in training; only these full
    combinations are new to the model.
    """
    s = SHAPES.index(scene.shape)
    c = list(COLOURS).index(scene.colour)
    m = MOTIONS.index(scene.motion)
    light = LIGHTINGS.index(scene.lighting)
    return (s + 2 * c + 3 * m + 5 * light) % 10 == 0


def training_scenes() -> list[Scene]:
    return [s for s in all_scenes() if not is_held_out(s)]


def held_out_scenes() -> list[Scene]:
    return [s for s in all_scenes() if is_held_out(s)]


def progress(frames: int = FRAMES) -> np.ndarray:
    return np.linspace(0.0, 1.0, frames)


def track(scene: Scene, seed: int, frames: int = FRAMES) -> Track:
    """The object's path; the seed varies where it starts, its size and its lane."""
    rng = np.random.default_rng(seed)
    p = progress(frames)
    height = np.full(frames, rng.uniform(MIN_HEIGHT, MAX_HEIGHT))
    lane = rng.uniform(*LANE)
    start, end = rng.uniform(0.18, 0.24), rng.uniform(0.76, 0.82)
    along = start + (end - start) * p
    if scene.motion == "left_to_right":
        x, y = along, np.full(frames, lane)
    elif scene.motion == "right_to_left":
        x, y = 1.0 - along, np.full(frames, lane)
    elif scene.motion == "up":
        x, y = np.full(frames, lane), 1.0 - along
    elif scene.motion == "down":
        x, y = np.full(frames, lane), along
    else:
        x = np.full(frames, rng.uniform(*LANE))
        y = np.full(frames, rng.uniform(*LANE))
        if scene.motion == "grows":
            height = MIN_HEIGHT + (MAX_HEIGHT - MIN_HEIGHT) * p
        elif scene.motion == "shrinks":
            height = MAX_HEIGHT - (MAX_HEIGHT - MIN_HEIGHT) * p
    return Track(x=x, y=y, height=height)


def light(lighting: str, frames: int = FRAMES) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame light level (F,) and colour tint (F, 3); the frame is multiplied by both."""
    # Cosine ease: the light changes smoothly, slowest at the ends.
    ease = 0.5 - 0.5 * np.cos(np.pi * progress(frames))
    if lighting == "daylight":
        level, warmth = np.ones(frames), np.zeros(frames)
    elif lighting == "night":
        level, warmth = np.full(frames, NIGHT_LEVEL), np.zeros(frames)
    elif lighting == "sunset":
        level, warmth = 1.0 - (1.0 - DUSK_LEVEL) * ease, ease
    else:
        level, warmth = DUSK_LEVEL + (1.0 - DUSK_LEVEL) * ease, 1.0 - ease
    tint = 1.0 - warmth[:, None] * (1.0 - np.asarray(WARM_TINT))[None, :]
    return level, tint


def background(size: int = SIZE) -> np.ndarray:
    """The sky-over-ground gradient at full light, float (H, W, 3) in 0..255."""
    v = (np.arange(size) + 0.5) / size
    sky = _lerp(SKY_TOP, SKY_HORIZON, np.clip(v / HORIZON, 0, 1))
    ground = _lerp(GROUND_HORIZON, GROUND_BOTTOM, np.clip((v - HORIZON) / (1 - HORIZON), 0, 1))
    rows = np.where((v < HORIZON)[:, None], sky, ground)
    return np.repeat(rows[:, None, :], size, axis=1)


def coverage(shape: str, x: float, y: float, height: float, size: int = SIZE) -> np.ndarray:
    """How much of each pixel the object covers, (H, W) in 0..1 (anti-aliased)."""
    n = size * _SUPERSAMPLE
    c = (np.arange(n) + 0.5) / n
    px, py = c[None, :], c[:, None]
    half = height / 2
    if shape == "circle":
        inside = (px - x) ** 2 + (py - y) ** 2 <= half**2
    elif shape == "square":
        inside = (np.abs(px - x) <= half) & (np.abs(py - y) <= half)
    else:
        # Apex up; the half-width grows linearly from 0 at the apex to half the base at the bottom.
        depth = (py - (y - half)) / height
        inside = (
            (depth >= 0) & (depth <= 1) & (np.abs(px - x) <= depth * height * TRIANGLE_BASE / 2)
        )
    return inside.reshape(size, _SUPERSAMPLE, size, _SUPERSAMPLE).mean(axis=(1, 3))


def path_coverage(shape: str, path: Track, size: int = SIZE) -> np.ndarray:
    """`coverage` in every frame of `path`, (F, H, W)."""
    return np.stack(
        [
            coverage(shape, x, y, h, size)
            for x, y, h in zip(path.x, path.y, path.height, strict=True)
        ]
    )


def render(scene: Scene, seed: int, frames: int = FRAMES, size: int = SIZE) -> np.ndarray:
    """The video of `scene`, uint8 (F, H, W, 3)."""
    path = track(scene, seed, frames)
    return paint(scene.shape, scene.colour, path, scene.lighting, size)


def paint(shape: str, colour: str, path: Track, lighting: str, size: int = SIZE) -> np.ndarray:
    """The object drawn along `path` under `lighting`, uint8 (F, H, W, 3)."""
    frames = len(path.x)
    level, tint = light(lighting, frames)
    bg = background(size)
    rgb = np.asarray(COLOURS[colour], dtype=np.float64)
    out = np.empty((frames, size, size, 3), dtype=np.uint8)
    for f, cover in enumerate(path_coverage(shape, path, size)):
        a = cover[..., None]
        lit = (bg * (1 - a) + rgb * a) * level[f] * tint[f]
        out[f] = np.clip(np.rint(lit), 0, 255).astype(np.uint8)
    return out


def _lerp(a: tuple[int, ...], b: tuple[int, ...], t: np.ndarray) -> np.ndarray:
    return np.asarray(a)[None, :] * (1 - t[:, None]) + np.asarray(b)[None, :] * t[:, None]
