"""The demo tasks through generate.py: t2v, i2v and flf2v on a demo-architecture model folder."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from kino.media import read_mp4

ROOT = Path(__file__).resolve().parents[2]


def _generate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "generate.py"), "--sample_steps", "2", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_demo_flf2v_from_two_pngs(demo_model: Path, tmp_path: Path) -> None:
    first, last = tmp_path / "a.png", tmp_path / "b.png"
    Image.new("RGB", (64, 64), (200, 30, 30)).save(first)
    Image.new("RGB", (64, 64), (30, 30, 200)).save(last)
    out = tmp_path / "flf2v.mp4"
    result = _generate(
        "--task", "demo-flf2v", "--ckpt_dir", str(demo_model), "--prompt", "a red ball",
        "--first_frame", str(first), "--last_frame", str(last), "--save_file", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    video = read_mp4(out)
    assert video.frames.shape == (17, 64, 64, 3)
    assert video.fps == 8
    assert video.metadata["task"] == "demo-flf2v"


@pytest.mark.parametrize(("task", "image"), [("demo-t2v", False), ("demo-i2v", True)])
def test_demo_t2v_and_i2v(demo_model: Path, tmp_path: Path, task: str, image: bool) -> None:
    out = tmp_path / f"{task}.mp4"
    args = ["--task", task, "--ckpt_dir", str(demo_model), "--prompt", "x", "--save_file", str(out)]
    if image:
        Image.new("RGB", (64, 64), (30, 200, 30)).save(tmp_path / "i.png")
        args += ["--image", str(tmp_path / "i.png")]
    result = _generate(*args)
    assert result.returncode == 0, result.stderr
    assert read_mp4(out).frames.shape == (17, 64, 64, 3)


def _args(**given: object) -> argparse.Namespace:
    defaults = {"ckpt_dir": None, "image": None, "first_frame": None, "last_frame": None}
    return argparse.Namespace(**(defaults | given))


def test_without_ckpt_dir_the_task_defaults_to_the_demo_model() -> None:
    from kino.cli.generate import default_task

    assert default_task(_args()) == "demo-t2v"
    assert default_task(_args(image=Path("i.png"))) == "demo-i2v"
    assert default_task(_args(first_frame=Path("a.png"))) == "demo-flf2v"
    assert default_task(_args(ckpt_dir=Path("w"))) == "t2v-14B"


def test_demo_tasks_load_the_built_in_folder(monkeypatch, tmp_path: Path) -> None:
    from kino.cli import generate
    from kino.errors import CheckpointError, InvalidSpec

    monkeypatch.setattr(generate, "MODEL_DIR", tmp_path)
    assert generate.checkpoint_dir(_args(task="demo-flf2v")) == tmp_path
    monkeypatch.setattr(generate, "MODEL_DIR", tmp_path / "absent")
    with pytest.raises(CheckpointError, match="kino train --ship"):
        generate.checkpoint_dir(_args(task="demo-t2v"))
    with pytest.raises(InvalidSpec, match="--ckpt_dir"):
        generate.checkpoint_dir(_args(task="t2v-14B"))
