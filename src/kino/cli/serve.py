"""`kino serve`: the HTTP job API, and on one machine its workers too."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys

from kino.cli import deployment_flags

log = logging.getLogger("kino")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    deployment_flags.add_arguments(parser)
    add = parser.add_argument
    add("--host", default=None, help="Address to listen on (KINO_HOST; default 127.0.0.1).")
    add("--port", type=int, default=None, help="Port (KINO_PORT; default 8000).")
    add(
        "--workers",
        type=int,
        default=0,
        help="Start this many `kino worker` processes beside the API (0: run them elsewhere).",
    )
    add(
        "--worker_devices",
        nargs="+",
        default=None,
        help="One device per started worker, e.g. cuda:0 cuda:1 (default: each picks).",
    )
    add("--no_auth", action="store_true", help="Accept requests without API keys (KINO_AUTH).")
    add(
        "--create_bucket",
        action="store_true",
        help="Create the S3 bucket named by --storage_url if it does not exist.",
    )


def _start_workers(args: argparse.Namespace, env: dict[str, str]) -> list[subprocess.Popen]:
    devices = args.worker_devices or []
    workers = []
    for index in range(args.workers):
        command = [sys.executable, "-m", "kino.cli.main", "worker"]
        if index < len(devices):
            command += ["--device", devices[index]]
        # Their own session: a Ctrl-C in the terminal reaches `kino serve` alone, which then
        # sends each worker one SIGTERM (finish the job), not two (requeue it).
        workers.append(subprocess.Popen(command, env=env, start_new_session=True))
    return workers


def _stop_workers(workers: list[subprocess.Popen], grace: float) -> None:
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=grace + 10)
        except subprocess.TimeoutExpired:
            worker.kill()


def run(args: argparse.Namespace) -> int:

    from kino.errors import InvalidSpec
    from kino.service.app import create_app
    from kino.service.deployment import Deployment
    from kino.service.janitor import Janitor
    from kino.service.server import serve

    if args.workers < 0:
        raise InvalidSpec("--workers must be 0 or more")
    settings = deployment_flags.settings_from(
        args, host=args.host, port=args.port, auth=False if args.no_auth else None
    )
    if not settings.auth and settings.host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("API keys are off and %s is not a loopback address", settings.host)
    deployment = Deployment.open(settings, create_bucket=args.create_bucket)
    janitor = Janitor(deployment, settings.janitor_seconds)
    janitor.start()
    env = {**os.environ, **deployment_flags.environment_of(settings)}
    workers = _start_workers(args, env)
    try:
        serve(create_app(deployment), settings.host, settings.port)
    finally:
        _stop_workers(workers, settings.shutdown_grace_seconds)
        janitor.stop()
        deployment.close()
    return 0
