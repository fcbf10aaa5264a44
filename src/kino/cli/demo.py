"""`kino demo`: a video on a fresh clone, offline, on the CPU, in seconds, from the demo model
shipped in the package."""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

log = logging.getLogger("kino")

DEMO_TASK = "demo-t2v"
DEMO_PROMPT = "a red circle moves from left to right at sunset"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--prompt", default=DEMO_PROMPT, help="The prompt (English or Chinese).")
    parser.add_argument("--base_seed", type=int, default=0, help="Seed; -1 picks a random one.")
    parser.add_argument(
        "--save_file", type=Path, default=Path("outputs/demo.mp4"), help="Output MP4 path."
    )


def run(args: argparse.Namespace) -> int:
    import torch

    from kino.cli.generate import require_builtin_model
    from kino.engine.generator import Generator
    from kino.engine.options import EngineOptions
    from kino.media import write_mp4, write_sidecar
    from kino.spec import make_spec
    from kino.tasks import get_task

    began = time.perf_counter()
    preset = get_task(DEMO_TASK)
    model_dir = require_builtin_model()
    spec = make_spec(
        DEMO_TASK,
        prompt=args.prompt,
        size=preset.default_size,
        seed=args.base_seed,
        ckpt_dir=model_dir,
    )
    generator = Generator.load(model_dir, DEMO_TASK, EngineOptions(device=torch.device("cpu")))
    video = generator.run(spec)
    write_mp4(video, args.save_file)
    write_sidecar(video, args.save_file)
    log.info(
        "Saved %d frames of %s to %s in %.1f s",
        video.num_frames,
        spec.size,
        args.save_file,
        time.perf_counter() - began,
    )
    print(args.save_file.resolve())
    return 0
