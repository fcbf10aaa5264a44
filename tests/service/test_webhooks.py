"""Webhook delivery against a real HTTP receiver on the loopback interface."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from kino.service.webhooks import (
    WebhookRefused,
    WebhookSender,
    check_target,
    new_secret,
)


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Records every request; answers with the queued (status, headers, delay) replies, then 200."""

    url: str
    requests: list[Received] = field(default_factory=list)
    replies: list[tuple[int, dict[str, str], float]] = field(default_factory=list)

    def answer(self, status: int, headers: dict[str, str] | None = None, delay: float = 0) -> None:
        self.replies.append((status, headers or {}, delay))


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            state.requests.append(Received(dict(self.headers.items()), body))
            status, headers, delay = state.replies.pop(0) if state.replies else (200, {}, 0)
            time.sleep(delay)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/kino"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def secret() -> str:
    return new_secret()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def sender(secret: str, sleeps: list[float]) -> WebhookSender:
    return WebhookSender(secret, allow_private=True, sleep=sleeps.append)


def test_delivers_a_signed_standard_webhook(
    receiver: Receiver, sender: WebhookSender, secret: str, sleeps: list[float]
) -> None:
    delivery = sender.send(receiver.url, "job.succeeded", {"job_id": "j1"}, "msg_1")

    assert delivery.delivered
    assert (delivery.attempts, delivery.status_code, delivery.error) == (1, 200, None)
    (request,) = receiver.requests
    assert request.headers["webhook-id"] == "msg_1"
    assert request.headers["content-type"] == "application/json"
    payload = Webhook(secret).verify(request.body, request.headers)
    assert payload["type"] == "job.succeeded"
    assert payload["data"] == {"job_id": "j1"}
    assert datetime.fromisoformat(payload["timestamp"]).tzinfo is not None
    assert sleeps == []


