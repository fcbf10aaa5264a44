"""JobStore: a job is a row; a worker claims it with a lease, heartbeats, and writes its result
once. A worker that dies lets its lease expire and the job runs again, up to a maximum number of
attempts, with backoff."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from typing import Any

from sqlalchemy import ColumnElement, Engine, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kino.errors import JobNotFound, LeaseLost
from kino.jobs.tables import JobRow

QUEUED = "queued"
IN_PROGRESS = "in_progress"
COMPLETED = "completed"
FAILED = "failed"
CANCELLED = "cancelled"
TERMINAL = frozenset({COMPLETED, FAILED, CANCELLED})
STATUSES = (QUEUED, IN_PROGRESS, COMPLETED, FAILED, CANCELLED)


def new_job_id() -> str:
    return f"video_{secrets.token_hex(12)}"


@dataclass(frozen=True)
class Job:
    """A snapshot of one job row."""

    seq: int
    id: str
    owner: str
    status: str
    priority: int
    model: str
    task: str
    seed: int
    request: dict[str, Any]
    request_hash: str
    idempotency_key: str | None
    job_metadata: dict[str, Any]
    webhook_url: str | None
    webhook: dict[str, Any] | None
    safety: dict[str, Any] | None
    progress: float
    stage: str | None
    step: int
    total_steps: int
    attempts: int
    max_attempts: int
    available_at: float
    lease_owner: str | None
    worker: str | None
    lease_expires_at: float | None
    cancel_requested: bool
    error_code: str | None
    error_message: str | None
    outputs: list[dict[str, Any]]
    load_seconds: float | None
    created_at: float
    started_at: float | None
    completed_at: float | None
    expires_at: float | None

    @classmethod
    def from_row(cls, row: JobRow) -> Job:
        return cls(**{f.name: getattr(row, f.name) for f in fields(cls)})

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL


@dataclass(frozen=True)
class NewJob:
    """A validated submission."""

    owner: str
    model: str
    task: str
    seed: int
    request: dict[str, Any]
    request_hash: str
    priority: int = 0
    idempotency_key: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    webhook_url: str | None = None
    safety: dict[str, Any] | None = None
    # A submission refused before it could run (content policy): stored as failed.
    refused: tuple[str, str] | None = None  # (code, message)
    id: str = field(default_factory=new_job_id)


@dataclass(frozen=True)
class Progress:
    progress: float  # 0–100 over the whole job
    stage: str
    step: int
    total_steps: int


class IdempotencyConflict(Exception):
    """The same Idempotency-Key was sent with a different request."""

    def __init__(self, job: Job) -> None:
        super().__init__(job.id)
        self.job = job


class JobStore:
    def __init__(
        self,
        engine: Engine,
        *,
        lease_seconds: float = 30.0,
        max_attempts: int = 3,
        retry_backoff_seconds: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self.lease_seconds = lease_seconds
        self.max_attempts = max_attempts
        self.retry_backoff_seconds = retry_backoff_seconds
        self.clock = clock

    def _session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    # -- the API side -------------------------------------------------------------------

    def submit(self, new: NewJob) -> tuple[Job, bool]:
        """Insert a job; with an idempotency key already used by this owner, return that job
        instead (created False). Raises IdempotencyConflict for the same key, other request."""
        if new.idempotency_key is not None:
            existing = self.by_idempotency_key(new.owner, new.idempotency_key)
            if existing is not None:
                return self._same_request(existing, new), False
        now = self.clock()
        row = JobRow(
            id=new.id,
            owner=new.owner,
            status=QUEUED,
            priority=new.priority,
            model=new.model,
            task=new.task,
            seed=new.seed,
            request=new.request,
            request_hash=new.request_hash,
            idempotency_key=new.idempotency_key,
            job_metadata=new.metadata,
            webhook_url=new.webhook_url,
            safety=new.safety,
            progress=0.0,
            step=0,
            total_steps=0,
            attempts=0,
            max_attempts=self.max_attempts,
            available_at=now,
            cancel_requested=False,
            outputs=[],
            created_at=now,
        )
        if new.refused is not None:
            row.status = FAILED
            row.error_code, row.error_message = new.refused
            row.completed_at = now
        try:
            with self._session() as session, session.begin():
                session.add(row)
        except IntegrityError:
            # Two requests with one idempotency key raced; the other insert won.
            existing = self.by_idempotency_key(new.owner, new.idempotency_key or "")
            if existing is None:
                raise
            return self._same_request(existing, new), False
        return Job.from_row(row), True

    def by_idempotency_key(self, owner: str, key: str) -> Job | None:
        with self._session() as session:
            row = session.scalar(
                select(JobRow).where(JobRow.owner == owner, JobRow.idempotency_key == key)
            )
            return None if row is None else Job.from_row(row)

    @staticmethod
    def _same_request(existing: Job, new: NewJob) -> Job:
        if existing.request_hash != new.request_hash:
            raise IdempotencyConflict(existing)
        return existing

    def get(self, job_id: str, owner: str | None = None) -> Job:
        """The job; owner None reads any job (admin). Another owner's job is JobNotFound."""
        with self._session() as session:
            row = session.scalar(select(JobRow).where(JobRow.id == job_id))
            if row is None or (owner is not None and row.owner != owner):
                raise JobNotFound(f"no video job {job_id!r}")
            return Job.from_row(row)

    def page(
        self,
        owner: str | None,
        *,
        status: str | None = None,
        after: str | None = None,
        limit: int = 20,
    ) -> tuple[list[Job], bool]:
        """Newest first; `after` is the id of the last job of the previous page."""
        query = select(JobRow)
        if owner is not None:
            query = query.where(JobRow.owner == owner)
        if status is not None:
            query = query.where(JobRow.status == status)
        if after is not None:
            cursor = self.get(after, owner)
            query = query.where(JobRow.seq < cursor.seq)
        query = query.order_by(JobRow.seq.desc()).limit(limit + 1)
        with self._session() as session:
            rows = list(session.scalars(query))
        return [Job.from_row(row) for row in rows[:limit]], len(rows) > limit

    def queue_position(self, job: Job) -> int | None:
        """1 for the next job a worker will claim; None unless queued."""
        if job.status != QUEUED:
            return None
        ahead = select(func.count()).where(
            JobRow.status == QUEUED,
            or_(
                JobRow.priority > job.priority,
                (JobRow.priority == job.priority) & (JobRow.seq < job.seq),
            ),
        )
        with self._session() as session:
            return int(session.scalar(ahead) or 0) + 1

    def count_active(self, owner: str | None = None) -> int:
        """Queued and running jobs, of one owner or of everyone."""
        query = select(func.count()).where(JobRow.status.in_((QUEUED, IN_PROGRESS)))
        if owner is not None:
            query = query.where(JobRow.owner == owner)
        with self._session() as session:
            return int(session.scalar(query) or 0)

    def count_queued(self) -> int:
        with self._session() as session:
            return int(session.scalar(select(func.count()).where(JobRow.status == QUEUED)) or 0)

    def cancel(self, job_id: str, owner: str | None = None) -> Job:
        """Idempotent. A queued job is cancelled now; a running one at its next step."""
        job = self.get(job_id, owner)
        now = self.clock()
        with self._session() as session, session.begin():
            session.execute(
                update(JobRow)
                .where(JobRow.id == job.id, JobRow.status == QUEUED)
                .values(status=CANCELLED, completed_at=now, cancel_requested=True)
            )
            session.execute(
                update(JobRow)
                .where(JobRow.id == job.id, JobRow.status == IN_PROGRESS)
                .values(cancel_requested=True)
            )
        return self.get(job.id)

    def delete(self, job_id: str, owner: str | None = None) -> Job:
        """Remove the row; a running job's worker loses its lease and stops."""
        job = self.get(job_id, owner)
        with self._session() as session, session.begin():
            session.execute(delete(JobRow).where(JobRow.id == job.id))
        return job

    def record_webhook(self, job_id: str, delivery: dict[str, Any]) -> None:
        with self._session() as session, session.begin():
            session.execute(update(JobRow).where(JobRow.id == job_id).values(webhook=delivery))

    # -- the worker side ----------------------------------------------------------------

    def claim(self, worker_id: str, models: Iterable[str] | None = None) -> Job | None:
        """The highest-priority, oldest runnable job, leased to `worker_id`; None if none."""
        models = None if models is None else list(models)
        while True:
            now = self.clock()
            query = select(JobRow.seq).where(JobRow.status == QUEUED, JobRow.available_at <= now)
            if models is not None:
                query = query.where(JobRow.model.in_(models))
            # SKIP LOCKED on PostgreSQL: concurrent workers each take a different row. SQLite
            # ignores it; there the conditional UPDATE below settles a race.
            query = (
                query.order_by(JobRow.priority.desc(), JobRow.seq.asc())
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            with self._session() as session, session.begin():
                seq = session.scalar(query)
                if seq is None:
                    return None
                claimed = session.execute(
                    update(JobRow)
                    .where(JobRow.seq == seq, JobRow.status == QUEUED)
                    .values(
                        status=IN_PROGRESS,
                        lease_owner=worker_id,
                        worker=worker_id,
                        lease_expires_at=now + self.lease_seconds,
                        attempts=JobRow.attempts + 1,
                        started_at=now,
                        progress=0.0,
                        stage=None,
                        step=0,
                        total_steps=0,
                    )
                )
                if claimed.rowcount == 1:
                    row = session.scalar(select(JobRow).where(JobRow.seq == seq))
                    assert row is not None
                    return Job.from_row(row)

    def _leased(self, job_id: str, worker_id: str) -> ColumnElement[bool]:
        return (
            (JobRow.id == job_id)
            & (JobRow.lease_owner == worker_id)
            & (JobRow.status == IN_PROGRESS)
        )

    def heartbeat(self, job_id: str, worker_id: str, progress: Progress | None = None) -> bool:
        """Extend the lease (and record progress). Returns whether cancellation was asked for;
        raises LeaseLost when the job is no longer this worker's."""
        values: dict[str, Any] = {"lease_expires_at": self.clock() + self.lease_seconds}
        if progress is not None:
            values.update(
                progress=progress.progress,
                stage=progress.stage,
                step=progress.step,
                total_steps=progress.total_steps,
            )
        with self._session() as session, session.begin():
            result = session.execute(
                update(JobRow).where(self._leased(job_id, worker_id)).values(**values)
            )
            if result.rowcount != 1:
                raise LeaseLost(f"job {job_id} is no longer leased to {worker_id}")
            return bool(session.scalar(select(JobRow.cancel_requested).where(JobRow.id == job_id)))

    def _finish(self, job_id: str, worker_id: str, **values: Any) -> Job:
        with self._session() as session, session.begin():
            result = session.execute(
                update(JobRow)
                .where(self._leased(job_id, worker_id))
                .values(lease_owner=None, lease_expires_at=None, **values)
            )
            row = session.scalar(select(JobRow).where(JobRow.id == job_id))
            if result.rowcount != 1 or row is None:
                raise LeaseLost(f"job {job_id} is no longer leased to {worker_id}")
            return Job.from_row(row)

    def complete(
        self,
        job_id: str,
        worker_id: str,
        outputs: list[dict[str, Any]],
        *,
        load_seconds: float,
        output_ttl_seconds: float,
    ) -> Job:
        """Write the result, once: a worker whose lease is gone gets LeaseLost and its result
        is dropped."""
        now = self.clock()
        return self._finish(
            job_id,
            worker_id,
            status=COMPLETED,
            outputs=outputs,
            progress=100.0,
            stage="done",
            load_seconds=load_seconds,
            completed_at=now,
            expires_at=now + output_ttl_seconds,
        )

    def fail(self, job_id: str, worker_id: str, code: str, message: str, *, retry: bool) -> Job:
        """Fail this attempt: with `retry` and attempts left, requeue it after a backoff."""
        try:
            job = self.get(job_id)
        except JobNotFound:
            raise LeaseLost(f"job {job_id} is no longer leased to {worker_id}") from None
        now = self.clock()
        if retry and job.attempts < job.max_attempts:
            return self._finish(
                job_id,
                worker_id,
                status=QUEUED,
                available_at=now + self._backoff(job.attempts),
                error_code=code,
                error_message=message,
            )
        return self._finish(
            job_id,
            worker_id,
            status=FAILED,
            error_code=code,
            error_message=message,
            completed_at=now,
        )

    def mark_cancelled(self, job_id: str, worker_id: str) -> Job:
        return self._finish(job_id, worker_id, status=CANCELLED, completed_at=self.clock())

    def release(self, job_id: str, worker_id: str) -> Job:
        """Give a job back untouched (a worker shutting down): this attempt does not count."""
        return self._finish(
            job_id, worker_id, status=QUEUED, attempts=JobRow.attempts - 1, available_at=0.0
        )

    def _backoff(self, attempts: int) -> float:
        return self.retry_backoff_seconds * 2 ** max(attempts - 1, 0)

    # -- housekeeping -------------------------------------------------------------------

    def requeue_expired(self) -> list[Job]:
        """Jobs whose worker stopped heartbeating: run again, or fail once out of attempts."""
        now = self.clock()
        changed: list[Job] = []
        with self._session() as session, session.begin():
            rows = session.scalars(
                select(JobRow)
                .where(JobRow.status == IN_PROGRESS, JobRow.lease_expires_at < now)
                .with_for_update(skip_locked=True)
            ).all()
            for row in rows:
                row.lease_owner = None
                row.lease_expires_at = None
                if row.cancel_requested:
                    row.status, row.completed_at = CANCELLED, now
                elif row.attempts >= row.max_attempts:
                    row.status, row.completed_at = FAILED, now
                    row.error_code = "worker_lost"
                    row.error_message = (
                        f"the worker running this job stopped responding {row.attempts} times"
                    )
                else:
                    row.status = QUEUED
                    row.available_at = now + self._backoff(row.attempts)
            session.flush()
            changed = [Job.from_row(row) for row in rows]
        return changed

    def expired_outputs(self) -> list[Job]:
        """Completed jobs whose outputs passed their expiry; their outputs are forgotten."""
        now = self.clock()
        with self._session() as session, session.begin():
            rows = session.scalars(
                select(JobRow).where(JobRow.status == COMPLETED, JobRow.expires_at < now)
            ).all()
            jobs = [Job.from_row(row) for row in rows if row.outputs]
            for row in rows:
                row.outputs = []
                row.expires_at = None
        return jobs

    def purge(self, older_than_seconds: float) -> list[Job]:
        """Delete jobs that finished more than `older_than_seconds` ago."""
        cutoff = self.clock() - older_than_seconds
        with self._session() as session, session.begin():
            rows = session.scalars(
                select(JobRow).where(JobRow.status.in_(TERMINAL), JobRow.completed_at < cutoff)
            ).all()
            jobs = [Job.from_row(row) for row in rows]
            session.execute(delete(JobRow).where(JobRow.seq.in_([job.seq for job in jobs])))
        return jobs
