"""The demo model shipped in the package. These are regression floors just under what the
shipped weights measure (docs/demo-model.md has the full evaluation): `kino demo` runs offline,
held-out prompts get their lighting and their colour at the 90% target, motion more often than
chance, the VAE keeps the object, and FLF2V keeps its endpoints. Motion (39% held-out, 6/12 on
this sample) and shape (41%) are still below their targets, so those are floors, not
targets."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
from diffusers import AutoencoderKLWan
from PIL import Image

from kino.demo import MODEL_DIR, world
from kino.demo.captions import canonical
from kino.demo.detector import read_video, score
from kino.demo.evaluation import EVAL_SEED_BASE, held_out_cases, vae_scores
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


def test_held_out_prompts_get_their_lighting_colour_and_often_their_motion() -> None:
    generator = Generator.load(MODEL_DIR, "demo-t2v", CPU)
    cases = held_out_cases(paraphrases=0, limit=6)
    assert {case.language for case in cases} == {"en", "zh"}
    verdicts = []
    for case in cases:
        spec = make_spec("demo-t2v", prompt=case.prompt, size="64*64", seed=case.seed)
        verdicts.append(score(case.scene, read_video(generator.run(spec).frames)))
    # Measured: lighting 12/12, colour 12/12 (chance is 1 in 5), motion 6/12 (1 in 7).
    assert np.mean([v["lighting"] for v in verdicts]) >= 0.9
    assert np.mean([v["colour"] for v in verdicts]) >= 0.9
    assert np.mean([v["motion"] for v in verdicts]) >= 5 / 12


def test_the_vae_keeps_the_object_the_detector_reads() -> None:
    """Generated videos reach the pixels only through this decoder, so what it loses of the
    object no DiT can draw. The VAE of runs 1-3 scored colour 79%, shape 79% and motion 67%
    here, at 30.1 dB."""
    vae = AutoencoderKLWan.from_pretrained(MODEL_DIR / "vae").eval()
    scenes = world.held_out_scenes()
    videos = [world.render(s, EVAL_SEED_BASE + i) for i, s in enumerate(scenes)]
    vae_psnr, accuracy = vae_scores(vae, scenes, videos)
    # Measured: colour 95%, shape 86%, motion 83%, at 31.2 dB.
    assert accuracy["colour"] >= 0.93 and accuracy["shape"] >= 0.83, accuracy
    assert accuracy["motion"] >= 0.8, accuracy
    assert vae_psnr >= 30.0


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
    # Measured on these four scenes: 26.2 dB first, 25.2 dB last (28.2 and 25.1 over all 42).
    assert np.mean(first) >= 25.0 and np.mean(last) >= 25.0, (first, last)
