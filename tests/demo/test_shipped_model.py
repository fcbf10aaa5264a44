"""The demo model shipped in the package. These are regression floors just under what the
shipped weights measure (docs/demo-model.md has the full evaluation): `kino demo` runs offline,
held-out prompts get their lighting and, more often than chance, their colour, and FLF2V keeps
its endpoints. Colour is not yet at its 90% target, shape is at chance and motion (40%
held-out, 4/12 on this sample) far below its target, so the issue's targets are not asserted
here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from kino.demo import MODEL_DIR, world
from kino.demo.captions import canonical
from kino.demo.detector import read_video, score
from kino.demo.evaluation import EVAL_SEED_BASE, held_out_cases
from kino.engine.generator import Generator
from kino.engine.options import EngineOptions
from kino.media import read_mp4
from kino.quality.fidelity import psnr
from kino.spec import make_spec

CPU = EngineOptions(device=torch.device("cpu"))


def test_the_shipped_model_is_small_enough_to_commit() -> None:
    files = [path for path in MODEL_DIR.rglob("*") if path.is_file()]
    assert sum(path.stat().st_size for path in files) <= 40 * 1024 * 1024
    assert (MODEL_DIR / "model_index.json").exists()


def test_kino_demo_writes_the_prompted_video(tmp_path: Path) -> None:
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
    assert read_video(video.frames).lighting == "sunset"


def test_held_out_prompts_get_their_lighting_and_colour() -> None:
    generator = Generator.load(MODEL_DIR, "demo-t2v", CPU)
    cases = held_out_cases(paraphrases=0, limit=6)
    assert {case.language for case in cases} == {"en", "zh"}
    verdicts = []
    for case in cases:
        spec = make_spec("demo-t2v", prompt=case.prompt, size="64*64", seed=case.seed)
        verdicts.append(score(case.scene, read_video(generator.run(spec).frames)))
    # Measured: lighting 12/12, colour 8/12 (chance is 1 in 5).
    assert np.mean([v["lighting"] for v in verdicts]) >= 0.9
    assert np.mean([v["colour"] for v in verdicts]) >= 0.5


def test_flf2v_keeps_the_given_first_and_last_frames() -> None:
    generator = Generator.load(MODEL_DIR, "demo-flf2v", CPU)
    first, last = [], []
    for index, scene in enumerate(world.held_out_scenes()[:4]):
        video = world.render(scene, EVAL_SEED_BASE + index)
        images = (Image.fromarray(video[0]), Image.fromarray(video[-1]))
        spec = make_spec(
            "demo-flf2v", prompt=canonical(scene), size="64*64", seed=index, images=images
        )
        out = generator.run(spec).frames
        first.append(psnr(out[0], video[0]))
        last.append(psnr(out[-1], video[-1]))
    # Measured on these four scenes: 27.0 dB first, 28.5 dB last (26.7 and 26.7 over all 42).
    assert np.mean(first) >= 26.0 and np.mean(last) >= 26.0, (first, last)
