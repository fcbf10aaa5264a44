"""`kino eval demo`: how well the demo model follows prompts it was not trained on.

Videos are generated for the held-out scene combinations, in English and Chinese, and read back
by the rule-based detector. FLF2V and i2v are scored by how closely the generated end frames
match the given ones, the VAE by reconstruction PSNR, and lighting by flicker against the
world's own videos of the same scenes.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from kino.demo import world
from kino.demo.captions import LANGUAGES, canonical, caption
from kino.demo.detector import read_video, score
from kino.quality.fidelity import psnr
from kino.quality.flicker import flicker

ATTRIBUTES = ("colour", "shape", "motion", "lighting")
TARGETS = {"colour": 0.90, "motion": 0.80, "lighting": 0.80, "shape": 0.60}
FLF2V_PSNR_TARGET = 25.0
VAE_PSNR_TARGET = 30.0
# World videos for evaluation use seeds far from the training pool's.
EVAL_SEED_BASE = 1_000_000


@dataclass(frozen=True)
class Case:
    scene: world.Scene
    language: str
    prompt: str
    seed: int


def held_out_cases(paraphrases: int = 1, limit: int | None = None, seed: int = 0) -> list[Case]:
    """Every held-out scene in every language: the canonical prompt plus `paraphrases` random
    phrasings. `limit` takes an evenly spread subset of scenes."""
    scenes = world.held_out_scenes()
    if limit is not None and limit < len(scenes):
        scenes = [scenes[i] for i in np.linspace(0, len(scenes) - 1, limit).round().astype(int)]
    rng = np.random.default_rng(seed)
    cases = []
    for index, scene in enumerate(scenes):
        for language in LANGUAGES:
            prompts = [canonical(scene, language)]
            prompts += [caption(scene, rng, language) for _ in range(paraphrases)]
            cases += [Case(scene, language, p, seed + index) for p in prompts]
    return cases


@dataclass
class DemoReport:
    cases: int
    # language ("en", "zh", "all") -> attribute -> fraction correct
    accuracy: dict[str, dict[str, float]]
    flf2v_psnr_first: float
    flf2v_psnr_last: float
    i2v_psnr_first: float
    vae_psnr: float
    # Over the object's pixels: the first frame, then the rest (see VaeScores).
    vae_object_psnr: tuple[float, float]
    # attribute -> fraction the detector reads right on VAE reconstructions of the held-out
    # world videos: the ceiling of what the DiT's videos can score through this VAE.
    vae_accuracy: dict[str, float]
    flicker_generated: float
    flicker_world: float
    seconds: float
    failures: list[dict[str, str]] = field(default_factory=list)

    def passes(self) -> dict[str, bool]:
        overall = self.accuracy["all"]
        checks = {name: overall[name] >= target for name, target in TARGETS.items()}
        flf2v = min(self.flf2v_psnr_first, self.flf2v_psnr_last)
        checks["flf2v_psnr"] = flf2v >= FLF2V_PSNR_TARGET
        checks["vae_psnr"] = self.vae_psnr >= VAE_PSNR_TARGET
        return checks

    def to_dict(self) -> dict:
        return {**asdict(self), "passes": self.passes()}

    def to_markdown(self) -> str:
        lines = ["| attribute | target | en | zh | all |", "|---|---|---|---|---|"]
        for name in ATTRIBUTES:
            row = [f"{self.accuracy[lang][name]:.0%}" for lang in ("en", "zh", "all")]
            lines.append(f"| {name} | {TARGETS[name]:.0%} | " + " | ".join(row) + " |")
        lines += [
            "",
            "| measure | value | target |",
            "|---|---|---|",
            f"| FLF2V first-frame PSNR | {self.flf2v_psnr_first:.1f} dB | ≥ {FLF2V_PSNR_TARGET} |",
            f"| FLF2V last-frame PSNR | {self.flf2v_psnr_last:.1f} dB | ≥ {FLF2V_PSNR_TARGET} |",
            f"| i2v first-frame PSNR | {self.i2v_psnr_first:.1f} dB | |",
            f"| VAE reconstruction PSNR | {self.vae_psnr:.1f} dB | ≥ {VAE_PSNR_TARGET} |",
            f"| VAE object PSNR, first frame / the rest | {self.vae_object_psnr[0]:.1f} / "
            f"{self.vae_object_psnr[1]:.1f} dB | |",
            "| VAE reconstructions read right | "
            + ", ".join(f"{a} {self.vae_accuracy[a]:.0%}" for a in ATTRIBUTES)
            + " | |",
            f"| flicker, generated | {self.flicker_generated:.3f} | |",
            f"| flicker, world videos | {self.flicker_world:.3f} | |",
        ]
        return "\n".join(lines) + "\n"


def _generate(generator, task: str, prompt: str, seed: int, images=()) -> np.ndarray:
    from kino.spec import make_spec
    from kino.tasks import get_task

    size = get_task(task).sizes[0]
    spec = make_spec(task, prompt=prompt, size=size, seed=seed, images=tuple(images))
    return generator.run(spec).frames


def _accuracy(results: list[tuple[Case, dict[str, bool]]]) -> dict[str, dict[str, float]]:
    out = {}
    for language in (*LANGUAGES, "all"):
        chosen = [r for c, r in results if language in ("all", c.language)]
        out[language] = {a: float(np.mean([r[a] for r in chosen])) for a in ATTRIBUTES}
    return out


@torch.no_grad()
def reconstruct(vae, videos: list[np.ndarray], batch: int = 8) -> list[np.ndarray]:
    """World videos through the VAE's encoder (posterior mean) and decoder, as uint8."""
    from kino.training.data import to_model_range

    out = []
    for i in range(0, len(videos), batch):
        pixels = to_model_range(np.stack(videos[i : i + batch]))
        recon = vae.decode(vae.encode(pixels).latent_dist.mode()).sample
        frames = ((recon.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
        out += list(frames.permute(0, 2, 3, 4, 1).numpy())
    return out


@dataclass(frozen=True)
class VaeScores:
    """The VAE on held-out world videos: what its reconstructions keep of the object."""

    psnr: float
    # PSNR over the pixels the object covers (more than half), in the first frame (a latent
    # frame of its own) and in the rest; the object is 5% of the canvas, so the whole-frame
    # PSNR says little about it.
    object_psnr_first: float
    object_psnr_rest: float
    # attribute -> how often the detector reads it right on the reconstructions
    accuracy: dict[str, float]


def vae_scores(vae, scenes: list[world.Scene], seeds: list[int]) -> VaeScores:
    """The VAE's reconstructions of the world videos of `scenes` with `seeds`, scored."""
    videos = [world.render(s, seed) for s, seed in zip(scenes, seeds, strict=True)]
    recon = reconstruct(vae, videos)
    verdicts = [score(s, read_video(r)) for s, r in zip(scenes, recon, strict=True)]
    squared = np.zeros(world.FRAMES)
    for scene, seed, out, video in zip(scenes, seeds, recon, videos, strict=True):
        inside = world.path_coverage(scene.shape, world.track(scene, seed)) > 0.5
        for f, mask in enumerate(inside):
            squared[f] += np.mean((out[f][mask].astype(np.float64) - video[f][mask]) ** 2)
    squared /= len(videos)
    return VaeScores(
        psnr=float(np.mean([psnr(a, b) for a, b in zip(recon, videos, strict=True)])),
        object_psnr_first=float(10 * np.log10(255**2 / squared[0])),
        object_psnr_rest=float(10 * np.log10(255**2 / squared[1:].mean())),
        accuracy={a: float(np.mean([v[a] for v in verdicts])) for a in ATTRIBUTES},
    )


def evaluate(model_dir: Path, cases: list[Case], endpoint_scenes: int | None = None) -> DemoReport:
    from kino.engine.generator import Generator
    from kino.engine.options import EngineOptions

    began = time.perf_counter()
    options = EngineOptions(device=torch.device("cpu"))
    t2v = Generator.load(model_dir, "demo-t2v", options)
    results, generated_flicker, world_flicker, failures = [], [], [], []
    for case in cases:
        frames = _generate(t2v, "demo-t2v", case.prompt, case.seed)
        reading = read_video(frames)
        verdict = score(case.scene, reading)
        results.append((case, verdict))
        generated_flicker.append(flicker(frames))
        world_flicker.append(flicker(world.render(case.scene, EVAL_SEED_BASE + case.seed)))
        if not all(verdict.values()):
            failures.append(
                {"prompt": case.prompt}
                | {a: getattr(reading, a) for a in ATTRIBUTES if not verdict[a]}
            )

    scenes = world.held_out_scenes()
    if endpoint_scenes is not None:
        scenes = scenes[:endpoint_scenes]
    seeds = [EVAL_SEED_BASE + i for i in range(len(scenes))]
    videos = [world.render(s, seed) for s, seed in zip(scenes, seeds, strict=True)]
    flf2v = Generator.load(model_dir, "demo-flf2v", options)
    i2v = Generator.load(model_dir, "demo-i2v", options)
    first_psnr, last_psnr, i2v_psnr = [], [], []
    for index, (scene, video) in enumerate(zip(scenes, videos, strict=True)):
        prompt = canonical(scene)
        given = (Image.fromarray(video[0]), Image.fromarray(video[-1]))
        out = _generate(flf2v, "demo-flf2v", prompt, index, given)
        first_psnr.append(psnr(out[0], video[0]))
        last_psnr.append(psnr(out[-1], video[-1]))
        out = _generate(i2v, "demo-i2v", prompt, index, given[:1])
        i2v_psnr.append(psnr(out[0], video[0]))

    vae = vae_scores(t2v.components.vae, scenes, seeds)
    return DemoReport(
        cases=len(cases),
        accuracy=_accuracy(results),
        flf2v_psnr_first=float(np.mean(first_psnr)),
        flf2v_psnr_last=float(np.mean(last_psnr)),
        i2v_psnr_first=float(np.mean(i2v_psnr)),
        vae_psnr=vae.psnr,
        vae_object_psnr=(vae.object_psnr_first, vae.object_psnr_rest),
        vae_accuracy=vae.accuracy,
        flicker_generated=float(np.mean(generated_flicker)),
        flicker_world=float(np.mean(world_flicker)),
        seconds=round(time.perf_counter() - began, 1),
        failures=failures,
    )
