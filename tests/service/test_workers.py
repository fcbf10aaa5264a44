"""Workers as separate processes: a SIGKILLed worker's job runs again after its lease expires,
two workers on PostgreSQL run each job once in priority order, and SIGTERM finishes the
current job."""

from __future__ import annotations

import signal

from harness import running_service, wait_for, wait_until, worker_process
from sqlalchemy import update
from sqlalchemy.orm import Session

from kino.jobs.tables import JobRow

PROMPT = "a green triangle moves down at night"


def test_a_killed_workers_job_completes_once_on_the_next_attempt(database_url, settings_for):
    settings = settings_for(database_url, lease_seconds=2.0, max_steps=400)
    with running_service(settings) as service, service.client(service.admin_key) as client:
        job = client.post(
            "/v1/videos", json={"prompt": PROMPT, "num_frames": 9, "steps": 400}
        ).json()
        doomed = worker_process(settings, "--worker_id", "doomed")
        try:
            wait_until(
                lambda: client.get(f"/v1/videos/{job['id']}").json(),
                lambda job: job["stage"] == "denoise" and job["step"] >= 2,
                timeout=60,
            )
        finally:
            doomed.send_signal(signal.SIGKILL)
            doomed.wait()
        running = client.get(f"/v1/videos/{job['id']}").json()
        assert running["status"] == "in_progress" and running["worker"] == "doomed"
        # Make the rerun short: the test is about the lease, not the 400 steps.
        _shorten(service, job["id"])
        survivor = worker_process(settings, "--worker_id", "survivor")
        try:
            done = wait_for(client, job["id"], {"completed", "failed"}, timeout=120)
        finally:
            survivor.send_signal(signal.SIGTERM)
            survivor.wait(timeout=60)
        assert done["status"] == "completed", done
        assert done["attempts"] == 2 and done["worker"] == "survivor"
        assert [o["variant"] for o in done["outputs"]] == ["video", "thumbnail"]
        stored = service.deployment.storage
        assert stored.exists(f"videos/{job['id']}/video.mp4")
        assert client.get(f"/v1/videos/{job['id']}/content").status_code == 200
        assert len(client.get("/v1/videos").json()["data"]) == 1


def _shorten(service, job_id: str) -> None:
    job = service.deployment.jobs.get(job_id)
    with Session(service.deployment.engine) as session, session.begin():
        session.execute(
            update(JobRow).where(JobRow.id == job_id).values(request={**job.request, "steps": 2})
        )


def test_two_workers_on_postgres_run_every_job_once_by_priority(postgres_url, settings_for):
    settings = settings_for(postgres_url)
    with running_service(settings) as service, service.client(service.admin_key) as client:
        priorities = [0, 5, -5, 10] * 5
        ids = [
            client.post(
                "/v1/videos",
                json={"prompt": f"{PROMPT} {i}", "num_frames": 5, "steps": 1, "priority": p},
            ).json()["id"]
            for i, p in enumerate(priorities)
        ]
        workers = [worker_process(settings, "--worker_id", f"w{n}") for n in range(2)]
        try:
            jobs = [wait_for(client, job_id, {"completed", "failed"}, 180) for job_id in ids]
        finally:
            for worker in workers:
                worker.send_signal(signal.SIGTERM)
            for worker in workers:
                worker.wait(timeout=60)
        assert all(job["status"] == "completed" and job["attempts"] == 1 for job in jobs)
        assert {job["worker"] for job in jobs} == {"w0", "w1"}
        # Each worker claimed in the queue's order: priority first, then first in, first out.
        submitted = {job_id: index for index, job_id in enumerate(ids)}
        for name in ("w0", "w1"):
            mine = sorted(
                (job for job in jobs if job["worker"] == name),
                key=lambda job: service.deployment.jobs.get(job["id"]).started_at,
            )
            order = [(-job["priority"], submitted[job["id"]]) for job in mine]
            assert order == sorted(order), name


def test_sigterm_lets_the_running_job_finish(sqlite_url, settings_for):
    settings = settings_for(sqlite_url)
    with running_service(settings) as service, service.client(service.admin_key) as client:
        job = client.post("/v1/videos", json={"prompt": PROMPT, "num_frames": 9, "steps": 12})
        worker = worker_process(settings)
        wait_for(client, job.json()["id"], {"in_progress"}, timeout=60)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=120) == 0
        done = client.get(f"/v1/videos/{job.json()['id']}").json()
        assert done["status"] == "completed" and done["attempts"] == 1
