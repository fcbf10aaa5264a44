"""MP4s written with PyAV decode back with their frames, fps and provenance."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from kino.media import read_mp4, write_frames, write_mp4, write_sidecar
from kino.spec import Video


def gradient_video(frames: int = 5, height: int = 48, width: int = 64) -> Video:
    y, x = np.mgrid[0:height, 0:width]
    data = np.stack(
        [np.stack([(x * 4 + t * 10) % 256, (y * 5) % 256, np.full_like(x, 128)], -1)
         for t in range(frames)]
    ).astype(np.uint8)  # fmt: skip
    return Video(frames=data, fps=24, metadata={"prompt": "一只猫 walks", "seed": 7})


def test_mp4_round_trip(tmp_path: Path) -> None:
    video = gradient_video()
    path = write_mp4(video, tmp_path / "out.mp4")
    decoded = read_mp4(path)
    assert decoded.frames.shape == video.frames.shape
    assert decoded.fps == 24
    assert decoded.metadata == {"prompt": "一只猫 walks", "seed": 7}
    # H.264 at crf 10 on a smooth gradient: close, not exact.
    assert np.abs(decoded.frames.astype(int) - video.frames.astype(int)).mean() < 3.0


def test_mp4_is_h264_yuv420p(tmp_path: Path) -> None:
    import av

    path = write_mp4(gradient_video(), tmp_path / "out.mp4")
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"


def test_sidecar_and_lossless_frames(tmp_path: Path) -> None:
    video = gradient_video(frames=3)
    sidecar = write_sidecar(video, tmp_path / "clip.mp4")
    assert sidecar.name == "clip.json"
    assert json.loads(sidecar.read_text())["seed"] == 7
    paths = write_frames(video, tmp_path / "frames")
    assert [p.name for p in paths] == ["frame_00000.png", "frame_00001.png", "frame_00002.png"]
    for path, frame in zip(paths, video.frames, strict=True):
        assert np.array_equal(np.asarray(Image.open(path)), frame)
