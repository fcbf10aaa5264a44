"""POST /v1/videos, validated once at the edge: the request body, the deployment's limits, the
images, the webhook target and the content policy, turned into a NewJob."""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from typing import Any

from PIL import Image
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kino.errors import InvalidSpec
from kino.jobs.store import NewJob, new_job_id
from kino.service.auth import Caller
from kino.service.deployment import Deployment
from kino.service.errors import validation_message
from kino.service.webhooks import check_target
from kino.settings import ModelEntry, Settings
from kino.spec import make_spec, resolve_seed
from kino.tasks import TaskKind, TaskPreset, get_task, parse_size

IMAGE_FIELDS = ("image", "first_frame", "last_frame")
IMAGE_FORMATS = ("PNG", "JPEG", "WEBP")


class VideoRequest(BaseModel):
    """The body of POST /v1/videos (JSON, or the fields of a multipart form)."""

    model_config = ConfigDict(extra="forbid")

    prompt: str
    model: str | None = None
    task: str | None = None
    negative_prompt: str | None = None
    size: str | None = Field(None, description='"width*height", e.g. "832*480"')
    num_frames: int | None = Field(None, description="4n+1 frames")
    seconds: float | None = Field(None, gt=0, description="Instead of num_frames.")
    steps: int | None = None
    guide_scale: float | None = None
    shift: float | None = None
    seed: int | None = Field(None, ge=0, le=2**63 - 1)
    priority: int = Field(0, ge=-100, le=100, description="Higher runs first.")
    webhook: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)


@dataclass(frozen=True)
class Upload:
    field: str
    data: bytes


@dataclass(frozen=True)
class Submission:
    job: NewJob
    images: dict[str, bytes]  # storage key → PNG/JPEG/WEBP bytes


def parse_form(form: dict[str, Any]) -> VideoRequest:
    """Multipart form fields are strings; metadata travels as a JSON object."""
    fields = {key: value for key, value in form.items() if key not in IMAGE_FIELDS}
    if "metadata" in fields:
        try:
            fields["metadata"] = json.loads(fields["metadata"])
        except json.JSONDecodeError:
            raise InvalidSpec("metadata: must be a JSON object", code="invalid_request") from None
    return validate_body(fields)


def validate_body(body: Any) -> VideoRequest:
    if not isinstance(body, dict):
        raise InvalidSpec("the request body must be a JSON object", code="invalid_request")
    try:
        return VideoRequest.model_validate(body)
    except ValidationError as error:
        raise InvalidSpec(validation_message(error.errors()), code="invalid_request") from None


def _model(settings: Settings, name: str | None) -> tuple[str, ModelEntry]:
    name = name or settings.default_model
    entry = settings.models.get(name)
    if entry is None:
        raise InvalidSpec(
            f"model {name!r} is not served here; GET /v1/models lists the models",
            code="unknown_model",
        )
    return name, entry


def _task(name: str, entry: ModelEntry, requested: str | None, image_fields: set[str]) -> str:
    if requested is not None:
        if requested not in entry.tasks:
            raise InvalidSpec(
                f"task {requested!r} is not offered by model {name!r}; use one of: "
                f"{', '.join(entry.tasks)}",
                code="unsupported_task",
            )
        return requested
    wanted = TaskKind.T2V
    if {"first_frame", "last_frame"} & image_fields:
        wanted = TaskKind.FLF2V
    elif "image" in image_fields:
        wanted = TaskKind.I2V
    # A ti2v model does text-to-video and image-to-video both.
    kinds = [wanted] if wanted is TaskKind.FLF2V else [wanted, TaskKind.TI2V]
    for kind in kinds:
        for task in entry.tasks:
            if get_task(task).kind is kind:
                return task
    raise InvalidSpec(
        f"model {name!r} has no {wanted.value} task; pass `task`, one of: {', '.join(entry.tasks)}",
        code="unsupported_task",
    )


def _frames(request: VideoRequest, preset: TaskPreset, settings: Settings) -> int:
    if request.num_frames is not None and request.seconds is not None:
        raise InvalidSpec("give num_frames or seconds, not both", code="invalid_request")
    frames = preset.frame_num
    if request.num_frames is not None:
        frames = request.num_frames
    elif request.seconds is not None:
        frames = 4 * max(round(request.seconds * preset.fps / 4), 1) + 1
    if frames < 1 or (frames - 1) % 4 != 0:
        raise InvalidSpec(
            f"num_frames {frames} is not of the form 4n+1 (e.g. 17, 33, 81)",
            code="invalid_frame_num",
        )
    if frames > settings.max_frames:
        raise InvalidSpec(
            f"num_frames {frames} is over this deployment's limit of {settings.max_frames}",
            code="too_many_frames",
        )
    return frames


def _size(request: VideoRequest, preset: TaskPreset, settings: Settings) -> str:
    size = request.size or preset.default_size
    width, height = parse_size(size)
    if size not in preset.sizes:
        raise InvalidSpec(
            f"size {size} is not supported by task {preset.name}; use one of: "
            f"{', '.join(preset.sizes)}",
            code="unsupported_size",
        )
    if width * height > settings.max_pixels:
        raise InvalidSpec(
            f"size {size} is over this deployment's limit of {settings.max_pixels} pixels",
            code="size_over_limit",
        )
    return size


