"""Read a video of the synthetic world back into a `Scene`, by the world's own rules.

No learned model: the background and the lighting are known, so each frame is divided by its
estimated light, the background is taken away, and the one object left over is measured. The
detector is meant for videos the demo model generates, which are blurrier and noisier than the
world's own renders, so its decisions rest on medians, moments and robust line fits rather than
on single pixels or edges.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from kino.demo.world import COLOURS, SIZE, Scene, background

UNKNOWN = "unknown"

# The object covers at most 9% of the canvas, so the median pixel is background. For a first
# look, a pixel is object where its difference from the background exceeds half the object's
# contrast (taken at the 99.7th percentile, inside even the smallest object) and stands well
# clear of the noise.
_PEAK_QUANTILE = 0.997
_NOISE_FACTOR = 3.0
_MIN_CONTRAST = 6.0  # in 0..255 at the frame's own light: below this a frame shows no object
_COLOUR_FRAMES = 6  # frames the first look takes the object's colour from
_MIN_PIXELS = 6  # a smaller blob of half-covered pixels is noise; the smallest object has ~90
# Shape: a triangle (apex up) is bottom-heavy, skewness along y -0.57 where a circle's and a
# square's is 0; a square's `corners` is 0.6, a circle's 0 (see `_measure`).
_TRIANGLE_SKEW = -0.2
_SQUARE_CORNERS = 0.3
# Motion: the world's objects grow or shrink 2.25x in area and travel 0.52-0.64 of the canvas.
_GROWTH = 1.5
_TRAVEL = 0.25
# Lighting: night is 0.3 of daylight; sunset and sunrise change the level by 0.65.
_LIGHT_CHANGE = 0.25
_DAYLIGHT_LEVEL = 0.6
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


@dataclass(frozen=True, eq=False)  # eq=False: arrays make field-wise equality ambiguous
class Reading:
    """What the detector saw: the scene's attributes and the measurements they rest on.

    An attribute is "unknown" when no object was found. Per-frame measurements are NaN in frames
    without an object. Positions and areas are fractions of the canvas; y grows downwards.
    """

    colour: str
    shape: str
    motion: str
    lighting: str
    x: np.ndarray
    y: np.ndarray
    area: np.ndarray
    corners: np.ndarray  # how far the mass reaches into corners: square 0.6, circle 0
    skew: np.ndarray  # skewness of the mass along y; negative: bottom-heavy
    luminance: np.ndarray  # mean luma per frame, 0..1
    level: np.ndarray  # light level per frame, 1.0 = full daylight
    gain: np.ndarray  # (F, 3) per-channel light multiplier, tint included
    rgb: tuple[float, float, float]  # object colour with the light divided out


def read_video(frames: np.ndarray) -> Reading:
    """Read a uint8 (F, H, W, 3) video, F >= 2, of any roughly square size."""
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.shape[0] < 2:
        raise ValueError(f"expected a (F >= 2, H, W, 3) video, got shape {frames.shape}")
    # Channel planes (3, F, H, W) at the world's size: whole-plane arithmetic is fastest.
    video = _resample(np.moveaxis(frames, -1, 0).astype(np.float32, order="C"), SIZE)
    bg = _background()
    # Every third pixel each way is plenty for the median.
    ratio = video[:, :, ::3, ::3] / bg[:, None, ::3, ::3]
    gain = np.median(ratio.reshape(*ratio.shape[:2], -1), axis=-1)
    level = gain[0]  # the warm tint leaves red alone, so red carries the level
    # What is left after dividing out the light and taking away the background: the object.
    # The floor keeps a black frame from dividing by zero.
    residual = video / np.maximum(gain, 1e-3)[:, :, None, None] - bg[:, None]
    # Two passes: a rough look at a few frames finds the object's colour; knowing it, each
    # pixel's share of the object can be read along that one colour direction, with far less
    # noise.
    some = np.unique(np.linspace(0, len(level) - 1, _COLOUR_FRAMES).round().astype(int))
    f, h, w = np.nonzero(_object_core(residual[:, some], level[some]))
    f = some[f]
    rgb = np.median(residual[:, f, h, w] + bg[:, h, w], axis=1) if len(f) else np.full(3, np.nan)
    alpha = _coverage(residual, bg, rgb)
    mask = _largest_component(_box3(alpha) > 0.5)
    found = mask.sum(axis=(1, 2)) >= _MIN_PIXELS
    # Two pixels beyond the mask take in blurred edges and the faint tip of a triangle.
    blob = _measure(alpha * (_dilate(mask, 2) & found[:, None, None]))
    return Reading(
        colour=_colour(rgb),
        shape=_shape(blob.corners, blob.skew),
        motion=_motion(blob.x, blob.y, blob.area),
        lighting=_lighting(level),
        x=blob.x,
        y=blob.y,
        area=blob.area,
        corners=blob.corners,
        skew=blob.skew,
        luminance=_LUMA @ video.mean(axis=(2, 3)) / 255,
        level=level,
        gain=gain.T,
        rgb=(float(rgb[0]), float(rgb[1]), float(rgb[2])),
    )


def score(expected: Scene, reading: Reading) -> dict[str, bool]:
    """Which of the scene's attributes the reading got right."""
    return {
        "shape": reading.shape == expected.shape,
        "colour": reading.colour == expected.colour,
        "motion": reading.motion == expected.motion,
        "lighting": reading.lighting == expected.lighting,
    }


