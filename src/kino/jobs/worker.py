"""The worker: claim a job, keep its lease alive, run it on a warm model, store the video, and
write the result once. One worker per GPU."""

from __future__ import annotations

import logging
import os
import socket
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image

from kino.engine.generator import Generator, StepEvent
from kino.engine.options import EngineOptions, pick_device
from kino.errors import JobNotFound, KinoError, LeaseLost
from kino.jobs.model_cache import Key, ModelCache, module_bytes, weights_on_disk
from kino.jobs.store import Job, Progress
from kino.media import write_mp4
from kino.service.deployment import Deployment
from kino.spec import GenerationSpec, Video, make_spec
from kino.storage import StorageError

log = logging.getLogger(__name__)

# Share of the whole job's progress bar that each stage ends at.
STAGE_END = {"load": 5.0, "text": 8.0, "image": 12.0, "denoise": 92.0, "decode": 97.0}
# Each stage starts where the one before it ends.
STAGE_START = dict(zip(STAGE_END, [0.0, *STAGE_END.values()], strict=False))
# Progress is written at most this often; each write also renews the lease.
PROGRESS_INTERVAL = 0.25


class JobCancelled(Exception):
    """Cancellation was asked for; raised between denoising steps."""


class JobReleased(Exception):
    """The worker is shutting down without finishing; the job goes back to the queue."""


def overall_progress(event: StepEvent) -> float:
    start, end = STAGE_START[event.stage], STAGE_END[event.stage]
    return start + (end - start) * event.step / max(event.total_steps, 1)


@dataclass(frozen=True)
class Outcome:
    outputs: list[dict[str, object]]
    load_seconds: float


def spec_for(job: Job, ckpt_dir: Path, images: tuple[Image.Image, ...]) -> GenerationSpec:
    request = job.request
    guide = request.get("guide_scale")
    return make_spec(
        job.task,
        prompt=request["prompt"],
        negative_prompt=request.get("negative_prompt"),
        size=request["size"],
        frame_num=request.get("num_frames"),
        sample_steps=request.get("steps"),
        sample_shift=request.get("shift"),
        guide_scale=None if guide is None else float(guide),
        seed=job.seed,
        images=images,
        ckpt_dir=ckpt_dir,
    )


class _Lease:
    """Renews a job's lease on a timer while the engine works, and carries what the store said
    back (cancel asked, lease lost) to the next step boundary."""

    def __init__(self, deployment: Deployment, job: Job, worker_id: str) -> None:
        self._jobs = deployment.jobs
        self._job_id = job.id
        self._worker_id = worker_id
        self._interval = deployment.settings.heartbeat_seconds
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._last_write = 0.0
        self.cancel_requested = False
        self.lost: LeaseLost | None = None
        self._thread = threading.Thread(target=self._beat, name=f"lease-{job.id}", daemon=True)

    def __enter__(self) -> _Lease:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        while not self._stop.wait(self._interval):
            self.renew(None)

    def renew(self, progress: Progress | None) -> None:
        with self._lock:
            if self.lost is not None:
                return
            try:
                self.cancel_requested = self._jobs.heartbeat(
                    self._job_id, self._worker_id, progress
                )
            except LeaseLost as lost:
                self.lost = lost
            self._last_write = time.monotonic()

    def report(self, progress: Progress, *, force: bool = False) -> None:
        if force or time.monotonic() - self._last_write >= PROGRESS_INTERVAL:
            self.renew(progress)