def _steps(request: VideoRequest, preset: TaskPreset, settings: Settings) -> int:
    steps = preset.sample_steps if request.steps is None else request.steps
    if steps < 1:
        raise InvalidSpec(f"steps {steps} must be at least 1", code="invalid_steps")
    if steps > settings.max_steps:
        raise InvalidSpec(
            f"steps {steps} is over this deployment's limit of {settings.max_steps}",
            code="too_many_steps",
        )
    return steps


def check_image(upload: Upload, settings: Settings) -> Image.Image:
    """A PNG, JPEG or WEBP within the byte and pixel limits. The pixel count is read from the
    header before any decoding, so a decompression bomb is refused without being expanded."""
    if len(upload.data) > settings.max_image_bytes:
        raise InvalidSpec(
            f"{upload.field}: {len(upload.data)} bytes is over the limit of "
            f"{settings.max_image_bytes}",
            code="image_too_large",
        )
    try:
        image = Image.open(io.BytesIO(upload.data))
    except Image.DecompressionBombError:
        raise InvalidSpec(
            f"{upload.field}: the image claims too many pixels (a decompression bomb?)",
            code="image_too_large",
        ) from None
    except (OSError, ValueError):
        raise InvalidSpec(
            f"{upload.field}: not a readable image; send a PNG, JPEG or WEBP",
            code="invalid_image",
        ) from None
    if image.format not in IMAGE_FORMATS:
        raise InvalidSpec(
            f"{upload.field}: {image.format} images are not accepted; send a PNG, JPEG or WEBP",
            code="unsupported_image_format",
        )
    width, height = image.size
    if width * height > settings.max_image_pixels:
        raise InvalidSpec(
            f"{upload.field}: {width}x{height} is over the limit of "
            f"{settings.max_image_pixels} pixels",
            code="image_too_large",
        )
    try:
        image.load()
    except (OSError, ValueError, Image.DecompressionBombError):
        raise InvalidSpec(
            f"{upload.field}: the image data is truncated or corrupt", code="invalid_image"
        ) from None
    return image.convert("RGB")


def _request_hash(request: VideoRequest, uploads: list[Upload]) -> str:
    digest = hashlib.sha256(request.model_dump_json().encode())
    for upload in sorted(uploads, key=lambda item: item.field):
        digest.update(upload.field.encode())
        digest.update(hashlib.sha256(upload.data).digest())
    return digest.hexdigest()


def build(
    deployment: Deployment,
    caller: Caller,
    request: VideoRequest,
    uploads: list[Upload],
    idempotency_key: str | None,
) -> Submission:
    settings = deployment.settings
    if not request.prompt.strip():
        raise InvalidSpec("prompt: must not be empty", code="invalid_request")
    for text, name in ((request.prompt, "prompt"), (request.negative_prompt or "", "negative")):
        if len(text) > settings.max_prompt_chars:
            raise InvalidSpec(
                f"{name} prompt is {len(text)} characters, over the limit of "
                f"{settings.max_prompt_chars}",
                code="prompt_too_long",
            )
    if len(request.metadata) > 16 or any(
        len(k) > 64 or len(v) > 512 for k, v in request.metadata.items()
    ):
        raise InvalidSpec(
            "metadata: at most 16 keys of 64 characters, values of 512", code="invalid_request"
        )
    model, entry = _model(settings, request.model)
    task = _task(model, entry, request.task, {upload.field for upload in uploads})
    preset = get_task(task)
    size = _size(request, preset, settings)
    frames = _frames(request, preset, settings)
    steps = _steps(request, preset, settings)
    images = {upload.field: check_image(upload, settings) for upload in uploads}
    order = ("image",) if preset.kind in (TaskKind.I2V, TaskKind.TI2V) else IMAGE_FIELDS[1:]
    ordered = tuple(images[name] for name in order if name in images)
    if len(ordered) != len(images):
        raise InvalidSpec(
            f"task {task} takes {' and '.join(order)}, not {', '.join(sorted(images))}",
            code="unexpected_image",
        )
    seed = resolve_seed(-1 if request.seed is None else request.seed)
    # The engine's own checks, once, here: a job that is queued will run.
    make_spec(
        task,
        prompt=request.prompt,
        negative_prompt=request.negative_prompt,
        size=size,
        frame_num=frames,
        sample_steps=steps,
        sample_shift=request.shift,
        guide_scale=request.guide_scale,
        seed=seed,
        images=ordered,
    )
    if request.webhook is not None:
        check_target(request.webhook, allow_private=settings.webhook_allow_private)
    verdict = deployment.safety.check(request.prompt, request.negative_prompt or "")
    job_id = new_job_id()
    stored: dict[str, bytes] = {}
    for name in order:
        if name in images:
            data = io.BytesIO()
            images[name].save(data, format="PNG")
            stored[f"inputs/{job_id}/{name}.png"] = data.getvalue()
    job = NewJob(
        id=job_id,
        owner=caller.owner,
        model=model,
        task=task,
        seed=seed,
        request={
            "prompt": request.prompt,
            "negative_prompt": request.negative_prompt,
            "size": size,
            "num_frames": frames,
            "seconds": round(frames / preset.fps, 3),
            "steps": steps,
            "guide_scale": request.guide_scale,
            "shift": request.shift,
            "inputs": list(stored),
        },
        request_hash=_request_hash(request, uploads),
        priority=request.priority,
        idempotency_key=idempotency_key,
        metadata=request.metadata,
        webhook_url=request.webhook,
        safety=verdict.to_dict(),
        refused=None
        if verdict.allowed
        else ("content_policy", f"the request was refused by the content policy: {verdict.reason}"),
    )
    return Submission(job=job, images=stored)