@dataclass(frozen=True, eq=False)
class _Blob:
    """Per-frame measurements of the object's coverage, NaN where there is none."""

    x: np.ndarray
    y: np.ndarray
    area: np.ndarray
    corners: np.ndarray
    skew: np.ndarray


@cache
def _background() -> np.ndarray:
    """The world's background as channel planes (3, H, W)."""
    return np.ascontiguousarray(np.moveaxis(background(SIZE), -1, 0), dtype=np.float32)


def _resample(planes: np.ndarray, size: int) -> np.ndarray:
    """Area-weighted resize of (C, F, H, W) to (C, F, size, size)."""
    if planes.shape[2:] == (size, size):
        return planes
    rows, cols = _area_weights(planes.shape[2], size), _area_weights(planes.shape[3], size)
    return np.einsum("oh,cfhw,pw->cfop", rows, planes, cols, optimize=True)


def _area_weights(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in): how much of each output cell each input pixel covers."""
    edges = np.linspace(0, n_in, n_out + 1)
    pixels = np.arange(n_in)
    overlap = np.minimum(edges[1:, None], pixels + 1) - np.maximum(edges[:-1, None], pixels)
    weights = np.clip(overlap, 0, None)
    return (weights / weights.sum(axis=1, keepdims=True)).astype(np.float32)


def _object_core(residual: np.ndarray, level: np.ndarray) -> np.ndarray:
    """Pixels well inside the object, whatever its colour, (F, H, W).

    `residual` is (3, F, H, W), the light-normalised frame minus the background. It is smoothed
    over 3x3 pixels first, which divides per-pixel noise by three. The object is each frame's
    largest blob beyond half the peak difference; its core, beyond three quarters.
    """
    smooth = _box3(residual)
    diff = np.sqrt(smooth[0] ** 2 + smooth[1] ** 2 + smooth[2] ** 2)
    flat = diff.reshape(len(diff), -1)
    k = int(_PEAK_QUANTILE * flat.shape[1])
    peak = np.partition(flat, k, axis=1)[:, k]
    noise = np.median(flat[:, ::3], axis=1)
    present = (peak > _NOISE_FACTOR * noise) & (peak * level > _MIN_CONTRAST)
    threshold = np.maximum(0.5 * peak, _NOISE_FACTOR * noise)[:, None, None]
    blob = _largest_component((diff > threshold) & present[:, None, None])
    core = blob & (diff > 1.5 * threshold)
    return core | (blob & ~core.any(axis=(1, 2), keepdims=True))


def _coverage(residual: np.ndarray, bg: np.ndarray, rgb: np.ndarray) -> np.ndarray:
    """How much of each pixel an object of colour `rgb` covers, (F, H, W), about 0..1.

    Each pixel's residual is projected onto the step from the background's colour to the
    object's, which keeps anti-aliased and blurred edges at their share instead of cutting them.
    """
    if np.isnan(rgb).any():
        return np.zeros(residual.shape[1:], dtype=residual.dtype)
    step = rgb[:, None, None] - bg
    step /= (step**2).sum(axis=0)
    return residual[0] * step[0] + residual[1] * step[1] + residual[2] * step[2]


def _measure(alpha: np.ndarray) -> _Blob:
    """Position, size and shape of the coverage (F, H, W), all from its moments.

    Moments rather than edges: noise and blur move a blob's edges, but noise adds nothing to its
    moments on average and blur leaves its mass and centre where they were.
    """
    size = alpha.shape[1]
    centres = (np.arange(size, dtype=np.float32) + 0.5) / size
    rows = alpha.sum(axis=2)  # (F, H)
    area = rows.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        area = np.where(area > 0, area, np.nan)
        x = alpha.sum(axis=1) @ centres / area
        y = rows @ centres / area
        u = centres[None, :] - x[:, None]  # (F, W)
        v = centres[None, :] - y[:, None]  # (F, H)
        # m[a, b] = mean of u^a v^b over the coverage, for a + b <= 4.
        by_row = np.stack([np.einsum("fhw,fw->fh", alpha, u**a) for a in range(5)])
        m = np.einsum("afh,bfh->abf", by_row, np.stack([v**b for b in range(5)])) / area

        def kurtosis(sign: int) -> np.ndarray:
            """Of the mass along u + sign * v; sign 0 gives the kurtosis along u alone."""
            var = m[2, 0] + 2 * sign * m[1, 1] + sign**2 * m[0, 2]
            fourth = sum(c * sign**b * m[4 - b, b] for b, c in enumerate((1, 4, 6, 4, 1)))
            return fourth / var**2

        # A square's mass reaches further along its diagonals than along its sides (kurtosis
        # 2.4 against 1.8); a circle's is the same every way (2.0).
        along_v = m[0, 4] / m[0, 2] ** 2
        corners = (kurtosis(1) + kurtosis(-1)) / 2 - (kurtosis(0) + along_v) / 2
        skew = m[0, 3] / m[0, 2] ** 1.5
    return _Blob(x=x, y=y, area=area / size**2, corners=corners, skew=skew)


def _box3(image: np.ndarray) -> np.ndarray:
    """3x3 mean over the last two axes, edges repeated."""
    return _sum3(_sum3(image, -2), -1) / 9


def _sum3(image: np.ndarray, axis: int) -> np.ndarray:
    """Each element plus its two neighbours along `axis` (negative), edges repeated."""
    rest = (slice(None),) * (-axis - 1)
    out = image.copy()
    out[(..., slice(1, None), *rest)] += image[(..., slice(None, -1), *rest)]
    out[(..., slice(None, -1), *rest)] += image[(..., slice(1, None), *rest)]
    out[(..., 0, *rest)] += image[(..., 0, *rest)]
    out[(..., -1, *rest)] += image[(..., -1, *rest)]
    return out


def _dilate(mask: np.ndarray, reach: int) -> np.ndarray:
    """Grow a (F, H, W) mask by `reach` pixels each way, diagonals included."""
    out = mask
    for axis in (1, 2):
        grown = out.copy()
        for shift in range(1, reach + 1):
            ahead = (slice(None),) * axis + (slice(shift, None),)
            behind = (slice(None),) * axis + (slice(None, -shift),)
            grown[ahead] |= out[behind]
            grown[behind] |= out[ahead]
        out = grown
    return out


def _largest_component(mask: np.ndarray) -> np.ndarray:
    """Keep each frame's largest 8-connected component of a (F, H, W) mask.

    Works on runs of set pixels along rows: runs in neighbouring rows that touch (diagonals
    count) are joined, and a frame holds far fewer runs than pixels.
    """
    f, h, w = mask.shape
    # A run starts where a set pixel follows an unset one and ends before the next unset one.
    padded = np.zeros((f, h, w + 2), dtype=bool)
    padded[:, :, 1:-1] = mask
    starts = padded[:, :, 1:] & ~padded[:, :, :-1]  # (F, H, W + 1), at the run's first pixel
    first = np.flatnonzero(starts)
    if len(first) == 0:
        return mask
    last = np.flatnonzero(padded[:, :, :-1] & ~padded[:, :, 1:])  # one past the run's last pixel
    line, start = np.divmod(first, w + 1)
    end = last % (w + 1)
    frame, row = np.divmod(line, h)
    # Pair each run with every run of the row above it and keep the pairs that touch.
    lo = np.searchsorted(line, line - 1, side="left")
    count = np.searchsorted(line, line - 1, side="right") - lo
    below = np.repeat(np.arange(len(line)), count)
    above = lo[below] + np.arange(len(below)) - np.repeat(np.cumsum(count) - count, count)
    touch = (start[above] <= end[below]) & (start[below] <= end[above]) & (row[below] > 0)
    above, below = above[touch], below[touch]
    # Each run takes the smallest run index in its component: spread it along the pairs and
    # jump pointers until nothing changes.
    label = np.arange(len(line))
    while True:
        new = label.copy()
        np.minimum.at(new, below, label[above])
        np.minimum.at(new, above, label[below])
        new = new[new]
        if np.array_equal(new, label):
            break
        label = new
    size = np.bincount(label, weights=end - start, minlength=len(line))
    # The largest component per frame: order components by frame, then size; take each last.
    roots = np.unique(label)
    order = roots[np.lexsort((size[roots], frame[roots]))]
    last_of_frame = np.r_[frame[order][1:] != frame[order][:-1], True]
    keep = np.isin(label, order[last_of_frame])
    # The mask's pixels in reading order are its runs' pixels, run after run.
    out = np.zeros_like(mask)
    out.flat[np.flatnonzero(mask)[np.repeat(keep, end - start)]] = True
    return out


def _colour(rgb: np.ndarray) -> str:
    """The world colour nearest to the light-normalised object colour."""
    if np.isnan(rgb).any():
        return UNKNOWN
    names = list(COLOURS)
    palette = np.array([COLOURS[n] for n in names], dtype=np.float64)
    return names[int(np.argmin(np.linalg.norm(palette - rgb, axis=1)))]


def _shape(corners: np.ndarray, skew: np.ndarray) -> str:
    found = ~np.isnan(corners) & ~np.isnan(skew)
    if not found.any():
        return UNKNOWN
    if np.median(skew[found]) < _TRIANGLE_SKEW:
        return "triangle"
    return "square" if np.median(corners[found]) > _SQUARE_CORNERS else "circle"


def _motion(x: np.ndarray, y: np.ndarray, area: np.ndarray) -> str:
    """The stronger of two cues, each measured against its own threshold: the area trend (grows,
    shrinks) and the centre's travel (the four directions).

    In the world a moving object keeps its size and a growing one stays put, so one cue is always
    near zero. A generated object's soft edge can change as it moves; a video whose object
    travels 0.5 of the canvas while its area falls 0.7x still moves, and reads as moving.
    """
    found = ~np.isnan(area)
    if found.sum() < 2:
        return UNKNOWN
    t = np.linspace(0.0, 1.0, len(area))[found]
    log_growth = _slope(t, np.log(area[found]))
    dx, dy = _slope(t, x[found]), _slope(t, y[found])
    size_change = abs(log_growth) / np.log(_GROWTH)
    travel = max(abs(dx), abs(dy)) / _TRAVEL
    if max(size_change, travel) < 1:
        return "still"
    if size_change > travel:
        return "grows" if log_growth > 0 else "shrinks"
    if abs(dx) >= abs(dy):
        return "left_to_right" if dx > 0 else "right_to_left"
    return "down" if dy > 0 else "up"


def _lighting(level: np.ndarray) -> str:
    """From the light level's change between the first and the last third of the video."""
    n = max(1, len(level) // 3)
    change = level[-n:].mean() - level[:n].mean()
    if change < -_LIGHT_CHANGE:
        return "sunset"
    if change > _LIGHT_CHANGE:
        return "sunrise"
    return "daylight" if level.mean() > _DAYLIGHT_LEVEL else "night"


def _slope(t: np.ndarray, v: np.ndarray) -> float:
    """Theil-Sen slope of v over t: the median of all pairwise slopes, so a few frames read
    wrongly cannot tip it. With t spanning 0..1 it is the change from start to end."""
    i, j = np.triu_indices(len(t), k=1)
    return float(np.median((v[j] - v[i]) / (t[j] - t[i])))
