"""`kino train` rejects bad numbers with one line before it renders or trains anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from kino.cli.main import main


@pytest.mark.parametrize(
    ("flag", "value", "needle"),
    [
        ("--t2v_steps", "0", "--t2v_steps 0 must be at least 1"),
        ("--dit_heads", "0", "--dit_heads 0 must be at least 1"),
        ("--object_weight", "0.5", "--object_weight 0.5 must be at least 1"),
        ("--caption_probe_weight", "-1", "--caption_probe_weight -1.0 must be 0 (off) or more"),
        ("--lighting_weight", "-0.5", "--lighting_weight -0.5 must be 0 (off) or more"),
        ("--vae_object_weight", "0", "--vae_object_weight 0.0 must be at least 1"),
        ("--ema_decay", "1", "--ema_decay 1.0 must be 0 (off) or in (0, 1), e.g. 0.999"),
        ("--shape_pair_weight", "-2", "--shape_pair_weight -2.0 must be 0 (off) or more"),
    ],
)
def test_bad_training_numbers_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: str, value: str, needle: str
) -> None:
    out = tmp_path / "run"
    assert main(["train", "--out", str(out), flag, value]) != 0
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [f"kino train: error: {needle}"]
    assert not out.exists()


def test_shape_pairs_need_a_batch_of_two(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    assert main(["train", "--out", str(out), "--shape_pair_weight", "2", "--batch", "1"]) != 0
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [
        "kino train: error: --batch 1 holds no shape pair; use --batch 2 or more with "
        "--shape_pair_weight"
    ]
    assert not out.exists()


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (
            ["--shape_blend", "0.5"],
            "--shape_blend blends shape pairs; add --shape_pair_weight, e.g. 2",
        ),
        (
            ["--shape_pair_weight", "2", "--shape_blend", "1.5"],
            "--shape_blend 1.5 is a share of the pairs: 0 to 1",
        ),
    ],
)
def test_shape_blend_needs_pairs_and_a_share(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str], message: str
) -> None:
    out = tmp_path / "run"
    assert main(["train", "--out", str(out), *flags]) != 0
    assert capsys.readouterr().err.strip().splitlines() == [f"kino train: error: {message}"]
    assert not out.exists()
