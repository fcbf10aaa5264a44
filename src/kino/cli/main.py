"""The `kino` command: subcommands, logging, and the one place errors become exit codes."""

from __future__ import annotations

import logging
import sys

from kino.errors import (
    CheckpointError,
    ConfigError,
    InvalidSpec,
    KinoError,
    NotFound,
    UnsupportedInProcess,
)

from . import demo, eval, generate, keys, serve, train, worker
from .parser import OneLineParser

EXIT_CODES: dict[type[KinoError], int] = {
    InvalidSpec: 2,
    UnsupportedInProcess: 2,
    CheckpointError: 3,
    ConfigError: 4,
    NotFound: 5,
}


def exit_code(error: KinoError) -> int:
    for kind, code in EXIT_CODES.items():
        if isinstance(error, kind):
            return code
    return 1


def build_parser() -> OneLineParser:
    parser = OneLineParser(prog="kino", description="Run Wan2.1 and Wan2.2 video models.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    generate.add_arguments(
        commands.add_parser(
            "generate",
            help="Generate a video; accepts the official Wan generate.py flags.",
            description="Generate a video from a prompt (and images). Accepts every flag of the "
            "official Wan2.1/Wan2.2 generate.py for the t2v, i2v, flf2v and ti2v tasks.",
        )
    )
    demo.add_arguments(
        commands.add_parser(
            "demo",
            help="Generate a short video offline with the built-in demo model.",
            description="Generate a short video offline, on the CPU, with no downloaded weights.",
        )
    )
    train.add_arguments(
        commands.add_parser(
            "train",
            help="Retrain the demo model from scratch on the synthetic world.",
            description="Train the demo model (VAE, text encoder, t2v and i2v/flf2v DiTs) from "
            "scratch on the synthetic video world, resumably, and export it as a diffusers "
            "folder.",
        )
    )
    eval.add_arguments(
        commands.add_parser(
            "eval",
            help="Score the demo model on held-out prompts.",
            description="Generate videos for the held-out scene combinations (English and "
            "Chinese) and read them back with the world's rule-based detector; also FLF2V and "
            "VAE PSNR and flicker.",
        )
    )
    serve.add_arguments(
        commands.add_parser(
            "serve",
            help="Run the HTTP video job API (and, with --workers, its workers).",
            description="Run the HTTP job API: OpenAI-style /v1/videos, a durable priority "
            "queue in SQLite or PostgreSQL, local or S3 storage. Settings come from KINO_* "
            "variables; see README's configuration table.",
        )
    )
    worker.add_arguments(
        commands.add_parser(
            "worker",
            help="Run queued video jobs on this machine, models kept warm.",
            description="Claim jobs from the service's database, run them on a warm model, "
            "and upload the videos. Run one per GPU. SIGTERM finishes the current job; a "
            "second SIGTERM (or the grace period) requeues it.",
        )
    )
    keys.add_arguments(
        commands.add_parser(
            "keys",
            help="Create, list and revoke the service's API keys.",
            description="Manage the API keys of the service's database.",
        )
    )
    return parser


COMMANDS = {
    "generate": generate.run,
    "demo": demo.run,
    "train": train.run,
    "eval": eval.run,
    "serve": serve.run,
    "worker": worker.run,
    "keys": keys.run,
}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        format="[%(asctime)s] %(levelname)s: %(message)s",
        handlers=[logging.StreamHandler(stream=sys.stdout)],
    )
    # Alembic reports every migration check at INFO; kino's own lines are the useful ones.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        return COMMANDS[args.command](args)
    except KinoError as error:
        sys.stderr.write(f"kino {args.command}: error: {error}\n")
        return exit_code(error)


if __name__ == "__main__":
    sys.exit(main())
