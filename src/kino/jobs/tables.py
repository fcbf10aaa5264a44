"""The database tables. Times are Unix seconds (float), the same on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Double,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class JobRow(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("owner", "idempotency_key", name="uq_jobs_owner_idempotency"),
        Index("ix_jobs_claim", "status", "priority", "seq"),
        Index("ix_jobs_owner_seq", "owner", "seq"),
    )

    # seq orders jobs (FIFO within a priority, and list cursors); id is what clients see.
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    owner: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    model: Mapped[str] = mapped_column(String(200))
    task: Mapped[str] = mapped_column(String(40))
    seed: Mapped[int] = mapped_column(BigInteger)
    # The validated request: prompt, size, frames, steps, guide, shift, and input image keys.
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    request_hash: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    job_metadata: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    webhook_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    webhook: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    safety: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)

    progress: Mapped[float] = mapped_column(Double, default=0.0)
    stage: Mapped[str | None] = mapped_column(String(16), nullable=True)
    step: Mapped[int] = mapped_column(Integer, default=0)
    total_steps: Mapped[int] = mapped_column(Integer, default=0)

    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer)
    available_at: Mapped[float] = mapped_column(Double)
    lease_owner: Mapped[str | None] = mapped_column(String(80), nullable=True)
    # The worker of the latest attempt; kept after the lease ends.
    worker: Mapped[str | None] = mapped_column(String(80), nullable=True)
    lease_expires_at: Mapped[float | None] = mapped_column(Double, nullable=True)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)

    error_code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    outputs: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    load_seconds: Mapped[float | None] = mapped_column(Double, nullable=True)

    created_at: Mapped[float] = mapped_column(Double)
    started_at: Mapped[float | None] = mapped_column(Double, nullable=True)
    completed_at: Mapped[float | None] = mapped_column(Double, nullable=True)
    expires_at: Mapped[float | None] = mapped_column(Double, nullable=True)


class ApiKeyRow(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # sha256 of the secret: keys are 256-bit random tokens, so a fast hash is enough.
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    admin: Mapped[bool] = mapped_column(Boolean, default=False)
    rate_limit_per_minute: Mapped[int | None] = mapped_column(Integer, nullable=True)
    max_queued: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[float] = mapped_column(Double)
    revoked_at: Mapped[float | None] = mapped_column(Double, nullable=True)
