"""The service with its neighbours: S3-compatible storage (moto on loopback), a webhook
receiver checking Standard Webhooks signatures, the content policy, and warm models."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from harness import SMALL, running_service, running_worker, wait_for, wait_until
from standardwebhooks import Webhook

from kino.media import read_mp4
from kino.service.deployment import webhook_secret

PROMPT = "a yellow square grows at sunrise"


def test_s3_storage_redirects_to_a_presigned_url(sqlite_url, settings_for, s3_endpoint, tmp_path):
    bucket = f"kino-{uuid.uuid4().hex[:8]}"
    settings = settings_for(
        sqlite_url, storage_url=f"s3://{bucket}/prod", s3_endpoint_url=s3_endpoint
    )
    from kino.storage import open_storage

    open_storage(settings.resolved_storage_url, endpoint_url=s3_endpoint).ensure_bucket()
    with running_service(settings) as service, service.client(service.admin_key) as client:
        job = client.post("/v1/videos", json={"prompt": PROMPT, **SMALL}).json()
        with running_worker(service.deployment):
            done = wait_for(client, job["id"], {"completed", "failed"})
        assert done["status"] == "completed", done
        redirect = client.get(f"/v1/videos/{job['id']}/content")
        assert redirect.status_code == 302
        location = redirect.headers["location"]
        assert location.startswith(f"{s3_endpoint}/{bucket}/prod/videos/{job['id']}/video.mp4?")
        assert "X-Amz-Signature=" in location
        video = httpx.get(location)
        assert video.status_code == 200
        path = tmp_path / "s3.mp4"
        path.write_bytes(video.content)
        assert read_mp4(path).num_frames == 5
        output = next(o for o in done["outputs"] if o["variant"] == "video")
        assert output["bytes"] == len(video.content)
        client.delete(f"/v1/videos/{job['id']}")
        assert httpx.get(location).status_code == 404


class Receiver(ThreadingHTTPServer):
    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.failures_left = 1
        self.received = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = 503 if receiver.failures_left > 0 else 204
                receiver.failures_left -= 1
                self.send_response(status)
                self.end_headers()
                if status == 204:
                    receiver.received.set()

            def log_message(self, *args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


def test_a_finished_job_calls_its_webhook_signed_and_retried(sqlite_url, settings_for, receiver):
    settings = settings_for(sqlite_url, webhook_allow_private=True)
    url = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
    with running_service(settings) as service, service.client(service.admin_key) as client:
        job = client.post("/v1/videos", json={"prompt": PROMPT, "webhook": url, **SMALL}).json()
        with running_worker(service.deployment):
            wait_for(client, job["id"], {"completed"})
            assert receiver.received.wait(30)
        assert len(receiver.requests) == 2
        (first, _), (headers, body) = receiver.requests
        assert first["webhook-id"] == headers["webhook-id"]
        payload = Webhook(webhook_secret(settings)).verify(body, headers)
        assert payload["type"] == "video.completed"
        assert payload["data"]["id"] == job["id"] and payload["data"]["status"] == "completed"
        recorded = wait_until(
            lambda: client.get(f"/v1/videos/{job['id']}").json(),
            lambda job: job["webhook"] is not None,
            timeout=30,
        )["webhook"]
        assert recorded["delivered"] is True and recorded["attempts"] == 2


def test_private_webhook_targets_are_refused_by_default(sqlite_url, settings_for):
    with (
        running_service(settings_for(sqlite_url)) as service,
        service.client(service.admin_key) as client,
    ):
        for target in (
            "http://127.0.0.1:8000/x",
            "http://169.254.169.254/latest",
            "http://10.0.0.8/",
        ):
            response = client.post("/v1/videos", json={"prompt": PROMPT, "webhook": target})
            assert response.status_code == 400
            assert response.json()["error"]["code"] == "webhook_refused"


def test_blocked_prompts_fail_with_content_policy(sqlite_url, settings_for, tmp_path: Path):
    blocklist = tmp_path / "blocklist.txt"
    blocklist.write_text("# test list\nexplode\n爆炸\nre:\\bsmash(es|ed)?\\b\n", encoding="utf-8")
    settings = settings_for(sqlite_url, blocklist=blocklist)
    with running_service(settings) as service, service.client(service.admin_key) as client:
        for prompt in ("a red circle EXPLODE at night", "一个红色的圆爆炸了", "a ball smashes"):
            job = client.post("/v1/videos", json={"prompt": prompt, **SMALL}).json()
            assert job["status"] == "failed"
            assert job["error"]["code"] == "content_policy"
            assert job["safety"]["allowed"] is False
        fine = client.post("/v1/videos", json={"prompt": PROMPT, **SMALL}).json()
        assert fine["status"] == "queued" and fine["safety"]["allowed"] is True
        with running_worker(service.deployment):
            assert wait_for(client, fine["id"], {"completed"})["status"] == "completed"
        statuses = {job["status"] for job in client.get("/v1/videos").json()["data"]}
        assert statuses == {"failed", "completed"}


def test_the_second_job_for_a_model_finds_it_warm(sqlite_url, settings_for):
    with (
        running_service(settings_for(sqlite_url)) as service,
        service.client(service.admin_key) as client,
    ):
        with running_worker(service.deployment) as worker:
            first = client.post("/v1/videos", json={"prompt": PROMPT, **SMALL}).json()
            first = wait_for(client, first["id"], {"completed"})
            second = client.post("/v1/videos", json={"prompt": PROMPT, **SMALL}).json()
            second = wait_for(client, second["id"], {"completed"})
            other = client.post(
                "/v1/videos", json={"prompt": PROMPT, "task": "demo-flf2v", **SMALL}
            )
            assert other.status_code == 400  # flf2v needs its two frames
            assert worker.cache.loads == 1
        assert first["metrics"]["load_seconds"] > 0
        assert second["metrics"]["load_seconds"] == 0
        print(json.dumps({"cold": first["metrics"], "warm": second["metrics"]}))


def test_the_janitor_expires_outputs_and_purges_old_jobs(sqlite_url, settings_for):
    from kino.service.janitor import sweep

    settings = settings_for(sqlite_url, output_ttl_seconds=0)
    with running_service(settings) as service, service.client(service.admin_key) as client:
        job = client.post("/v1/videos", json={"prompt": PROMPT, **SMALL}).json()
        with running_worker(service.deployment):
            wait_for(client, job["id"], {"completed"})
        storage = service.deployment.storage
        assert storage.exists(f"videos/{job['id']}/video.mp4")
        assert sweep(service.deployment).expired_outputs == 1
        assert not storage.exists(f"videos/{job['id']}/video.mp4")
        expired = client.get(f"/v1/videos/{job['id']}/content")
        assert expired.status_code == 404 and expired.json()["error"]["code"] == "output_expired"
        assert client.get(f"/v1/videos/{job['id']}").json()["outputs"] == []
        service.deployment.settings.job_ttl_seconds = 0
        assert sweep(service.deployment).purged == 1
        assert client.get(f"/v1/videos/{job['id']}").status_code == 404
