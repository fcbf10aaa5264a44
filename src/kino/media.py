"""Video and image files: H.264 MP4 through PyAV, PNG frames, provenance metadata."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
from PIL import Image

from kino.spec import Video

# The official save_video writes libx264 through imageio with quality=8, which imageio-ffmpeg
# turns into -crf int((1 - 8/10) * 51) = 10.
H264_CRF = 10
METADATA_KEY = "comment"


def write_mp4(video: Video, path: Path) -> Path:
    """Write H.264 yuv420p at the video's fps; provenance goes into the container's comment tag."""
    path.parent.mkdir(parents=True, exist_ok=True)
    height, width = video.frames.shape[1:3]
    with av.open(str(path), mode="w", format="mp4") as container:
        container.metadata[METADATA_KEY] = json.dumps(video.metadata, ensure_ascii=False)
        stream = container.add_stream("libx264", rate=Fraction(video.fps))
        stream.width = width
        stream.height = height
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(H264_CRF)}
        for frame in video.frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def write_sidecar(video: Video, path: Path) -> Path:
    """The same provenance as a JSON file next to the MP4 (<name>.json)."""
    sidecar = path.with_suffix(".json")
    sidecar.write_text(json.dumps(video.metadata, ensure_ascii=False, indent=2) + "\n")
    return sidecar


def write_frames(video: Video, folder: Path) -> list[Path]:
    """Every frame as a lossless PNG: frame_00000.png, frame_00001.png, ..."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, frame in enumerate(video.frames):
        target = folder / f"frame_{index:05d}.png"
        Image.fromarray(frame).save(target)
        paths.append(target)
    return paths


def read_mp4(path: Path) -> Video:
    """Decode an MP4 back into frames, fps and the provenance kino wrote into it."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        fps = stream.average_rate or stream.base_rate
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)]
        raw = container.metadata.get(METADATA_KEY)
    metadata: dict[str, Any] = json.loads(raw) if raw else {}
    return Video(frames=np.stack(frames), fps=round(float(fps)), metadata=metadata)
