"""The detector reads the world's videos back, exactly when clean and nearly so when degraded."""

from __future__ import annotations

import numpy as np
import pytest

from kino.demo.detector import UNKNOWN, read_video, score
from kino.demo.world import Scene, Track, all_scenes, background, light, paint, render, track

SEEDS = (0,)


@pytest.fixture(scope="module")
def videos() -> list[tuple[Scene, np.ndarray]]:
    """Every scene of the world, rendered with each seed."""
    return [(scene, render(scene, seed)) for scene in all_scenes() for seed in SEEDS]


def degrade(video: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A slight Gaussian blur (sigma 0.7 px) and Gaussian noise (sigma 8)."""
    taps = np.exp(-0.5 * (np.arange(-2, 3) / 0.7) ** 2).astype(np.float32)
    taps /= taps.sum()
    out = video.astype(np.float32)
    for axis in (1, 2):
        padded = np.pad(out, [(2, 2) if a == axis else (0, 0) for a in range(4)], mode="edge")
        n = out.shape[axis]
        shifted = [padded[(slice(None),) * axis + (slice(i, i + n),)] for i in range(5)]
        out = sum(t * s for t, s in zip(taps, shifted, strict=True))
    out += rng.normal(0.0, 8.0, out.shape).astype(np.float32)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def test_reads_every_scene_of_the_world_exactly(videos: list[tuple[Scene, np.ndarray]]) -> None:
    wrong = []
    for scene, video in videos:
        reading = read_video(video)
        if not all(score(scene, reading).values()):
            wrong.append((scene, reading.shape, reading.colour, reading.motion, reading.lighting))
    assert wrong == []


def test_reads_blurred_noisy_videos_nearly_always(videos: list[tuple[Scene, np.ndarray]]) -> None:
    rng = np.random.default_rng(0)
    sample = videos[::5]
    right = [all(score(s, read_video(degrade(v, rng))).values()) for s, v in sample]
    assert np.mean(right) >= 0.95


def test_measurements_follow_the_world_truth() -> None:
    scene = Scene("circle", "green", "left_to_right", "sunset")
    reading = read_video(render(scene, seed=3))
    path, (level, tint) = track(scene, seed=3), light("sunset")
    np.testing.assert_allclose(reading.x, path.x, atol=0.5 / 64)
    np.testing.assert_allclose(reading.y, path.y, atol=0.5 / 64)
    np.testing.assert_allclose(reading.area, np.pi * (path.height / 2) ** 2, rtol=0.05)
    np.testing.assert_allclose(reading.level, level, atol=0.01)
    np.testing.assert_allclose(reading.gain, level[:, None] * tint, atol=0.01)
    np.testing.assert_allclose(reading.rgb, (40, 180, 60), atol=3)


@pytest.mark.parametrize("size", [32, 128])
def test_reads_other_sizes(size: int) -> None:
    scene = Scene("triangle", "yellow", "down", "sunrise")
    assert all(score(scene, read_video(render(scene, seed=1, size=size))).values())


def test_reads_a_stretched_video() -> None:
    scene = Scene("circle", "white", "right_to_left", "daylight")
    wide = np.repeat(render(scene, seed=2), 2, axis=2)
    assert all(score(scene, read_video(wide)).values())


@pytest.mark.parametrize("frames", [2, 5])
def test_reads_short_videos(frames: int) -> None:
    scene = Scene("square", "blue", "shrinks", "night")
    assert all(score(scene, read_video(render(scene, seed=1, frames=frames))).values())


@pytest.mark.parametrize("sigma", [0.0, 8.0])
def test_an_empty_scene_has_no_object_but_has_light(sigma: float) -> None:
    level, tint = light("night")
    lit = background()[None] * (level[:, None] * tint)[:, None, None, :]
    noise = np.random.default_rng(0).normal(0.0, sigma, lit.shape)
    reading = read_video(np.clip(np.rint(lit + noise), 0, 255).astype(np.uint8))
    assert (reading.shape, reading.colour, reading.motion) == (UNKNOWN, UNKNOWN, UNKNOWN)
    assert reading.lighting == "night"
    assert np.isnan(reading.area).all()


@pytest.mark.parametrize(
    ("x", "height", "motion"),
    [
        # Travels half the canvas while its area falls to 0.6x: generated objects' soft edges do
        # this, and the travel (2x its threshold) outweighs the size change (1.3x its).
        ((0.25, 0.75), (0.30, 0.23), "left_to_right"),
        ((0.75, 0.25), (0.23, 0.30), "right_to_left"),
        # Grows 2.25x while drifting 0.3 of the canvas: the size change (2x) outweighs the
        # drift (1.2x).
        ((0.35, 0.65), (0.20, 0.30), "grows"),
        # Neither cue reaches its threshold.
        ((0.45, 0.55), (0.25, 0.28), "still"),
    ],
)
def test_motion_is_the_stronger_cue(x: tuple, height: tuple, motion: str) -> None:
    path = Track(*(np.linspace(*pair, 17) for pair in (x, (0.4, 0.4), height)))
    assert read_video(paint("circle", "red", path, "daylight")).motion == motion


def test_score_marks_each_attribute() -> None:
    reading = read_video(render(Scene("circle", "red", "up", "daylight"), seed=0))
    assert score(Scene("square", "red", "up", "night"), reading) == {
        "shape": False,
        "colour": True,
        "motion": True,
        "lighting": False,
    }


def test_a_black_video_is_night_without_an_object() -> None:
    reading = read_video(np.zeros((5, 64, 64, 3), dtype=np.uint8))
    assert (reading.shape, reading.lighting) == (UNKNOWN, "night")


def test_rejects_what_is_not_a_video() -> None:
    with pytest.raises(ValueError, match="video"):
        read_video(np.zeros((1, 64, 64, 3), dtype=np.uint8))
