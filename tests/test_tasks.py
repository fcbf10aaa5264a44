"""The official tables, as kino carries them."""

from __future__ import annotations

import pytest

from kino.errors import InvalidSpec
from kino.tasks import TASKS, check_frame_num, get_task


def test_the_seven_official_tasks_and_three_demo_tasks() -> None:
    assert set(TASKS) == {
        "t2v-1.3B", "t2v-14B", "i2v-14B", "flf2v-14B", "t2v-A14B", "i2v-A14B", "ti2v-5B",
        "demo-t2v", "demo-i2v", "demo-flf2v",
    }  # fmt: skip
    assert [t for t in TASKS if TASKS[t].builtin] == ["demo-t2v", "demo-i2v", "demo-flf2v"]


def test_demo_tasks_share_the_world_size_and_split_the_dits() -> None:
    demo = [get_task(f"demo-{kind}") for kind in ("t2v", "i2v", "flf2v")]
    assert {p.sizes for p in demo} == {("64*64",)}
    assert {p.frame_num for p in demo} == {17}
    assert [p.transformer_dir for p in demo] == [
        "transformer",
        "transformer_i2v",
        "transformer_i2v",
    ]
    assert not any(p.uses_clip for p in demo)


@pytest.mark.parametrize(
    ("task", "steps", "shift", "guide", "fps", "frames", "boundary"),
    [
        ("t2v-1.3B", 50, 5.0, (5.0, 5.0), 16, 81, None),
        ("t2v-14B", 50, 5.0, (5.0, 5.0), 16, 81, None),
        ("i2v-14B", 40, 5.0, (5.0, 5.0), 16, 81, None),
        ("flf2v-14B", 50, 16.0, (5.0, 5.0), 16, 81, None),
        ("t2v-A14B", 40, 12.0, (3.0, 4.0), 16, 81, 0.875),
        ("i2v-A14B", 40, 5.0, (3.5, 3.5), 16, 81, 0.9),
        ("ti2v-5B", 50, 5.0, (5.0, 5.0), 24, 121, None),
    ],
)
def test_official_defaults(task, steps, shift, guide, fps, frames, boundary) -> None:
    preset = get_task(task)
    assert (preset.sample_steps, preset.sample_shift, preset.guide_scale) == (steps, shift, guide)
    assert (preset.fps, preset.frame_num, preset.boundary) == (fps, frames, boundary)


def test_wan21_i2v_uses_shift_3_at_480p() -> None:
    preset = get_task("i2v-14B")
    assert preset.default_shift("832*480") == 3.0
    assert preset.default_shift("1280*720") == 5.0
    assert get_task("flf2v-14B").default_shift("832*480") == 16.0


def test_negative_prompts_carry_the_official_prefixes() -> None:
    base = get_task("t2v-14B").negative_prompt
    assert base.startswith("色调艳丽，过曝")
    assert get_task("i2v-14B").negative_prompt == "镜头晃动，" + base
    assert get_task("flf2v-14B").negative_prompt == "镜头切换，镜头晃动，" + base
    assert get_task("i2v-A14B").negative_prompt == base


def test_size_tables() -> None:
    assert get_task("t2v-1.3B").sizes == ("480*832", "832*480")
    assert get_task("ti2v-5B").sizes == ("704*1280", "1280*704")
    with pytest.raises(InvalidSpec, match=r"1280\*720 is not supported by task t2v-1\.3B"):
        get_task("t2v-1.3B").check_size("1280*720")


@pytest.mark.parametrize("frames", [1, 5, 17, 81, 121])
def test_frame_num_accepts_4n_plus_1(frames: int) -> None:
    check_frame_num(frames)


@pytest.mark.parametrize("frames", [0, 2, 80, 120])
def test_frame_num_rejects_others(frames: int) -> None:
    with pytest.raises(InvalidSpec, match="4n\\+1"):
        check_frame_num(frames)
