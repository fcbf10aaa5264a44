"""The FastAPI application: videos, models, keys and health. Its OpenAPI schema is the
contract. The API process never imports torch."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import text

from kino import __version__
from kino.service import errors, videos
from kino.service.auth import CallerDep, RateLimiter, require_admin
from kino.service.deployment import Deployment
from kino.tasks import get_task


class KeyRequest(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    admin: bool = False
    rate_limit_per_minute: int | None = Field(None, ge=1)
    max_queued: int | None = Field(None, ge=1)


def create_app(deployment: Deployment) -> FastAPI:
    app = FastAPI(
        title="kino",
        version=__version__,
        description="Video generation jobs on Wan models, shaped like OpenAI's videos API.",
    )
    app.state.deployment = deployment
    app.state.rate_limiter = RateLimiter()
    errors.install(app)
    app.include_router(videos.router)

    @app.get("/healthz", tags=["health"], summary="The process is up")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], summary="The database and the storage answer")
    def readyz() -> JSONResponse:
        checks: dict[str, str] = {}
        try:
            with deployment.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as error:
            checks["database"] = f"{type(error).__name__}: {error}"
        try:
            deployment.storage.exists("readyz")
            checks["storage"] = "ok"
        except Exception as error:
            checks["storage"] = f"{type(error).__name__}: {error}"
        ready = all(value == "ok" for value in checks.values())
        return JSONResponse(
            {"status": "ready" if ready else "not_ready", "checks": checks},
            status_code=200 if ready else 503,
        )

    @app.get("/v1/models", tags=["models"], summary="The models this deployment serves")
    def list_models(_caller: CallerDep) -> dict[str, Any]:
        data = []
        for name, entry in deployment.settings.models.items():
            tasks = []
            for task in entry.tasks:
                preset = get_task(task)
                tasks.append(
                    {
                        "task": task,
                        "kind": preset.kind.value,
                        "sizes": list(preset.sizes),
                        "num_frames": preset.frame_num,
                        "fps": preset.fps,
                        "steps": preset.sample_steps,
                    }
                )
            data.append({"id": name, "object": "model", "tasks": tasks})
        return {"object": "list", "data": data}

    @app.post("/v1/keys", tags=["keys"], status_code=201, summary="Create an API key (admin)")
    def create_key(body: KeyRequest, caller: CallerDep) -> dict[str, Any]:
        require_admin(caller)
        key, secret = deployment.keys.create(
            body.name,
            admin=body.admin,
            rate_limit_per_minute=body.rate_limit_per_minute,
            max_queued=body.max_queued,
        )
        return {**key.to_dict(), "secret": secret}

    @app.get("/v1/keys", tags=["keys"], summary="List API keys (admin)")
    def list_keys(caller: CallerDep) -> dict[str, Any]:
        require_admin(caller)
        return {"object": "list", "data": [key.to_dict() for key in deployment.keys.list()]}

    @app.delete("/v1/keys/{key_id}", tags=["keys"], summary="Revoke an API key (admin)")
    def revoke_key(key_id: str, caller: CallerDep) -> dict[str, Any]:
        require_admin(caller)
        return deployment.keys.revoke(key_id).to_dict()

    install_schema(app)
    return app


def install_schema(app: FastAPI) -> None:
    """FastAPI documents validation errors as 422; kino answers them 400 with its error body."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            for path in schema["paths"].values():
                for operation in path.values():
                    responses = operation.get("responses", {})
                    if responses.pop("422", None) is not None:
                        responses.setdefault("400", {"description": "Invalid request"})
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
