"""Every user mistake on the generate command line: one line on stderr, non-zero exit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_generate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "generate.py"), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.fixture
def png(tmp_path: Path) -> Path:
    from PIL import Image

    path = tmp_path / "in.png"
    Image.new("RGB", (64, 48), (200, 10, 10)).save(path)
    return path


def test_unsupported_size_names_the_supported_ones(tmp_path: Path) -> None:
    result = run_generate(
        "--task", "t2v-1.3B", "--size", "1280*720", "--ckpt_dir", str(tmp_path), "--prompt", "x"
    )
    assert_one_line_error(result, "1280*720", "t2v-1.3B", "832*480")


def test_size_outside_the_official_table() -> None:
    result = run_generate("--task", "t2v-14B", "--size", "100*100", "--prompt", "x")
    assert_one_line_error(result, "--size", "100*100")


@pytest.mark.parametrize("frames", ["10", "0", "-3"])
def test_frame_num_must_be_4n_plus_1(tmp_path: Path, frames: str) -> None:
    result = run_generate(
        "--task", "t2v-14B", "--size", "832*480", "--frame_num", frames,
        "--ckpt_dir", str(tmp_path), "--prompt", "x",
    )  # fmt: skip
    assert_one_line_error(result, f"frame_num {frames}", "4n+1")


def test_i2v_without_image(tmp_path: Path) -> None:
    result = run_generate("--task", "i2v-14B", "--ckpt_dir", str(tmp_path), "--prompt", "x")
    assert_one_line_error(result, "--image")


def test_flf2v_without_last_frame(tmp_path: Path, png: Path) -> None:
    result = run_generate(
        "--task", "flf2v-14B", "--ckpt_dir", str(tmp_path), "--prompt", "x",
        "--first_frame", str(png),
    )  # fmt: skip
    assert_one_line_error(result, "--first_frame", "--last_frame")


def test_unreadable_image(tmp_path: Path) -> None:
    bogus = tmp_path / "not-an-image.png"
    bogus.write_text("hello")
    result = run_generate(
        "--task", "i2v-14B", "--ckpt_dir", str(tmp_path), "--prompt", "x", "--image", str(bogus)
    )
    assert_one_line_error(result, "--image", "not-an-image.png", "cannot read")


def test_missing_image_file(tmp_path: Path) -> None:
    result = run_generate(
        "--task", "i2v-A14B", "--ckpt_dir", str(tmp_path), "--prompt", "x",
        "--image", str(tmp_path / "nope.jpg"),
    )  # fmt: skip
    assert_one_line_error(result, "nope.jpg", "not found")


def test_fsdp_in_one_process_gives_the_official_error(tmp_path: Path) -> None:
    result = run_generate("--task", "t2v-14B", "--ckpt_dir", str(tmp_path), "--dit_fsdp")
    assert_one_line_error(result, "t5_fsdp and dit_fsdp are not supported in non-distributed")


def test_ulysses_in_one_process_gives_the_official_error(tmp_path: Path) -> None:
    result = run_generate("--task", "t2v-A14B", "--ckpt_dir", str(tmp_path), "--ulysses_size", "2")
    assert_one_line_error(result, "sequence parallel are not supported")


def test_not_a_checkpoint_folder(tmp_path: Path) -> None:
    result = run_generate("--task", "t2v-1.3B", "--ckpt_dir", str(tmp_path), "--prompt", "x")
    assert_one_line_error(result, str(tmp_path), "not a Wan checkpoint")
    assert result.returncode == 3


def test_missing_ckpt_dir_flag() -> None:
    result = run_generate("--task", "t2v-1.3B", "--prompt", "x")
    assert_one_line_error(result, "--ckpt_dir", "demo-t2v")


def test_bad_guide_scale(tmp_path: Path) -> None:
    result = run_generate(
        "--task", "t2v-1.3B", "--ckpt_dir", str(tmp_path), "--prompt", "x",
        "--sample_guide_scale", "lots",
    )  # fmt: skip
    assert_one_line_error(result, "--sample_guide_scale", "lots")


def test_help_lists_the_official_flags() -> None:
    result = run_generate("--help")
    assert result.returncode == 0
    for flag in (
        "--task", "--size", "--frame_num", "--ckpt_dir", "--offload_model", "--ulysses_size",
        "--ring_size", "--t5_fsdp", "--t5_cpu", "--dit_fsdp", "--save_file", "--prompt",
        "--use_prompt_extend", "--base_seed", "--image", "--first_frame", "--last_frame",
        "--sample_solver", "--sample_steps", "--sample_shift", "--sample_guide_scale",
        "--convert_model_dtype",
    ):  # fmt: skip
        assert flag in result.stdout


def test_flf2v_needs_room_between_its_frames(tmp_path: Path, png: Path) -> None:
    result = run_generate(
        "--task", "flf2v-14B", "--ckpt_dir", str(tmp_path), "--prompt", "x", "--frame_num", "1",
        "--first_frame", str(png), "--last_frame", str(png),
    )  # fmt: skip
    assert_one_line_error(result, "frame_num 1", "at least 5")
