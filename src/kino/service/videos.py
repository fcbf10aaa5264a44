"""/v1/videos: submit, read, list, cancel, delete, download and follow video jobs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import PurePosixPath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.datastructures import UploadFile

from kino.errors import InvalidSpec, JobNotFound
from kino.jobs.store import STATUSES, IdempotencyConflict, Job
from kino.service import submission
from kino.service.auth import Caller, CallerDep
from kino.service.deployment import Deployment
from kino.service.errors import ApiError
from kino.service.submission import Upload, VideoRequest
from kino.storage import ObjectNotFound

router = APIRouter(prefix="/v1/videos", tags=["videos"])
# Seconds between looks at the job while streaming its events, and between keep-alives.
EVENT_POLL_SECONDS = 0.2
KEEPALIVE_SECONDS = 15.0


def deployment_of(request: Request) -> Deployment:
    return request.app.state.deployment


DeploymentDep = Annotated[Deployment, Depends(deployment_of)]


async def _read_submission(request: Request) -> tuple[VideoRequest, list[Upload]]:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form()
        fields: dict[str, Any] = {}
        uploads: list[Upload] = []
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                if name not in submission.IMAGE_FIELDS:
                    raise InvalidSpec(
                        f"unexpected file field {name!r}; send image, first_frame or last_frame",
                        code="invalid_request",
                    )
                uploads.append(Upload(name, await value.read()))
            else:
                fields[name] = value
        return submission.parse_form(fields), uploads
    try:
        body = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InvalidSpec(
            "the body is not JSON; send application/json or multipart/form-data",
            code="invalid_request",
        ) from None
    return submission.validate_body(body), []


def _check_length(request: Request, deployment: Deployment) -> None:
    """Refuse a body larger than three images and a prompt before reading any of it."""
    limit = 3 * deployment.settings.max_image_bytes + 1024 * 1024
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise ApiError(413, "request_too_large", f"the request body is over {limit} bytes")


def _check_capacity(deployment: Deployment, caller: Caller) -> None:
    settings = deployment.settings
    if deployment.jobs.count_queued() >= settings.max_queue:
        raise ApiError(
            429,
            "queue_full",
            f"the queue holds {settings.max_queue} jobs, its limit; retry later",
            headers={"Retry-After": "30"},
        )
    if caller.key is not None:
        cap = caller.key.max_queued or settings.max_queued_per_key
        if deployment.jobs.count_active(caller.owner) >= cap:
            raise ApiError(
                429,
                "too_many_queued",
                f"this key already has {cap} queued or running jobs, its limit; wait for some "
                "to finish",
                headers={"Retry-After": "10"},
            )


def _request_body_schema() -> dict[str, Any]:
    """The body this route reads by hand (JSON or multipart), for the OpenAPI schema."""
    schema = VideoRequest.model_json_schema()
    form = {
        **schema,
        "properties": {
            **schema["properties"],
            **{name: {"type": "string", "format": "binary"} for name in submission.IMAGE_FIELDS},
            "metadata": {"type": "string", "description": "A JSON object"},
        },
    }
    return {
        "required": True,
        "content": {
            "application/json": {"schema": schema},
            "multipart/form-data": {"schema": form},
        },
    }


@router.post(
    "",
    status_code=202,
    summary="Create a video job",
    openapi_extra={"requestBody": _request_body_schema()},
    responses={
        200: {"description": "A repeat of an earlier request with the same Idempotency-Key"},
        400: {"description": 'Invalid request: `{"error": {"code", "message"}}`'},
        401: {"description": "No or an unknown API key"},
        409: {"description": "Idempotency-Key reused with a different request"},
        413: {"description": "The request body is too large"},
        429: {"description": "Rate limit, queue cap or full queue; see Retry-After"},
    },
)
async def create_video(
    request: Request,
    caller: CallerDep,
    deployment: DeploymentDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> JSONResponse:
    """JSON, or multipart/form-data with `image`, `first_frame` or `last_frame` files. A repeat
    with the same `Idempotency-Key` answers 200 with the first job."""
    if caller.key is not None:
        limit = caller.key.rate_limit_per_minute or deployment.settings.rate_limit_per_minute
        request.app.state.rate_limiter.hit(caller.owner, limit)
    _check_length(request, deployment)
    body, uploads = await _read_submission(request)
    built = submission.build(deployment, caller, body, uploads, idempotency_key)
    if idempotency_key is not None:
        existing = deployment.jobs.by_idempotency_key(caller.owner, idempotency_key)
        if existing is not None:
            if existing.request_hash != built.job.request_hash:
                raise _conflict(existing)
            return JSONResponse(deployment.view(existing), status_code=200)
    _check_capacity(deployment, caller)
    for key, data in built.images.items():
        await asyncio.to_thread(deployment.storage.put_bytes, key, data, "image/png")
    try:
        job, created = deployment.jobs.submit(built.job)
    except IdempotencyConflict as conflict:
        deployment.storage.delete_prefix(f"inputs/{built.job.id}/")
        raise _conflict(conflict.job) from None
    if not created:
        deployment.storage.delete_prefix(f"inputs/{built.job.id}/")
        return JSONResponse(deployment.view(job), status_code=200)
    deployment.notify(job)
    return JSONResponse(deployment.view(job), status_code=202)


def _conflict(job: Job) -> ApiError:
    return ApiError(
        409,
        "idempotency_conflict",
        f"Idempotency-Key was already used for job {job.id} with a different request",
    )


@router.get("", summary="List video jobs, newest first")
def list_videos(
    caller: CallerDep,
    deployment: DeploymentDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    after: Annotated[str | None, Query(description="The last id of the previous page")] = None,
    status: Annotated[str | None, Query(description=" | ".join(STATUSES))] = None,
) -> dict[str, Any]:
    if status is not None and status not in STATUSES:
        raise InvalidSpec(
            f"status {status!r} is not one of {', '.join(STATUSES)}", code="invalid_request"
        )
    jobs, has_more = deployment.jobs.page(caller.scope, status=status, after=after, limit=limit)
    return {
        "object": "list",
        "data": [deployment.view(job) for job in jobs],
        "first_id": jobs[0].id if jobs else None,
        "last_id": jobs[-1].id if jobs else None,
        "has_more": has_more,
    }


@router.get("/{video_id}", summary="Read a video job")
def get_video(video_id: str, caller: CallerDep, deployment: DeploymentDep) -> dict[str, Any]:
    return deployment.view(deployment.jobs.get(video_id, caller.scope))


@router.post("/{video_id}/cancel", summary="Cancel a video job (idempotent)")
def cancel_video(video_id: str, caller: CallerDep, deployment: DeploymentDep) -> dict[str, Any]:
    before = deployment.jobs.get(video_id, caller.scope)
    job = deployment.jobs.cancel(video_id, caller.scope)
    if before.status != job.status:
        deployment.storage.delete_prefix(f"inputs/{job.id}/")
        deployment.notify(job)
    return deployment.view(job)


@router.delete("/{video_id}", summary="Delete a video job and its files")
def delete_video(video_id: str, caller: CallerDep, deployment: DeploymentDep) -> dict[str, Any]:
    job = deployment.jobs.delete(video_id, caller.scope)
    deployment.storage.delete_prefix(f"videos/{job.id}/")
    deployment.storage.delete_prefix(f"inputs/{job.id}/")
    return {"id": job.id, "object": "video.deleted", "deleted": True}


@router.get(
    "/{video_id}/content",
    summary="Download a finished video or its thumbnail",
    response_class=Response,
    responses={
        200: {"content": {"video/mp4": {}, "image/png": {}}},
        302: {"description": "A presigned URL on S3-compatible storage"},
    },
)
def video_content(
    video_id: str,
    caller: CallerDep,
    deployment: DeploymentDep,
    variant: Annotated[str, Query(pattern="^(video|thumbnail)$")] = "video",
) -> Response:
    job = deployment.jobs.get(video_id, caller.scope)
    if job.status != "completed":
        raise ApiError(
            409, "not_ready", f"job {job.id} is {job.status}; content exists once completed"
        )
    output = next((o for o in job.outputs if o["variant"] == variant), None)
    if output is None:
        raise ApiError(404, "output_expired", f"the {variant} of job {job.id} has expired")
    storage = deployment.storage
    url = storage.presigned_url(output["key"], deployment.settings.presign_seconds)
    if url is not None:
        return RedirectResponse(url, status_code=302)
    try:
        stream = storage.open(output["key"])
    except ObjectNotFound:
        raise ApiError(404, "output_expired", f"the {variant} of job {job.id} is gone") from None
    return StreamingResponse(
        stream,
        media_type=output["content_type"],
        headers={
            "Content-Length": str(output["bytes"]),
            "ETag": f'"{output["sha256"]}"',
            "Content-Disposition": (
                f'inline; filename="{job.id}{PurePosixPath(output["key"]).suffix}"'
            ),
        },
    )


@router.get(
    "/{video_id}/events",
    summary="Follow a job: server-sent events until it finishes",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
def video_events(video_id: str, caller: CallerDep, deployment: DeploymentDep) -> Response:
    """Each event is `status` (the status changed) or `progress`, with the job as data; the
    stream ends after the job finishes."""
    first = deployment.jobs.get(video_id, caller.scope)
    return StreamingResponse(
        _events(deployment, first),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _events(deployment: Deployment, job: Job) -> AsyncIterator[str]:
    last: dict[str, Any] | None = None
    quiet = 0.0
    while True:
        view = await asyncio.to_thread(deployment.view, job)
        if view != last:
            name = "status" if last is None or view["status"] != last["status"] else "progress"
            yield f"event: {name}\ndata: {json.dumps(view)}\n\n"
            last, quiet = view, 0.0
        if job.terminal:
            return
        await asyncio.sleep(EVENT_POLL_SECONDS)
        quiet += EVENT_POLL_SECONDS
        if quiet >= KEEPALIVE_SECONDS:
            yield ": keep-alive\n\n"
            quiet = 0.0
        try:
            job = await asyncio.to_thread(deployment.jobs.get, job.id)
        except JobNotFound:
            yield f"event: deleted\ndata: {json.dumps({'id': job.id})}\n\n"
            return
