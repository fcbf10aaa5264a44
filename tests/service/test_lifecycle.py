"""The life of a job over real HTTP: submit, follow its events, download and decode the MP4;
cancel, idempotency, delete and paging. On SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import httpx
from harness import SMALL, running_service, running_worker, wait_for, wait_until

from kino.media import read_mp4

PROMPT = "a red circle moves from left to right at sunset"


def read_events(client: httpx.Client, job_id: str, events: list[tuple[str, dict]]) -> None:
    with client.stream("GET", f"/v1/videos/{job_id}/events") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        name = None
        for line in response.iter_lines():
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                events.append((name, json.loads(line.removeprefix("data: "))))


def test_a_job_runs_to_a_decodable_mp4(database_url, settings_for, tmp_path: Path):
    with (
        running_service(settings_for(database_url)) as service,
        service.client(service.admin_key) as client,
    ):
        created = client.post(
            "/v1/videos", json={"prompt": PROMPT, "seed": 7, "num_frames": 9, "steps": 16}
        )
        assert created.status_code == 202
        job = created.json()
        assert job["status"] == "queued" and job["queue_position"] == 1
        assert job["seed"] == 7 and job["model"] == "kino-demo" and job["task"] == "demo-t2v"
        events: list[tuple[str, dict]] = []
        reader = threading.Thread(target=read_events, args=(client, job["id"], events))
        reader.start()
        while not events:
            time.sleep(0.01)
        with running_worker(service.deployment):
            reader.join(timeout=120)
        statuses = [data["status"] for _, data in events]
        assert statuses[0] == "queued" and statuses[-1] == "completed"
        progress = [data["progress"] for _, data in events if data["status"] == "in_progress"]
        assert progress == sorted(progress) and len(set(progress)) >= 3
        assert any(data["stage"] == "denoise" and data["total_steps"] == 16 for _, data in events)
        done = events[-1][1]
        assert done["progress"] == 100 and done["attempts"] == 1
        assert done["metrics"]["queue_seconds"] >= 0 and done["metrics"]["run_seconds"] > 0
        video = next(o for o in done["outputs"] if o["variant"] == "video")
        content = client.get(f"/v1/videos/{job['id']}/content")
        assert content.status_code == 200 and content.headers["content-type"] == "video/mp4"
        assert len(content.content) == video["bytes"]
        path = tmp_path / "out.mp4"
        path.write_bytes(content.content)
        decoded = read_mp4(path)
        assert decoded.num_frames == 9 and decoded.width_height == (64, 64)
        thumbnail = client.get(f"/v1/videos/{job['id']}/content", params={"variant": "thumbnail"})
        assert thumbnail.status_code == 200 and thumbnail.content.startswith(b"\x89PNG")


def test_cancel_queued_and_running_jobs(sqlite_url, settings_for):
    with (
        running_service(settings_for(sqlite_url)) as service,
        service.client(service.admin_key) as client,
    ):
        queued = client.post("/v1/videos", json={"prompt": PROMPT, **SMALL}).json()
        first = client.post(f"/v1/videos/{queued['id']}/cancel")
        again = client.post(f"/v1/videos/{queued['id']}/cancel")
        assert first.json()["status"] == again.json()["status"] == "cancelled"
        long = client.post("/v1/videos", json={"prompt": PROMPT, "num_frames": 17, "steps": 40})
        long_id = long.json()["id"]
        with running_worker(service.deployment):
            wait_for(client, long_id, {"in_progress"})
            wait_until(
                lambda: client.get(f"/v1/videos/{long_id}").json(),
                lambda job: job["stage"] == "denoise" and job["step"] >= 2,
            )
            client.post(f"/v1/videos/{long_id}/cancel")
            cancelled = wait_for(client, long_id, {"cancelled", "completed"})
        assert cancelled["status"] == "cancelled"
        assert cancelled["step"] < 40 and cancelled["outputs"] == []
        assert client.get(f"/v1/videos/{long_id}/content").json()["error"]["code"] == "not_ready"
        assert not service.deployment.storage.exists(f"videos/{long_id}/video.mp4")


def test_idempotency_key_returns_the_same_job(sqlite_url, settings_for):
    with (
        running_service(settings_for(sqlite_url)) as service,
        service.client(service.admin_key) as client,
    ):
        body = {"prompt": PROMPT, **SMALL}
        first = client.post("/v1/videos", json=body, headers={"Idempotency-Key": "abc"})
        repeat = client.post("/v1/videos", json=body, headers={"Idempotency-Key": "abc"})
        assert first.status_code == 202 and repeat.status_code == 200
        assert first.json()["id"] == repeat.json()["id"]
        other = client.post(
            "/v1/videos",
            json={**body, "prompt": "a blue square"},
            headers={"Idempotency-Key": "abc"},
        )
        assert other.status_code == 409
        assert other.json()["error"]["code"] == "idempotency_conflict"
        assert len(client.get("/v1/videos").json()["data"]) == 1


def test_delete_removes_the_job_and_its_files(sqlite_url, settings_for):
    with (
        running_service(settings_for(sqlite_url)) as service,
        service.client(service.admin_key) as client,
    ):
        job = client.post("/v1/videos", json={"prompt": PROMPT, **SMALL}).json()
        with running_worker(service.deployment):
            wait_for(client, job["id"], {"completed"})
        storage = service.deployment.storage
        assert storage.exists(f"videos/{job['id']}/video.mp4")
        deleted = client.delete(f"/v1/videos/{job['id']}")
        assert deleted.status_code == 200 and deleted.json()["deleted"] is True
        assert client.get(f"/v1/videos/{job['id']}").status_code == 404
        assert client.get(f"/v1/videos/{job['id']}/content").status_code == 404
        assert not storage.exists(f"videos/{job['id']}/video.mp4")
        assert not storage.exists(f"videos/{job['id']}/thumbnail.png")


def test_list_pages_with_a_cursor_and_filters_by_status(database_url, settings_for):
    with (
        running_service(settings_for(database_url)) as service,
        service.client(service.admin_key) as client,
    ):
        ids = [
            client.post("/v1/videos", json={"prompt": f"{PROMPT} {i}", **SMALL}).json()["id"]
            for i in range(5)
        ]
        client.post(f"/v1/videos/{ids[1]}/cancel")
        seen, after = [], None
        while True:
            page = client.get(
                "/v1/videos", params={"limit": 2, **({"after": after} if after else {})}
            )
            body = page.json()
            seen += [job["id"] for job in body["data"]]
            if not body["has_more"]:
                break
            after = body["last_id"]
        assert seen == ids[::-1]
        cancelled = client.get("/v1/videos", params={"status": "cancelled"}).json()["data"]
        assert [job["id"] for job in cancelled] == [ids[1]]
        queued = client.get("/v1/videos", params={"status": "queued"}).json()["data"]
        assert [job["queue_position"] for job in queued] == [4, 3, 2, 1]
