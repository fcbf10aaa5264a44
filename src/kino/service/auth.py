"""Who is calling: a bearer API key (or nobody, with auth off), and their rate limit."""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from kino.service.api_keys import ApiKey
from kino.service.errors import ApiError

# The owner of every job when the deployment runs without API keys.
LOCAL_OWNER = "local"


@dataclass(frozen=True)
class Caller:
    owner: str
    admin: bool
    key: ApiKey | None

    @property
    def scope(self) -> str | None:
        """The owner whose jobs this caller sees; None sees every job."""
        return None if self.admin else self.owner


def authenticate(request: Request) -> Caller:
    deployment = request.app.state.deployment
    if not deployment.settings.auth:
        return Caller(owner=LOCAL_OWNER, admin=True, key=None)
    header = request.headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    if not header:
        raise ApiError(
            401,
            "missing_api_key",
            "no API key; send `Authorization: Bearer <key>` (create one with `kino keys create`)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    key = deployment.keys.authenticate(secret.strip()) if scheme.lower() == "bearer" else None
    if key is None:
        raise ApiError(
            401,
            "invalid_api_key",
            "the API key is unknown or revoked",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return Caller(owner=key.id, admin=key.admin, key=key)


CallerDep = Annotated[Caller, Depends(authenticate)]


def require_admin(caller: Caller) -> None:
    if not caller.admin:
        raise ApiError(403, "forbidden", "this needs an API key with the admin scope")


class RateLimiter:
    """Requests per key per sliding minute, counted in this API process."""

    def __init__(self, window_seconds: float = 60.0) -> None:
        self.window = window_seconds
        self._hits: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def hit(self, key: str, limit: int) -> None:
        now = time.monotonic()
        with self._lock:
            hits = self._hits[key]
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= limit:
                retry = max(1, math.ceil(hits[0] + self.window - now))
                raise ApiError(
                    429,
                    "rate_limited",
                    f"more than {limit} requests a minute; retry in {retry} s",
                    headers={"Retry-After": str(retry)},
                )
            hits.append(now)
