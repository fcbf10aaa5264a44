"""Job notifications as Standard Webhooks (https://www.standardwebhooks.com): signed, retried POSTs.

Targets are checked before every attempt so that a job cannot make the service call into its own
network (SSRF), unless the operator allows private addresses.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from ipaddress import IPv4Address, IPv6Address, IPv6Network, ip_address
from typing import Any
from urllib.parse import urlsplit

import httpx
from standardwebhooks import Webhook

from kino.errors import KinoError

_NAT64 = IPv6Network("64:ff9b::/96")
_RETRY_AFTER_CAP_SECONDS = 60.0


class WebhookRefused(KinoError):
    """A webhook URL the service will not call."""

    code = "webhook_refused"


def check_target(url: str, *, allow_private: bool) -> None:
    """Raise WebhookRefused unless url is http(s) with a host that, unless allow_private, resolves
    only to public addresses."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise WebhookRefused(f"webhook URL {url!r} is not a valid URL: {exc}") from exc
    if parts.scheme not in ("http", "https"):
        raise WebhookRefused(f"webhook URL {url!r} must use http or https")
    host = parts.hostname
    if not host:
        raise WebhookRefused(f"webhook URL {url!r} has no host")
    try:
        host.encode("idna")
    except UnicodeError as exc:
        raise WebhookRefused(f"webhook host {host!r} is not a valid host name") from exc
    if allow_private:
        return
    default_port = 443 if parts.scheme == "https" else 80
    try:
        infos = socket.getaddrinfo(host, port or default_port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise WebhookRefused(f"webhook host {host!r} cannot be resolved") from exc
    for info in infos:
        address = ip_address(info[4][0])
        if not _is_public(address):
            raise WebhookRefused(
                f"webhook host {host!r} resolves to {address}, which is not a public address"
            )


def _is_public(address: IPv4Address | IPv6Address) -> bool:
    if isinstance(address, IPv6Address):
        # IPv6 forms that carry an IPv4 address reach that address: ::ffff:a.b.c.d, 6to4, NAT64.
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = IPv4Address(int(address) & 0xFFFF_FFFF)
        if embedded is not None:
            return _is_public(embedded)
    # is_global alone lets multicast through (224.0.0.0/4 counts as global).
    return address.is_global and not (address.is_multicast or address.is_reserved)


def new_secret() -> str:
    """A signing secret in the Standard Webhooks format: whsec_ + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


@dataclass(frozen=True)
class WebhookDelivery:
    """The outcome of one message: attempts counts the HTTP requests made; status_code is the
    last attempt's (None if it got no response)."""

    url: str
    message_id: str
    attempts: int
    status_code: int | None
    delivered: bool
    error: str | None


class WebhookSender:
    """Signs and POSTs webhook messages, retrying transient failures."""

    def __init__(
        self,
        secret: str,
        *,
        allow_private: bool,
        max_attempts: int = 5,
        backoff_seconds: float = 1.0,
        timeout_seconds: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, not {max_attempts}")
        self._webhook = Webhook(secret)
        self._allow_private = allow_private
        self._max_attempts = max_attempts
        self._backoff_seconds = backoff_seconds
        self._timeout_seconds = timeout_seconds
        self._sleep = sleep

    def sign(self, message_id: str, timestamp: datetime, body: bytes) -> dict[str, str]:
        """The Standard Webhooks headers for body sent at timestamp (a naive one is read as UTC)."""
        # Webhook.sign replaces tzinfo rather than converting, so hand it UTC.
        if timestamp.tzinfo is None:
            timestamp = timestamp.replace(tzinfo=UTC)
        timestamp = timestamp.astimezone(UTC)
        signature = self._webhook.sign(message_id, timestamp, body.decode("utf-8"))
        return {
            "webhook-id": message_id,
            "webhook-timestamp": str(int(timestamp.timestamp())),
            "webhook-signature": signature,
            "content-type": "application/json",
        }

    def send(
        self, url: str, event_type: str, data: dict[str, Any], message_id: str
    ) -> WebhookDelivery:
        """POST the message until a 2xx, a non-retryable answer, a refused target or
        max_attempts; receivers deduplicate on message_id, so retries reuse it and the body."""
        timestamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        body = json.dumps(
            {"type": event_type, "timestamp": timestamp, "data": data}, separators=(",", ":")
        ).encode("utf-8")

        def outcome(attempts: int, status: int | None, error: str | None) -> WebhookDelivery:
            return WebhookDelivery(url, message_id, attempts, status, error is None, error)

        status: int | None = None
        error = ""
        # Redirects are not followed: the target of a redirect has not been checked.
        with httpx.Client(timeout=self._timeout_seconds, follow_redirects=False) as client:
            for attempt in range(1, self._max_attempts + 1):
                try:
                    check_target(url, allow_private=self._allow_private)
                except WebhookRefused as exc:
                    return outcome(attempt - 1, status, str(exc))
                headers = self.sign(message_id, datetime.now(UTC), body)
                retry_after = None
                try:
                    # Streamed and never read: a receiver's answer body is of no use to us.
                    with client.stream("POST", url, content=body, headers=headers) as response:
                        status = response.status_code
                        retry_after = _retry_after_seconds(response.headers.get("retry-after"))
                except httpx.TransportError as exc:
                    status = None
                    error = f"{type(exc).__name__}: {exc}"
                else:
                    if 200 <= status < 300:
                        return outcome(attempt, status, None)
                    error = f"HTTP {status}"
                    if status != 429 and status < 500:
                        return outcome(attempt, status, error)
                if attempt < self._max_attempts:
                    delay = self._backoff_seconds * 2 ** (attempt - 1)
                    self._sleep(delay if retry_after is None else retry_after)
        return outcome(self._max_attempts, status, error)


def _retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as delay-seconds, capped; the HTTP-date form is ignored."""
    if value is None or not re.fullmatch(r"\d+", value.strip()):
        return None
    return min(float(value), _RETRY_AFTER_CAP_SECONDS)
