"""The demo model shipped in the package (docs/demo-model.md has the full evaluation): `kino
demo` runs offline; the held-out canonical prompts meet the lighting, colour (90%), motion (80%)
and shape (60%) targets; the VAE keeps the object and FLF2V keeps its endpoints, to floors just
under what the shipped weights measure. Over all 168 held-out prompts (`kino eval demo`) motion
is 86.9% and shape 63.1%."""

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


def test_held_out_prompts_meet_the_lighting_colour_motion_and_shape_targets() -> None:
    generator = Generator.load(MODEL_DIR, "demo-t2v", CPU)
    # Every held-out scene's canonical prompt, 84: on the 24 of 12 scenes this test took before,
    # the motion count moved by two with a text encoder that moved it the other way on all 84.
    cases = held_out_cases(paraphrases=0)
    assert {case.language for case in cases} == {"en", "zh"}
    verdicts = []
    for case in cases:
        spec = make_spec("demo-t2v", prompt=case.prompt, size="64*64", seed=case.seed)
        verdicts.append(score(case.scene, read_video(generator.run(spec).frames)))
    # Measured: lighting 84/84, colour 84/84 (chance is 1 in 5), motion 72/84 (1 in 7) and
    # shape 53/84 (1 in 3); run 38's DiT, before its shape pairs, read motion 69/84 and shape
    # 44/84, and run 14's on the world before run 38 motion 69/84 and shape 33/84.
    assert np.mean([v["lighting"] for v in verdicts]) >= 0.9
    assert np.mean([v["colour"] for v in verdicts]) >= 0.9
    assert np.mean([v["motion"] for v in verdicts]) >= 0.8
    assert np.mean([v["shape"] for v in verdicts]) >= 0.6


def test_the_vae_keeps_the_object_the_detector_reads() -> None:
    """Generated videos reach the pixels only through this decoder, so what it loses of the
    object no DiT can draw. The VAE of runs 1-3 scored colour 79%, shape 79% and motion 67%
    here, at 30.1 dB; run 4's decoder drew the first frame's object at 15.0 dB."""
    vae = AutoencoderKLWan.from_pretrained(MODEL_DIR / "vae").eval()
    scenes = world.held_out_scenes()
    scores = vae_scores(vae, scenes, [EVAL_SEED_BASE + i for i in range(len(scenes))])
    # Measured on the world since run 38: colour 98%, shape 88%, motion 98%, 33.5 dB; the
    # object 21.6 dB in the first frame, 22.3 dB in the rest.
    assert scores.accuracy["colour"] >= 0.97 and scores.accuracy["shape"] >= 0.8, scores
    assert scores.accuracy["motion"] >= 0.95, scores
    assert scores.psnr >= 33.0
    assert scores.object_psnr_first >= 20.0 and scores.object_psnr_rest >= 21.0, scores


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
    # Measured on these four scenes: 29.4 dB first, 26.9 dB last (31.0 and 27.4 over all 42);
    # on the world before run 38, 30.3 and 26.8 (run 4's 6-layer DiT: 30.8 and 25.3).
    assert np.mean(first) >= 25.0 and np.mean(last) >= 25.0, (first, last)
