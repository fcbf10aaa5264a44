"""`kino demo`: a video on a fresh clone, offline, on the CPU, in seconds."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

log = logging.getLogger("kino")

DEMO_TASK = "t2v-1.3B"
DEMO_PROMPT = "a red circle moves from left to right at sunset"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--prompt", default=DEMO_PROMPT, help="The prompt.")
    parser.add_argument("--base_seed", type=int, default=0, help="Seed; -1 picks a random one.")
    parser.add_argument(
        "--save_file", type=Path, default=Path("outputs/demo.mp4"), help="Output MP4 path."
    )


def run(args: argparse.Namespace) -> int:
    import torch

    from kino.checkpoints.tiny import build_tiny_components
    from kino.engine.generator import Generator
    from kino.engine.options import EngineOptions
    from kino.media import write_mp4, write_sidecar
    from kino.spec import make_spec
    from kino.tasks import get_task

    preset = get_task(DEMO_TASK)
    log.warning(
        "The demo model is UNTRAINED: a tiny %s-shaped model with random weights, so the video "
        "is noise. It exercises the whole pipeline offline until the trained demo model ships.",
        DEMO_TASK,
    )
    spec = make_spec(
        DEMO_TASK,
        prompt=args.prompt,
        size="832*480",
        frame_num=5,
        sample_steps=4,
        seed=args.base_seed,
    )
    options = EngineOptions(device=torch.device("cpu"))
    generator = Generator(build_tiny_components(preset), preset, options)
    video = generator.run(spec)
    write_mp4(video, args.save_file)
    write_sidecar(video, args.save_file)
    log.info("Saved generated video to %s", args.save_file)
    print(args.save_file.resolve())
    return 0
