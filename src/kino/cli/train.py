"""`kino train`: retrain the demo model from scratch on the synthetic world."""

from __future__ import annotations

import argparse
import logging
import shutil
from pathlib import Path

from kino.errors import InvalidSpec
from kino.training.config import TrainConfig

log = logging.getLogger("kino")


def _default(name: str) -> object:
    return TrainConfig.__dataclass_fields__[name].default


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add(
        "--out",
        type=Path,
        default=Path("outputs/train"),
        help="Run folder: stage checkpoints, loss logs and the exported model. Rerunning with "
        "the same folder resumes.",
    )
    add("--seed", type=int, default=0, help="Seed of every random choice in the run.")
    add("--device", default=None, help="cpu, cuda, cuda:1, mps; default: the best available.")
    add("--quick", action="store_true", help="A few steps per stage, to check the pipeline.")
    add("--vae_steps", type=int, default=None, help=f"VAE steps ({_default('vae_steps')}).")
    add(
        "--decoder_steps",
        type=int,
        default=None,
        help=f"VAE decoder fine-tune steps ({_default('decoder_steps')}).",
    )
    add("--t2v_steps", type=int, default=None, help=f"t2v steps ({_default('t2v_steps')}).")
    add("--i2v_steps", type=int, default=None, help=f"i2v steps ({_default('i2v_steps')}).")
    add("--batch", type=int, default=None, help=f"DiT batch size ({_default('dit_batch')}).")
    add(
        "--dit_heads",
        type=int,
        default=None,
        help="DiT width in attention heads of 32 channels, both DiTs "
        f"({_default('dit_heads')}, dim 128; 6 gives dim 192).",
    )
    add(
        "--dit_fp16",
        action="store_true",
        help="Store the exported DiTs in float16 (half the size; wider DiTs need it to stay "
        "under the package's 40 MB).",
    )
    add(
        "--lighting_weight",
        type=float,
        default=0.0,
        help="Weight of the temporal lighting consistency loss on decoded luminance (0 = off).",
    )
    add(
        "--object_weight",
        type=float,
        default=None,
        help="Flow-loss weight of the latents the object covers, and again of those along its "
        f"path, against 1 for the background ({_default('object_weight')}; 1 = a plain mean).",
    )
    add(
        "--vae_object_weight",
        type=float,
        default=None,
        help="VAE reconstruction-loss weight of the object and a 2-pixel ring around it, "
        f"against 1 for the background ({_default('vae_object_weight')}; 1 = a plain mean).",
    )
    add(
        "--ema_decay",
        type=float,
        default=None,
        help="Decay of the moving average of the DiT weights that the model exports "
        f"({_default('ema_decay')}; 0 = the last weights).",
    )
    add(
        "--caption_probe_weight",
        type=float,
        default=None,
        help="Weight of the auxiliary loss that reads the scene back from the text encoder's "
        f"states, teaching it word order ({_default('caption_probe_weight')}; 0 = off).",
    )
    add(
        "--shape_pair_weight",
        type=float,
        default=None,
        help="t2v: train on pairs of videos that differ only in the object's shape, with this "
        "extra weight on the pairs' differential error "
        f"({_default('shape_pair_weight')}; 0 = off).",
    )
    add(
        "--shape_blend",
        type=float,
        default=None,
        help="t2v, with --shape_pair_weight: the share of shape pairs whose two samples see one "
        "noisy input blended from both shapes, each trained towards its own caption's shape "
        f"({_default('shape_blend')}; 0 = none).",
    )
    add("--gradient_checkpointing", action="store_true", help="Trade compute for memory.")
    add("--bf16", action="store_true", help="bf16 autocast (on GPUs; slower on most CPUs).")
    add(
        "--ship",
        action="store_true",
        help="Copy the exported model into the package, where the demo tasks load it from.",
    )


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from kino.demo import MODEL_DIR
    from kino.engine.options import pick_device
    from kino.training.run import train

    at_least_one = (
        "vae_steps",
        "decoder_steps",
        "t2v_steps",
        "i2v_steps",
        "batch",
        "dit_heads",
        "object_weight",
        "vae_object_weight",
    )
    for flag in at_least_one:
        value = getattr(args, flag)
        if value is not None and value < 1:
            raise InvalidSpec(f"--{flag} {value} must be at least 1")
    if args.ema_decay is not None and not 0 <= args.ema_decay < 1:
        raise InvalidSpec(f"--ema_decay {args.ema_decay} must be 0 (off) or in (0, 1), e.g. 0.999")
    for flag in ("lighting_weight", "caption_probe_weight", "shape_pair_weight"):
        value = getattr(args, flag)
        if value is not None and value < 0:
            raise InvalidSpec(f"--{flag} {value} must be 0 (off) or more")
    device = args.device or str(pick_device())
    config = TrainConfig(
        out_dir=args.out,
        seed=args.seed,
        device=device,
        lighting_weight=args.lighting_weight,
        gradient_checkpointing=args.gradient_checkpointing,
        bf16=args.bf16,
        dit_fp16=args.dit_fp16,
    )
    if args.quick:
        config = config.quick()
    overrides = {
        "vae_steps": args.vae_steps,
        "decoder_steps": args.decoder_steps,
        "t2v_steps": args.t2v_steps,
        "i2v_steps": args.i2v_steps,
        "dit_batch": args.batch,
        "dit_heads": args.dit_heads,
        "object_weight": args.object_weight,
        "vae_object_weight": args.vae_object_weight,
        "ema_decay": args.ema_decay,
        "caption_probe_weight": args.caption_probe_weight,
        "shape_pair_weight": args.shape_pair_weight,
        "shape_blend": args.shape_blend,
    }
    config = replace(config, **{k: v for k, v in overrides.items() if v is not None})
    if not 0 <= config.shape_blend <= 1:
        raise InvalidSpec(f"--shape_blend {config.shape_blend} is a share of the pairs: 0 to 1")
    if config.shape_blend > 0 and config.shape_pair_weight == 0:
        raise InvalidSpec("--shape_blend blends shape pairs; add --shape_pair_weight, e.g. 2")
    if config.shape_pair_weight > 0 and config.dit_batch < 2:
        raise InvalidSpec(
            f"--batch {config.dit_batch} holds no shape pair; use --batch 2 or more with "
            "--shape_pair_weight"
        )
    log.info("training the demo model on %s into %s", device, config.out_dir)
    model_dir = train(config)
    log.info("exported %s", model_dir)
    if args.ship:
        shutil.rmtree(MODEL_DIR, ignore_errors=True)
        shutil.copytree(model_dir, MODEL_DIR)
        log.info("shipped to %s", MODEL_DIR)
    print(model_dir.resolve())
    return 0
