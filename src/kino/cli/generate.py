"""`kino generate`: the official Wan generate.py command line, unchanged."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from datetime import datetime
from pathlib import Path

from PIL import Image

from kino.demo import MODEL_DIR
from kino.errors import CheckpointError, InvalidSpec, UnsupportedInProcess
from kino.spec import SOLVERS, GenerationSpec, make_spec, open_image
from kino.tasks import SIZES, TASKS, TaskKind, get_task

from .parser import str2bool

log = logging.getLogger("kino")

OFFICIAL_DEFAULT_TASK = "t2v-14B"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add(
        "--task",
        default=None,
        choices=list(TASKS),
        help="The task to run. Default: t2v-14B with --ckpt_dir; without it the built-in demo "
        "model (demo-t2v, or demo-i2v/demo-flf2v when images are given).",
    )
    add(
        "--size",
        default=None,
        choices=SIZES,
        help="The area (width*height) of the generated video. For I2V/FLF2V the aspect ratio "
        "follows the input image. Default: 1280*720, or the task's largest size without it.",
    )
    add("--frame_num", type=int, default=None, help="Frames to generate, 4n+1.")
    add("--ckpt_dir", type=Path, default=None, help="Checkpoint folder (official or diffusers).")
    add(
        "--offload_model",
        type=str2bool,
        default=None,
        help="Move models to the CPU between stages to save accelerator memory. "
        "Default: True in one process.",
    )
    add("--ulysses_size", type=int, default=1, help="Ulysses sequence parallel size (torchrun).")
    add("--ring_size", type=int, default=1, help="Ring attention parallel size (torchrun).")
    add("--t5_fsdp", action="store_true", help="Shard T5 with FSDP (torchrun).")
    add("--t5_cpu", action="store_true", help="Keep the T5 text encoder on the CPU.")
    add("--dit_fsdp", action="store_true", help="Shard the DiT with FSDP (torchrun).")
    add("--save_file", type=Path, default=None, help="Output MP4 path.")
    add("--prompt", default=None, help="The prompt.")
    add(
        "--negative_prompt", default=None, help="Negative prompt; default: the task's official one."
    )
    add("--use_prompt_extend", action="store_true", help="Extend the prompt with an LLM.")
    add("--prompt_extend_method", default="local_qwen", choices=["dashscope", "local_qwen"])
    add("--prompt_extend_model", default=None, help="The prompt extension model.")
    add("--prompt_extend_target_lang", default="zh", choices=["zh", "en"])
    add("--base_seed", type=int, default=-1, help="Seed; -1 picks a random one and logs it.")
    add("--image", default=None, help="[i2v, ti2v] The input image.")
    add("--first_frame", default=None, help="[flf2v] The first frame.")
    add("--last_frame", default=None, help="[flf2v] The last frame.")
    add("--sample_solver", default="unipc", choices=SOLVERS, help="The sampling solver.")
    add("--sample_steps", type=int, default=None, help="Sampling steps; default per task.")
    add("--sample_shift", type=float, default=None, help="Flow-matching shift; default per task.")
    add(
        "--sample_guide_scale",
        default=None,
        help="Classifier-free guidance scale; LOW,HIGH sets Wan2.2's two experts apart.",
    )
    add(
        "--convert_model_dtype",
        action="store_true",
        help="Cast the DiT's parameters to bf16 (the official param_dtype).",
    )
    add(
        "--dtype",
        default="auto",
        choices=["auto", "bf16", "fp16", "fp32"],
        help="Compute dtype: auto is the official mix on an accelerator, fp32 on the CPU.",
    )
    add("--vae_tiling", action="store_true", help="Decode the VAE in tiles for large sizes.")
    add("--save_frames", type=Path, default=None, help="Also write every frame as PNG here.")


def _guide_scale(raw: str | None) -> float | tuple[float, float] | None:
    if raw is None:
        return None
    try:
        parts = [float(part) for part in raw.split(",")]
    except ValueError:
        raise InvalidSpec(
            f"--sample_guide_scale {raw!r} is not a number; use e.g. 5.0 or 3.0,4.0"
        ) from None
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        return parts[0], parts[1]
    raise InvalidSpec(f"--sample_guide_scale {raw!r}: give one value or LOW,HIGH")


def _check_single_process(args: argparse.Namespace) -> None:
    if int(os.getenv("WORLD_SIZE", "1")) > 1:
        raise UnsupportedInProcess(
            "kino does not run multi-process (torchrun) generation yet; run one process"
        )
    if args.t5_fsdp or args.dit_fsdp:
        raise UnsupportedInProcess(
            "t5_fsdp and dit_fsdp are not supported in non-distributed environments."
        )
    if args.ulysses_size > 1 or args.ring_size > 1:
        raise UnsupportedInProcess(
            "sequence parallel are not supported in non-distributed environments."
        )


# Which flags carry a task's images; the official t2v ignores a stray --image, and so does kino.
IMAGE_FLAGS = {
    TaskKind.T2V: (),
    TaskKind.I2V: ("image",),
    TaskKind.TI2V: ("image",),
    TaskKind.FLF2V: ("first_frame", "last_frame"),
}


def _images(args: argparse.Namespace) -> tuple[Image.Image, ...]:
    """Open the given images; make_spec says which are missing."""
    flags = IMAGE_FLAGS[get_task(args.task).kind]
    return tuple(
        open_image(getattr(args, flag), f"--{flag}")
        for flag in flags
        if getattr(args, flag) is not None
    )


def default_task(args: argparse.Namespace) -> str:
    """The official default with weights; the built-in demo model without them."""
    if args.ckpt_dir is not None:
        return OFFICIAL_DEFAULT_TASK
    if args.first_frame is not None or args.last_frame is not None:
        return "demo-flf2v"
    return "demo-i2v" if args.image is not None else "demo-t2v"


def checkpoint_dir(args: argparse.Namespace) -> Path:
    if args.ckpt_dir is not None:
        return args.ckpt_dir
    if not get_task(args.task).builtin:
        raise InvalidSpec(
            f"task {args.task} needs its weights; pass --ckpt_dir with the checkpoint folder, "
            "or use a demo task (demo-t2v, demo-i2v, demo-flf2v) to run the built-in model"
        )
    return require_builtin_model()


def require_builtin_model() -> Path:
    if not MODEL_DIR.is_dir():
        raise CheckpointError(
            f"the built-in demo model is missing from this installation ({MODEL_DIR}); "
            "reinstall kino, or retrain it with `kino train --ship`"
        )
    return MODEL_DIR


def spec_from_args(args: argparse.Namespace) -> GenerationSpec:
    """Validate the command line once and turn it into a GenerationSpec."""
    if args.task is None:
        args.task = default_task(args)
        if args.ckpt_dir is None:
            log.info("no --ckpt_dir: running the built-in demo model, task %s", args.task)
    preset = get_task(args.task)
    size = args.size
    if size is None:
        size = preset.default_size
    args.ckpt_dir = checkpoint_dir(args)
    if args.use_prompt_extend:
        raise InvalidSpec(
            "--use_prompt_extend needs a prompt-extension model, which kino does not run yet; "
            "drop the flag"
        )
    if args.prompt is None:
        raise InvalidSpec("no prompt given; pass --prompt TEXT")
    return make_spec(
        args.task,
        prompt=args.prompt,
        negative_prompt=args.negative_prompt,
        size=size,
        frame_num=args.frame_num,
        sample_steps=args.sample_steps,
        sample_shift=args.sample_shift,
        guide_scale=_guide_scale(args.sample_guide_scale),
        solver=args.sample_solver,
        seed=args.base_seed,
        images=_images(args),
        ckpt_dir=args.ckpt_dir,
    )


def default_save_file(spec: GenerationSpec, ulysses_size: int, ring_size: int) -> Path:
    """The official file name pattern, with x instead of * in the size on every platform."""
    stamp = datetime.now().strftime("%Y%m%d_%H%M%S")
    prompt = spec.prompt.replace(" ", "_").replace("/", "_")[:50]
    size = spec.size.replace("*", "x")
    parallel = (
        f"{ulysses_size}_{ring_size}" if spec.preset.family == "wan2.1" else f"{ulysses_size}"
    )
    return Path(f"{spec.task}_{size}_{parallel}_{prompt}_{stamp}.mp4")


def run(args: argparse.Namespace) -> int:
    # Heavy imports wait until the command line is known to be valid.
    _check_single_process(args)
    spec = spec_from_args(args)
    if args.offload_model is None:
        args.offload_model = True
        log.info("offload_model is not specified, set to %s.", args.offload_model)
    if args.base_seed < 0:
        log.info("base_seed -1: using random seed %d", spec.seed)
    args.base_seed = spec.seed
    log.info("Generation job args: %s", args)

    from kino.engine.generator import Generator
    from kino.engine.options import EngineOptions, pick_device
    from kino.media import write_frames, write_mp4, write_sidecar

    options = EngineOptions(
        device=pick_device(),
        dtype=args.dtype,
        offload_model=args.offload_model,
        t5_cpu=args.t5_cpu,
        convert_model_dtype=args.convert_model_dtype,
        vae_tiling=args.vae_tiling,
    )
    log.info("Input prompt: %s", spec.prompt)
    for flag in ("image", "first_frame", "last_frame"):
        if getattr(args, flag) is not None:
            log.info("Input %s: %s", flag.replace("_", " "), getattr(args, flag))
    log.info("Creating %s pipeline on %s.", spec.preset.kind.upper(), options.device)
    generator = Generator.load(args.ckpt_dir, spec.task, options)
    log.info("Generating video ...")
    video = generator.run(spec)
    save_file = args.save_file or default_save_file(spec, args.ulysses_size, args.ring_size)
    log.info("Saving generated video to %s", save_file)
    write_mp4(video, save_file)
    write_sidecar(video, save_file)
    if args.save_frames is not None:
        write_frames(video, args.save_frames)
        log.info("Saved %d frames to %s", video.num_frames, args.save_frames)
    log.info("Finished.")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the repository's generate.py."""
    from kino.cli.main import main as kino_main

    return kino_main(["generate", *(sys.argv[1:] if argv is None else argv)])