class Worker:
    def __init__(
        self,
        deployment: Deployment,
        *,
        worker_id: str | None = None,
        models: list[str] | None = None,
        device: torch.device | None = None,
    ) -> None:
        self.deployment = deployment
        self.settings = deployment.settings
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}"
        self.models = models
        self.options = EngineOptions(
            device=device or _device(self.settings.device), offload_model=False
        )
        self.cache: ModelCache[Generator] = ModelCache(
            self._load,
            lambda generator: module_bytes(generator.components),
            lambda key: weights_on_disk(self.settings.models[key[0]].path),
            budget_bytes=int(self.settings.model_memory_gb * 1024**3),
            idle_seconds=self.settings.model_idle_seconds,
        )
        # Set by SIGTERM: finish the current job, then stop. `abort` also gives the current
        # job back to the queue at its next step.
        self.stopping = threading.Event()
        self.abort = threading.Event()

    def _load(self, key: Key) -> Generator:
        model, task = key
        return Generator.load(self.settings.models[model].path, task, self.options)

    # -- the loop -------------------------------------------------------------------------

    def run(self, *, max_jobs: int | None = None) -> int:
        """Work until stopped (or `max_jobs` done); returns how many jobs were run."""
        done = 0
        log.info("worker %s ready on %s", self.worker_id, self.options.device)
        while not self.stopping.is_set() and (max_jobs is None or done < max_jobs):
            if self.run_once() is None:
                self.cache.unload_idle()
                self.stopping.wait(self.settings.poll_seconds)
            else:
                done += 1
        return done

    def run_once(self) -> Job | None:
        """Requeue abandoned jobs, then claim and run one; None when the queue is empty."""
        for job in self.deployment.jobs.requeue_expired():
            self.deployment.notify(job)
        job = self.deployment.jobs.claim(self.worker_id, self.models)
        if job is None:
            return None
        log.info("claimed %s (attempt %d, %s/%s)", job.id, job.attempts, job.model, job.task)
        finished = self.process(job)
        if finished is not None and finished.terminal:
            try:
                self.deployment.storage.delete_prefix(f"inputs/{job.id}/")
            except StorageError as error:  # the janitor's purge removes them later
                log.warning("inputs of %s not deleted: %s", job.id, error)
            self.deployment.notify(finished)
        return finished or job

    # -- one job --------------------------------------------------------------------------

    def process(self, job: Job) -> Job | None:
        """Run one claimed job to its end; None when the lease was lost meanwhile."""
        jobs = self.deployment.jobs
        with _Lease(self.deployment, job, self.worker_id) as lease:
            try:
                outcome = self._generate(job, lease)
            except JobCancelled:
                self._drop_outputs(job)
                return self._settle(job, lambda: jobs.mark_cancelled(job.id, self.worker_id))
            except JobReleased:
                log.info("giving %s back to the queue", job.id)
                return self._settle(job, lambda: jobs.release(job.id, self.worker_id))
            except LeaseLost as lost:
                log.warning("dropping %s: %s", job.id, lost)
                self._forget_if_deleted(job)
                return None
            except StorageError as error:  # storage may come back: retry with backoff
                code, message, retry = error.code, str(error), True
            except KinoError as error:
                code, message, retry = error.code, str(error), False
            except Exception as error:  # the engine or storage broke: retry with backoff
                log.error("job %s failed:\n%s", job.id, traceback.format_exc())
                code, message, retry = "generation_failed", f"{type(error).__name__}: {error}", True
            else:
                return self._settle(
                    job,
                    lambda: jobs.complete(
                        job.id,
                        self.worker_id,
                        outcome.outputs,
                        load_seconds=outcome.load_seconds,
                        output_ttl_seconds=self.settings.output_ttl_seconds,
                    ),
                )
        return self._settle(
            job, lambda: jobs.fail(job.id, self.worker_id, code, message, retry=retry)
        )

    def _settle(self, job: Job, write: Callable[[], Job]) -> Job | None:
        try:
            return write()
        except LeaseLost as lost:
            log.warning("result dropped: %s", lost)
            self._forget_if_deleted(job)
            return None

    def _forget_if_deleted(self, job: Job) -> None:
        """A job deleted while it ran: remove what this worker uploaded for it."""
        try:
            self.deployment.jobs.get(job.id)
        except JobNotFound:
            self.deployment.storage.delete_prefix(f"videos/{job.id}/")

    def _check(self, lease: _Lease) -> None:
        if lease.lost is not None:
            raise lease.lost
        if lease.cancel_requested:
            raise JobCancelled
        if self.abort.is_set():
            raise JobReleased

    def _generate(self, job: Job, lease: _Lease) -> Outcome:
        entry = self.settings.models.get(job.model)
        if entry is None:
            raise KinoError(
                f"model {job.model!r} is not served by this deployment", code="unknown_model"
            )
        images = tuple(self._input_image(key) for key in job.request.get("inputs", []))
        spec = spec_for(job, entry.path, images)
        lease.report(Progress(0.0, "load", 0, 0), force=True)
        checkout = self.cache.get((job.model, job.task))
        lease.report(Progress(STAGE_END["load"], "load", 1, 1), force=True)

        def on_step(event: StepEvent) -> None:
            lease.report(
                Progress(overall_progress(event), event.stage, event.step, event.total_steps),
                force=event.stage != "denoise",
            )
            self._check(lease)

        self._check(lease)
        video = checkout.model.run(spec, on_step)
        steps = spec.sample_steps
        lease.report(Progress(STAGE_END["decode"], "upload", steps, steps), force=True)
        self._check(lease)
        return Outcome(self._store(job, video), checkout.load_seconds)

    def _input_image(self, key: str) -> Image.Image:
        with self.deployment.storage.open(key) as stream, Image.open(stream) as image:
            return image.convert("RGB")

    def _store(self, job: Job, video: Video) -> list[dict[str, object]]:
        """Upload the MP4 and a thumbnail under keys fixed by the job id, so a rerun of the
        job overwrites rather than adds."""
        storage = self.deployment.storage
        with tempfile.TemporaryDirectory(prefix="kino-job-") as folder:
            mp4 = write_mp4(video, Path(folder) / "video.mp4")
            thumbnail = Path(folder) / "thumbnail.png"
            Image.fromarray(video.frames[0]).save(thumbnail)
            stored = [
                ("video", storage.put_file(f"videos/{job.id}/video.mp4", mp4, "video/mp4")),
                (
                    "thumbnail",
                    storage.put_file(f"videos/{job.id}/thumbnail.png", thumbnail, "image/png"),
                ),
            ]
        content_types = {"video": "video/mp4", "thumbnail": "image/png"}
        return [
            {
                "variant": variant,
                "key": obj.key,
                "bytes": obj.bytes,
                "sha256": obj.sha256,
                "content_type": content_types[variant],
            }
            for variant, obj in stored
        ]

    def _drop_outputs(self, job: Job) -> None:
        self.deployment.storage.delete_prefix(f"videos/{job.id}/")


def _device(name: str) -> torch.device:
    return pick_device() if name == "auto" else torch.device(name)
