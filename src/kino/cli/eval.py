"""`kino eval demo`: score the demo model on held-out prompts with the world's detector."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from kino.errors import InvalidSpec

log = logging.getLogger("kino")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", choices=["demo"], help="What to evaluate: the demo model.")
    parser.add_argument(
        "--model", type=Path, default=None, help="Model folder; default: the shipped demo model."
    )
    parser.add_argument(
        "--paraphrases",
        type=int,
        default=1,
        help="Random phrasings per scene and language, besides the canonical prompt.",
    )
    parser.add_argument(
        "--limit", type=int, default=None, help="Evaluate this many held-out scenes (of 42)."
    )
    parser.add_argument("--seed", type=int, default=0, help="Seed of prompts and sampling.")
    parser.add_argument("--json", type=Path, default=None, help="Also write the report here.")


def run(args: argparse.Namespace) -> int:
    if args.paraphrases < 0 or (args.limit is not None and args.limit < 1):
        raise InvalidSpec("--paraphrases must be >= 0 and --limit >= 1")
    from kino.demo import MODEL_DIR
    from kino.demo.evaluation import evaluate, held_out_cases
    from kino.errors import CheckpointError

    model = args.model or MODEL_DIR
    if not (model / "model_index.json").is_file():
        raise CheckpointError(f"{model}: not a demo model folder (no model_index.json)")
    cases = held_out_cases(args.paraphrases, args.limit, args.seed)
    log.info("evaluating %s on %d held-out prompts", model, len(cases))
    report = evaluate(model, cases, endpoint_scenes=args.limit)
    print(report.to_markdown(), end="")
    passes = report.passes()
    print("targets: " + ", ".join(f"{k} {'pass' if v else 'FAIL'}" for k, v in passes.items()))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n")
    return 0
