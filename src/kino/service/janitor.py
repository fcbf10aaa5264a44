"""Housekeeping that any one process may run: requeue jobs whose worker vanished, forget
expired outputs, and delete old finished jobs with their files."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from kino.service.deployment import Deployment

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sweep:
    requeued: int
    expired_outputs: int
    purged: int


def sweep(deployment: Deployment) -> Sweep:
    jobs, storage = deployment.jobs, deployment.storage
    requeued = jobs.requeue_expired()
    for job in requeued:
        deployment.notify(job)
    expired = jobs.expired_outputs()
    for job in expired:
        storage.delete_prefix(f"videos/{job.id}/")
    purged = jobs.purge(deployment.settings.job_ttl_seconds)
    for job in purged:
        storage.delete_prefix(f"videos/{job.id}/")
        storage.delete_prefix(f"inputs/{job.id}/")
    result = Sweep(len(requeued), len(expired), len(purged))
    if any((result.requeued, result.expired_outputs, result.purged)):
        log.info("janitor: %s", result)
    return result


class Janitor:
    """Runs `sweep` every `interval` seconds on a daemon thread."""

    def __init__(self, deployment: Deployment, interval: float) -> None:
        self._deployment = deployment
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="janitor", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                sweep(self._deployment)
            except Exception:
                log.exception("janitor sweep failed; trying again in %.0f s", self._interval)
