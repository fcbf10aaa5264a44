"""Helpers for service tests: a uvicorn server on loopback, workers, and polling."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn

from kino.cli import deployment_flags
from kino.service.app import create_app
from kino.service.deployment import Deployment
from kino.settings import Settings

DEMO_TASKS = ["demo-t2v", "demo-i2v", "demo-flf2v"]
# Small jobs: the tests are about the service, not the pictures.
SMALL = {"num_frames": 5, "steps": 2}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def environment_of(settings: Settings) -> dict[str, str]:
    """The environment that gives a `kino` subprocess these settings."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("KINO_")}
    env.update(deployment_flags.environment_of(settings))
    env.update(
        {
            "KINO_MODELS": json.dumps(
                {name: entry.model_dump(mode="json") for name, entry in settings.models.items()}
            ),
            "KINO_DEVICE": settings.device,
            "KINO_LEASE_SECONDS": str(settings.lease_seconds),
            "KINO_RETRY_BACKOFF_SECONDS": str(settings.retry_backoff_seconds),
            "KINO_POLL_SECONDS": str(settings.poll_seconds),
        }
    )
    return env


@dataclass
class Service:
    url: str
    deployment: Deployment
    admin_key: str

    def client(self, key: str | None = None) -> httpx.Client:
        headers = {} if key is None else {"Authorization": f"Bearer {key}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def new_key(self, name: str, **limits: Any) -> str:
        return self.deployment.keys.create(name, **limits)[1]


@contextmanager
def running_service(settings: Settings) -> Iterator[Service]:
    deployment = Deployment.open(settings)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(deployment), host="127.0.0.1", port=settings.port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    _, admin = deployment.keys.create("admin", admin=True)
    try:
        yield Service(f"http://127.0.0.1:{settings.port}", deployment, admin)
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        deployment.close()


@contextmanager
def running_worker(deployment: Deployment, **kwargs: Any) -> Iterator[Any]:
    """A Worker on a thread of this process."""
    import torch

    from kino.jobs.worker import Worker

    worker = Worker(deployment, device=torch.device("cpu"), **kwargs)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        yield worker
    finally:
        worker.stopping.set()
        thread.join(timeout=120)


def worker_process(settings: Settings, *args: str) -> subprocess.Popen:
    """`kino worker` as its own process."""
    return subprocess.Popen(
        [sys.executable, "-m", "kino.cli.main", "worker", *args],
        env=environment_of(settings),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def wait_until(
    read: Callable[[], dict[str, Any]], done: Callable[[dict[str, Any]], bool], timeout: float = 120
) -> dict[str, Any]:
    """Poll `read()` until `done` holds for what it returns; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value):
            return value
        assert time.monotonic() < deadline, f"gave up waiting; last seen: {value}"
        time.sleep(0.05)


def wait_for(
    client: httpx.Client, job_id: str, statuses: set[str], timeout: float = 120
) -> dict[str, Any]:
    return wait_until(
        lambda: client.get(f"/v1/videos/{job_id}").json(),
        lambda job: job["status"] in statuses,
        timeout,
    )
