"""`kino worker`: run video jobs from the queue on this machine's GPU (or CPU)."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from types import FrameType

from kino.cli import deployment_flags

log = logging.getLogger("kino")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    deployment_flags.add_arguments(parser)
    add = parser.add_argument
    add(
        "--models",
        nargs="+",
        default=None,
        help="Serve only these models (names from KINO_MODELS); default: all.",
    )
    add("--device", default=None, help="cpu, cuda, cuda:1, mps (KINO_DEVICE; default: auto).")
    add("--worker_id", default=None, help="Name in leases and logs; default: host:pid.")
    add("--max_jobs", type=int, default=None, help="Exit after this many jobs.")


def run(args: argparse.Namespace) -> int:
    from kino.jobs.worker import Worker
    from kino.service.deployment import Deployment

    settings = deployment_flags.settings_from(args, device=args.device)
    deployment = Deployment.open(settings)
    worker = Worker(deployment, worker_id=args.worker_id, models=args.models)

    def on_sigterm(signum: int, _frame: FrameType | None) -> None:
        if worker.stopping.is_set():
            log.info("second signal: giving the current job back to the queue")
            worker.abort.set()
            return
        log.info(
            "signal %d: finishing the current job (requeued after %.0f s), then stopping",
            signum,
            settings.shutdown_grace_seconds,
        )
        worker.stopping.set()
        timer = threading.Timer(settings.shutdown_grace_seconds, worker.abort.set)
        timer.daemon = True
        timer.start()

    signal.signal(signal.SIGTERM, on_sigterm)
    signal.signal(signal.SIGINT, on_sigterm)
    done = worker.run(max_jobs=args.max_jobs)
    log.info("worker %s stopped after %d jobs", worker.worker_id, done)
    deployment.close()
    return 0