def test_a_tampered_body_or_another_secret_fails_verification(
    receiver: Receiver, sender: WebhookSender, secret: str
) -> None:
    sender.send(receiver.url, "job.succeeded", {"job_id": "j1"}, "msg_1")
    (request,) = receiver.requests

    tampered = request.body.replace(b"j1", b"j2")
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(tampered, request.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(request.body, request.headers)


def test_server_errors_are_retried_with_the_same_id_and_body(
    receiver: Receiver, sender: WebhookSender, secret: str, sleeps: list[float]
) -> None:
    receiver.answer(500)
    receiver.answer(500)

    delivery = sender.send(receiver.url, "job.failed", {"job_id": "j2"}, "msg_2")

    assert delivery.delivered
    assert (delivery.attempts, delivery.status_code) == (3, 200)
    assert [r.headers["webhook-id"] for r in receiver.requests] == ["msg_2"] * 3
    assert len({r.body for r in receiver.requests}) == 1
    for request in receiver.requests:
        Webhook(secret).verify(request.body, request.headers)
    assert sleeps == [1.0, 2.0]


def test_a_client_error_is_not_retried(
    receiver: Receiver, sender: WebhookSender, sleeps: list[float]
) -> None:
    receiver.answer(400)

    delivery = sender.send(receiver.url, "job.failed", {}, "msg_3")

    assert not delivery.delivered
    assert (delivery.attempts, delivery.status_code, delivery.error) == (1, 400, "HTTP 400")
    assert len(receiver.requests) == 1
    assert sleeps == []


def test_gives_up_after_max_attempts(receiver: Receiver, secret: str) -> None:
    sleeps: list[float] = []
    sender = WebhookSender(
        secret, allow_private=True, max_attempts=4, backoff_seconds=0.5, sleep=sleeps.append
    )
    for _ in range(4):
        receiver.answer(503)

    delivery = sender.send(receiver.url, "job.failed", {}, "msg_4")

    assert not delivery.delivered
    assert (delivery.attempts, delivery.status_code, delivery.error) == (4, 503, "HTTP 503")
    assert sleeps == [0.5, 1.0, 2.0]


def test_retry_after_seconds_are_honoured_and_capped(
    receiver: Receiver, sender: WebhookSender, sleeps: list[float]
) -> None:
    receiver.answer(429, {"retry-after": "7"})
    receiver.answer(503, {"retry-after": "3600"})
    receiver.answer(503, {"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"})

    delivery = sender.send(receiver.url, "job.failed", {}, "msg_5")

    assert delivery.delivered
    assert delivery.attempts == 4
    assert sleeps == [7.0, 60.0, 4.0]


def test_connection_errors_and_timeouts_are_retried(receiver: Receiver, secret: str) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead_url = f"http://127.0.0.1:{closed.getsockname()[1]}/"
    sleeps: list[float] = []
    sender = WebhookSender(
        secret, allow_private=True, max_attempts=2, timeout_seconds=0.5, sleep=sleeps.append
    )

    refused = sender.send(dead_url, "job.failed", {}, "msg_6")
    assert not refused.delivered
    assert (refused.attempts, refused.status_code) == (2, None)
    assert refused.error is not None and refused.error.startswith("ConnectError")

    receiver.answer(200, delay=2.0)
    slow = sender.send(receiver.url, "job.failed", {}, "msg_7")
    assert slow.delivered
    assert slow.attempts == 2
    assert sleeps == [1.0, 1.0]


def test_send_refuses_a_private_target_without_calling_it(receiver: Receiver, secret: str) -> None:
    sender = WebhookSender(secret, allow_private=False, sleep=lambda _: None)

    delivery = sender.send(receiver.url, "job.failed", {}, "msg_8")

    assert not delivery.delivered
    assert (delivery.attempts, delivery.status_code) == (0, None)
    assert delivery.error is not None and "not a public address" in delivery.error
    assert receiver.requests == []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://localhost:8080/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://172.16.0.1/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/hook",
        "http://0.0.0.0/hook",
        "http://224.0.0.1/hook",
        "http://240.0.0.1/hook",
        "http://2130706433/hook",
        "http://[::1]/hook",
        "http://[fe80::1]/hook",
        "http://[fd00::1]/hook",
        "http://[::ffff:10.0.0.1]/hook",
        "http://[2002:c0a8:0001::1]/hook",
        "http://[64:ff9b::7f00:1]/hook",
        "http://[ff0e::1]/hook",
        "http://nonexistent.invalid/hook",
    ],
)
def test_check_target_refuses_non_public_hosts(url: str) -> None:
    with pytest.raises(WebhookRefused):
        check_target(url, allow_private=False)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/hook",
        "file:///etc/passwd",
        "http:///hook",
        "example.com/hook",
        "http://[::1/hook",
        "http://example.com:99999/hook",
        "http://a..b/hook",
    ],
)
@pytest.mark.parametrize("allow_private", [False, True])
def test_check_target_refuses_malformed_urls(url: str, allow_private: bool) -> None:
    with pytest.raises(WebhookRefused):
        check_target(url, allow_private=allow_private)


@pytest.mark.parametrize(
    "url",
    [
        "https://8.8.8.8/hook",
        "http://[2001:4860:4860::8888]:8443/hook",
        "http://[::ffff:8.8.8.8]/hook",
        "http://[64:ff9b::808:808]/hook",
    ],
)
def test_check_target_allows_public_addresses(url: str) -> None:
    check_target(url, allow_private=False)


def test_check_target_allows_private_hosts_when_told() -> None:
    check_target("http://127.0.0.1:9000/hook", allow_private=True)
    check_target("http://localhost/hook", allow_private=True)
    check_target("https://10.0.0.5/hook", allow_private=True)


def test_new_secret_is_32_random_bytes_in_whsec_format() -> None:
    first, second = new_secret(), new_secret()
    assert first.startswith("whsec_")
    assert len(base64.b64decode(first.removeprefix("whsec_"), validate=True)) == 32
    assert first != second


def test_sign_converts_the_timestamp_to_utc(secret: str) -> None:
    sender = WebhookSender(secret, allow_private=True)
    body = json.dumps({"type": "t", "data": {}}).encode()
    now = datetime.now(UTC).replace(microsecond=0)
    in_tokyo = now.astimezone(timezone(timedelta(hours=9)))

    headers = sender.sign("msg_9", in_tokyo, body)

    assert headers["webhook-timestamp"] == str(int(now.timestamp()))
    assert headers == sender.sign("msg_9", now, body)
    Webhook(secret).verify(body, headers)
