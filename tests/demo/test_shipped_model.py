"""The demo model shipped in the package: `kino demo` follows its prompt, and held-out scenes
come out in the right colour and motion."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

from kino.demo import MODEL_DIR
from kino.demo.detector import read_video, score
from kino.demo.evaluation import held_out_cases
from kino.demo.world import Scene
from kino.engine.generator import Generator
from kino.engine.options import EngineOptions
from kino.media import read_mp4
from kino.spec import make_spec

# Every sixth held-out scene, in English and Chinese: 14 videos.
SAMPLE = 7


def test_the_shipped_model_is_small_enough_to_commit() -> None:
    files = [path for path in MODEL_DIR.rglob("*") if path.is_file()]
    assert sum(path.stat().st_size for path in files) <= 40 * 1024 * 1024
    assert (MODEL_DIR / "model_index.json").exists()


def test_kino_demo_follows_its_prompt(tmp_path: Path) -> None:
    out = tmp_path / "demo.mp4"
    result = subprocess.run(
        [sys.executable, "-m", "kino.cli.main", "demo", "--save_file", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == str(out.resolve())
    video = read_mp4(out)
    assert video.frames.shape == (17, 64, 64, 3)
    verdict = score(Scene("circle", "red", "left_to_right", "sunset"), read_video(video.frames))
    assert verdict["colour"] and verdict["motion"], read_video(video.frames)


def test_held_out_scenes_meet_the_colour_and_motion_targets() -> None:
    generator = Generator.load(MODEL_DIR, "demo-t2v", EngineOptions(device=torch.device("cpu")))
    cases = held_out_cases(paraphrases=0, limit=SAMPLE)
    verdicts = []
    for case in cases:
        spec = make_spec("demo-t2v", prompt=case.prompt, size="64*64", seed=case.seed)
        verdicts.append(score(case.scene, read_video(generator.run(spec).frames)))
    assert len(cases) == 2 * SAMPLE
    assert np.mean([v["colour"] for v in verdicts]) >= 0.90
    assert np.mean([v["motion"] for v in verdicts]) >= 0.80
