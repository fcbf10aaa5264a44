"""kino eval demo: the held-out prompt set, the report, and a run on a demo-architecture model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from kino.demo import world
from kino.demo.captions import canonical
from kino.demo.evaluation import DemoReport, held_out_cases


def test_cases_cover_every_held_out_scene_in_both_languages() -> None:
    cases = held_out_cases(paraphrases=1)
    assert len(cases) == 42 * 2 * 2
    assert {c.scene for c in cases} == set(world.held_out_scenes())
    scene = world.held_out_scenes()[0]
    prompts = [c.prompt for c in cases if c.scene == scene]
    assert prompts[0] == canonical(scene, "en") and prompts[2] == canonical(scene, "zh")
    assert len(held_out_cases(paraphrases=0, limit=5)) == 10


def _report(colour: float, flf2v: float) -> DemoReport:
    accuracy = {"colour": colour, "shape": 0.6, "motion": 0.8, "lighting": 0.8}
    return DemoReport(
        cases=4,
        accuracy={"en": accuracy, "zh": accuracy, "all": accuracy},
        flf2v_psnr_first=flf2v,
        flf2v_psnr_last=30.0,
        i2v_psnr_first=30.0,
        vae_psnr=31.0,
        vae_object_psnr=(20.0, 21.0),
        vae_accuracy=accuracy,
        flicker_generated=0.5,
        flicker_world=0.4,
        seconds=1.0,
    )


def test_report_checks_the_targets() -> None:
    assert all(_report(colour=0.9, flf2v=25.0).passes().values())
    failing = _report(colour=0.85, flf2v=24.0).passes()
    assert not failing["colour"] and not failing["flf2v_psnr"] and failing["motion"]
    assert "| colour | 90% | 85% | 85% | 85% |" in _report(0.85, 24.0).to_markdown()


def test_eval_command_writes_a_report(demo_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    result = subprocess.run(
        [sys.executable, "-m", "kino.cli.main", "eval", "demo", "--model", str(demo_model),
         "--limit", "1", "--paraphrases", "0", "--json", str(out)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    assert report["cases"] == 2
    assert set(report["accuracy"]) == {"en", "zh", "all"}
    assert all(0.0 <= v <= 1.0 for v in report["accuracy"]["all"].values())
    assert 0 < report["vae_psnr"] < 60 and 0 < report["flf2v_psnr_first"] < 60
    first, rest = report["vae_object_psnr"]
    assert 0 < first < 60 and 0 < rest < 60
    assert set(report["vae_accuracy"]) == {"colour", "shape", "motion", "lighting"}
    assert "| colour | 90% |" in result.stdout
