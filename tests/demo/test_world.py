"""The synthetic world draws what it promises, measured from the pixels it renders."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from kino.demo.world import (
    COLOURS,
    LANE,
    LIGHTINGS,
    MOTIONS,
    SHAPES,
    SIZE,
    Scene,
    all_scenes,
    background,
    held_out_scenes,
    render,
    track,
    training_scenes,
)

LUMA = np.array([0.299, 0.587, 0.114])


def coverage_from_pixels(video: np.ndarray, colour: str) -> np.ndarray:
    """How much of each pixel of a daylight video (F, H, W, 3) the object covers, (F, H, W).

    Each pixel is placed on the line from the background's colour to the object's.
    """
    bg = background(video.shape[1])
    step = np.asarray(COLOURS[colour], dtype=np.float64) - bg
    return ((video - bg) * step).sum(axis=-1) / (step**2).sum(axis=-1)


def centroid(alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centre of the coverage (F, H, W) per frame, as fractions of the canvas."""
    centres = (np.arange(alpha.shape[1]) + 0.5) / alpha.shape[1]
    area = alpha.sum(axis=(1, 2))
    return alpha.sum(axis=1) @ centres / area, alpha.sum(axis=2) @ centres / area


def test_background_is_a_bright_blue_grey_sky_over_darker_ground() -> None:
    frame = render(Scene("circle", "red", "still", "daylight"), seed=0)[0].astype(float)
    sky, ground = frame[0].mean(axis=0), frame[-4:].reshape(-1, 3).mean(axis=0)
    assert sky @ LUMA > ground @ LUMA + 40
    assert sky[2] > sky[1] > sky[0]  # blue-grey: blue leads
    assert ground[0] > ground[2]  # earthy: red leads


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("colour", list(COLOURS))
def test_object_centre_in_daylight_is_its_colour(shape: str, colour: str) -> None:
    scene = Scene(shape, colour, "still", "daylight")
    path = track(scene, seed=3)
    frame = render(scene, seed=3)[0].astype(int)
    pixel = frame[int(path.y[0] * SIZE), int(path.x[0] * SIZE)]
    np.testing.assert_allclose(pixel, COLOURS[colour], atol=2)


def test_night_is_three_tenths_of_daylight() -> None:
    day = render(Scene("square", "yellow", "left_to_right", "daylight"), seed=5)
    night = render(Scene("square", "yellow", "left_to_right", "night"), seed=5)
    np.testing.assert_allclose(night, 0.3 * day.astype(float), atol=2)


@pytest.mark.parametrize(
    ("lighting", "start", "end"), [("sunset", 1.0, 0.35), ("sunrise", 0.35, 1.0)]
)
def test_sunset_and_sunrise_change_the_light_smoothly_and_warmly(
    lighting: str, start: float, end: float
) -> None:
    day = render(Scene("circle", "blue", "still", "daylight"), seed=2).astype(float)
    lit = render(Scene("circle", "blue", "still", lighting), seed=2).astype(float)
    # Per-channel multiplier of each frame against daylight; red is untouched by the tint.
    gain = lit.mean(axis=(1, 2)) / day.mean(axis=(1, 2))
    assert gain[0, 0] == pytest.approx(start, abs=0.01)
    assert gain[-1, 0] == pytest.approx(end, abs=0.01)
    luminance = lit.mean(axis=(1, 2)) @ LUMA / (day.mean(axis=(1, 2)) @ LUMA)
    steps = np.diff(luminance) * np.sign(end - start)
    assert (steps >= 0).all()  # monotone
    assert steps.max() < 0.1  # no jumps
    warm = 0 if lighting == "sunrise" else -1
    assert gain[warm, 2] < 0.7 * gain[warm, 0]  # blue held back at the dusky end
    assert gain[-1 - warm, 2] == pytest.approx(gain[-1 - warm, 0], abs=0.01)  # neutral end


@pytest.mark.parametrize(
    ("motion", "axis", "sign"),
    [("left_to_right", 0, 1), ("right_to_left", 0, -1), ("up", 1, -1), ("down", 1, 1)],
)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_directional_motions_cross_half_the_canvas(
    motion: str, axis: int, sign: int, seed: int
) -> None:
    video = render(Scene("triangle", "green", motion, "daylight"), seed)
    centre = centroid(coverage_from_pixels(video, "green"))
    along, across = centre[axis], centre[1 - axis]
    assert sign * (along[-1] - along[0]) >= 0.5
    assert np.ptp(across) < 0.5 / SIZE


@pytest.mark.parametrize("motion", MOTIONS)
def test_the_object_keeps_to_the_middle_across_its_path(motion: str) -> None:
    # Centroid axes across the direction of travel (0: x, 1: y); a still, growing or shrinking
    # object sits in the middle both ways.
    across = {"left_to_right": (1,), "right_to_left": (1,), "up": (0,), "down": (0,)}
    for seed in range(6):
        video = render(Scene("square", "red", motion, "daylight"), seed)
        centre = centroid(coverage_from_pixels(video, "red"))
        for axis in across.get(motion, (0, 1)):
            assert LANE[0] - 0.5 / SIZE <= centre[axis].mean() <= LANE[1] + 0.5 / SIZE


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(("motion", "ratio"), [("grows", 2.0), ("shrinks", 0.5)])
def test_growing_and_shrinking_change_the_area_at_least_twofold(
    shape: str, motion: str, ratio: float
) -> None:
    video = render(Scene(shape, "red", motion, "daylight"), seed=4)
    area = coverage_from_pixels(video, "red").sum(axis=(1, 2))
    change = area[-1] / area[0]
    assert change >= ratio if ratio > 1 else change <= ratio


@pytest.mark.parametrize("shape", SHAPES)
def test_still_objects_stay_put(shape: str) -> None:
    x, y = centroid(
        coverage_from_pixels(render(Scene(shape, "white", "still", "daylight"), 6), "white")
    )
    assert np.ptp(x) < 0.1 / SIZE
    assert np.ptp(y) < 0.1 / SIZE


@pytest.mark.parametrize("shape", SHAPES)
def test_object_height_is_a_fifth_to_three_tenths_of_the_canvas(shape: str) -> None:
    for seed in range(8):
        alpha = coverage_from_pixels(render(Scene(shape, "blue", "up", "daylight"), seed), "blue")
        # The tallest column of the coverage is the object's height.
        height = alpha.sum(axis=1).max(axis=1) / SIZE
        assert (height > 0.2 - 0.01).all()
        assert (height < 0.3 + 0.01).all()


def test_render_is_a_pure_function_of_scene_and_seed() -> None:
    scene = Scene("circle", "yellow", "down", "sunrise")
    np.testing.assert_array_equal(render(scene, seed=7), render(scene, seed=7))
    assert not np.array_equal(render(scene, seed=7), render(scene, seed=8))


def test_a_tenth_is_held_out_and_training_still_sees_every_value_and_pair() -> None:
    training, held_out = training_scenes(), held_out_scenes()
    assert len(all_scenes()) == 420
    assert len(held_out) == 42
    assert set(training) | set(held_out) == set(all_scenes())
    assert not set(training) & set(held_out)
    values = [SHAPES, list(COLOURS), MOTIONS, LIGHTINGS]
    rows = [(s.shape, s.colour, s.motion, s.lighting) for s in training]
    for i, allowed in enumerate(values):
        assert {row[i] for row in rows} == set(allowed)
    for i, j in itertools.combinations(range(4), 2):
        assert {(row[i], row[j]) for row in rows} == set(itertools.product(values[i], values[j]))
