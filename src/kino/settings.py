"""One settings object for the service and its workers, read from `KINO_*` environment variables
(and overridden by command-line flags). README's configuration table documents every field."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from kino.demo import MODEL_DIR
from kino.tasks import TASKS

DEMO_MODEL = "kino-demo"


class ModelEntry(BaseModel):
    """A model a deployment serves: a checkpoint folder and the tasks it runs."""

    path: Path
    tasks: list[str] = Field(min_length=1)

    @field_validator("tasks")
    @classmethod
    def _known_tasks(cls, tasks: list[str]) -> list[str]:
        unknown = [task for task in tasks if task not in TASKS]
        if unknown:
            raise ValueError(f"unknown tasks {unknown}; known: {', '.join(TASKS)}")
        return tasks


def _default_models() -> dict[str, ModelEntry]:
    return {DEMO_MODEL: ModelEntry(path=MODEL_DIR, tasks=["demo-t2v", "demo-i2v", "demo-flf2v"])}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KINO_", extra="ignore")

    # Where the embedded defaults live: the SQLite database and the local storage folder.
    data_dir: Path = Path("kino-data")
    database_url: str | None = None
    storage_url: str | None = None
    s3_endpoint_url: str | None = None
    s3_public_endpoint_url: str | None = None
    s3_region: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None
    presign_seconds: int = 3600

    host: str = "127.0.0.1"
    port: int = 8000
    # The URL clients reach the API at, for output links (e.g. behind a proxy).
    public_url: str | None = None
    auth: bool = True
    rate_limit_per_minute: int = 60
    max_queued_per_key: int = 50
    max_queue: int = 1000

    max_frames: int = 121
    max_pixels: int = 1280 * 720
    max_steps: int = 100
    max_prompt_chars: int = 2000
    max_image_bytes: int = 20 * 1024 * 1024
    max_image_pixels: int = 4096 * 4096

    blocklist: Path | None = None
    safety_classifier: str | None = None

    webhook_secret: str | None = None
    webhook_allow_private: bool = False
    webhook_max_attempts: int = 5
    webhook_backoff_seconds: float = 2.0

    lease_seconds: float = 30.0
    max_attempts: int = 3
    retry_backoff_seconds: float = 5.0
    poll_seconds: float = 0.5
    # After SIGTERM a worker finishes its job; past this many seconds it requeues it instead.
    shutdown_grace_seconds: float = 60.0
    janitor_seconds: float = 30.0
    output_ttl_seconds: int = 7 * 24 * 3600
    job_ttl_seconds: int = 30 * 24 * 3600

    models: dict[str, ModelEntry] = Field(default_factory=_default_models)
    default_model: str = DEMO_MODEL
    device: str = "auto"
    model_memory_gb: float = 32.0
    model_idle_seconds: float = 900.0

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'kino.db').resolve()}"

    @property
    def resolved_storage_url(self) -> str:
        return self.storage_url or str((self.data_dir / "storage").resolve())

    @property
    def heartbeat_seconds(self) -> float:
        return self.lease_seconds / 3
