"""The job as clients see it: one JSON shape for API answers, events and webhooks."""

from __future__ import annotations

from typing import Any

from kino.jobs.store import COMPLETED, Job


def _unix(value: float | None) -> int | None:
    return None if value is None else int(value)


def job_object(job: Job, *, base_url: str, queue_position: int | None) -> dict[str, Any]:
    request = job.request
    metrics: dict[str, float | None] = {"queue_seconds": None, "run_seconds": None}
    if job.started_at is not None:
        metrics["queue_seconds"] = round(job.started_at - job.created_at, 3)
        if job.completed_at is not None:
            metrics["run_seconds"] = round(job.completed_at - job.started_at, 3)
    metrics["load_seconds"] = None if job.load_seconds is None else round(job.load_seconds, 3)
    outputs = []
    if job.status == COMPLETED:
        for output in job.outputs:
            outputs.append(
                {
                    "variant": output["variant"],
                    "url": f"{base_url}/v1/videos/{job.id}/content?variant={output['variant']}",
                    "expires_at": _unix(job.expires_at),
                    "bytes": output["bytes"],
                    "sha256": output["sha256"],
                    "content_type": output["content_type"],
                }
            )
    error = None
    if job.error_code is not None and job.status != COMPLETED:
        error = {"code": job.error_code, "message": job.error_message}
    return {
        "id": job.id,
        "object": "video",
        "status": job.status,
        "model": job.model,
        "task": job.task,
        "prompt": request.get("prompt"),
        "negative_prompt": request.get("negative_prompt"),
        "size": request.get("size"),
        "num_frames": request.get("num_frames"),
        "seconds": request.get("seconds"),
        "steps": request.get("steps"),
        "guide_scale": request.get("guide_scale"),
        "shift": request.get("shift"),
        "seed": job.seed,
        "priority": job.priority,
        "progress": round(job.progress, 1),
        "stage": job.stage,
        "step": job.step,
        "total_steps": job.total_steps,
        "queue_position": queue_position,
        "created_at": _unix(job.created_at),
        "started_at": _unix(job.started_at),
        "completed_at": _unix(job.completed_at),
        "attempts": job.attempts,
        "worker": job.worker,
        "cancel_requested": job.cancel_requested,
        "error": error,
        "outputs": outputs,
        "metrics": metrics,
        "safety": job.safety,
        "webhook": job.webhook,
        "metadata": job.job_metadata,
    }
