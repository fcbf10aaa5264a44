"""Deployment: the parts one settings object wires together, shared by the API process and the
workers (job store, key store, storage, safety policy, webhook sender). Imports no torch."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from kino.jobs.database import connect, migrate
from kino.jobs.store import TERMINAL, Job, JobStore
from kino.service.api_keys import ApiKeyStore
from kino.service.job_object import job_object
from kino.service.safety import SafetyPolicy
from kino.service.webhooks import WebhookSender, new_secret
from kino.settings import Settings
from kino.storage import S3Storage, Storage, open_storage

log = logging.getLogger(__name__)


def webhook_secret(settings: Settings) -> str:
    """KINO_WEBHOOK_SECRET, or one made on first use and kept in the data folder (fine on one
    machine; several machines must share KINO_WEBHOOK_SECRET)."""
    if settings.webhook_secret:
        return settings.webhook_secret
    path = Path(settings.data_dir) / "webhook_secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(new_secret())
    return path.read_text().strip()


@dataclass
class Deployment:
    settings: Settings
    engine: Engine
    jobs: JobStore
    keys: ApiKeyStore
    storage: Storage
    safety: SafetyPolicy
    webhooks: WebhookSender
    _deliveries: list[threading.Thread] = field(default_factory=list)

    @classmethod
    def open(cls, settings: Settings, *, create_bucket: bool = False) -> Deployment:
        engine = connect(settings.resolved_database_url)
        migrate(engine)
        storage = open_storage(
            settings.resolved_storage_url,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=settings.s3_secret_access_key,
            public_endpoint_url=settings.s3_public_endpoint_url,
        )
        if create_bucket and isinstance(storage, S3Storage):
            storage.ensure_bucket()
        return cls(
            settings=settings,
            engine=engine,
            jobs=JobStore(
                engine,
                lease_seconds=settings.lease_seconds,
                max_attempts=settings.max_attempts,
                retry_backoff_seconds=settings.retry_backoff_seconds,
            ),
            keys=ApiKeyStore(engine),
            storage=storage,
            safety=SafetyPolicy.load(settings.blocklist, settings.safety_classifier),
            webhooks=WebhookSender(
                webhook_secret(settings),
                allow_private=settings.webhook_allow_private,
                max_attempts=settings.webhook_max_attempts,
                backoff_seconds=settings.webhook_backoff_seconds,
            ),
        )

    @property
    def base_url(self) -> str:
        url = self.settings.public_url or f"http://{self.settings.host}:{self.settings.port}"
        return url.rstrip("/")

    def view(self, job: Job) -> dict[str, object]:
        return job_object(job, base_url=self.base_url, queue_position=self.jobs.queue_position(job))

    def notify(self, job: Job) -> threading.Thread | None:
        """Send the job's webhook for a finished job, in the background; the delivery outcome
        is recorded on the job."""
        if job.webhook_url is None or job.status not in TERMINAL:
            return None

        def deliver() -> None:
            delivery = self.webhooks.send(
                job.webhook_url or "",
                f"video.{job.status}",
                self.view(job),
                message_id=f"msg_{job.id}_{job.status}",
            )
            self.jobs.record_webhook(job.id, dataclasses.asdict(delivery))
            if not delivery.delivered:
                log.warning("webhook for %s not delivered: %s", job.id, delivery.error)

        thread = threading.Thread(target=deliver, name=f"webhook-{job.id}", daemon=True)
        thread.start()
        self._deliveries = [t for t in self._deliveries if t.is_alive()] + [thread]
        return thread

    def close(self, webhook_grace_seconds: float = 30.0) -> None:
        """Give webhooks in flight (and their retries) time to finish, then disconnect."""
        deadline = time.monotonic() + webhook_grace_seconds
        for thread in self._deliveries:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        self.engine.dispose()
