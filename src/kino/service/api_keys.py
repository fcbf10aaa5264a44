"""API keys: random bearer tokens stored as hashes, with an admin scope and per-key limits."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass, fields

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from kino.errors import NotFound
from kino.jobs.tables import ApiKeyRow

TOKEN_PREFIX = "kino_"


class KeyNotFound(NotFound):
    """No API key with that id."""


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    prefix: str
    admin: bool
    rate_limit_per_minute: int | None
    max_queued: int | None
    created_at: float
    revoked_at: float | None

    @classmethod
    def from_row(cls, row: ApiKeyRow) -> ApiKey:
        return cls(**{f.name: getattr(row, f.name) for f in fields(cls)})

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "object": "api_key",
            "name": self.name,
            "prefix": self.prefix,
            "admin": self.admin,
            "rate_limit_per_minute": self.rate_limit_per_minute,
            "max_queued": self.max_queued,
            "created_at": int(self.created_at),
            "revoked_at": None if self.revoked_at is None else int(self.revoked_at),
        }


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiKeyStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(
        self,
        name: str,
        *,
        admin: bool = False,
        rate_limit_per_minute: int | None = None,
        max_queued: int | None = None,
    ) -> tuple[ApiKey, str]:
        """A new key and its secret; the secret is shown once and only its hash is stored."""
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        row = ApiKeyRow(
            id=f"key_{secrets.token_hex(8)}",
            name=name,
            secret_hash=_hash(secret),
            prefix=secret[: len(TOKEN_PREFIX) + 4],
            admin=admin,
            rate_limit_per_minute=rate_limit_per_minute,
            max_queued=max_queued,
            created_at=time.time(),
        )
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            session.add(row)
        return ApiKey.from_row(row), secret

    def authenticate(self, secret: str) -> ApiKey | None:
        """The live key with this secret, or None."""
        with Session(self.engine) as session:
            row = session.scalar(select(ApiKeyRow).where(ApiKeyRow.secret_hash == _hash(secret)))
            if row is None or row.revoked_at is not None:
                return None
            return ApiKey.from_row(row)

    def list(self) -> list[ApiKey]:
        with Session(self.engine) as session:
            rows = session.scalars(select(ApiKeyRow).order_by(ApiKeyRow.created_at))
            return [ApiKey.from_row(row) for row in rows]

    def revoke(self, key_id: str) -> ApiKey:
        with Session(self.engine) as session, session.begin():
            session.execute(
                update(ApiKeyRow)
                .where(ApiKeyRow.id == key_id, ApiKeyRow.revoked_at.is_(None))
                .values(revoked_at=time.time())
            )
            row = session.scalar(select(ApiKeyRow).where(ApiKeyRow.id == key_id))
            if row is None:
                raise KeyNotFound(f"no API key {key_id!r}; `kino keys list` shows them")
            return ApiKey.from_row(row)
