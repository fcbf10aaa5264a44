"""The one place errors become HTTP answers: `{"error": {"code", "message"}}`, a 4xx status for
the caller's mistakes, 5xx for the deployment's, and never a traceback."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from kino.errors import ConfigError, InvalidSpec, KinoError, NotFound
from kino.service.safety import SafetyError
from kino.service.webhooks import WebhookRefused
from kino.storage import ObjectNotFound, StorageError

log = logging.getLogger(__name__)

# The first matching entry wins: ObjectNotFound before StorageError.
STATUS: dict[type[KinoError], int] = {
    InvalidSpec: 400,
    WebhookRefused: 400,
    NotFound: 404,
    ObjectNotFound: 404,
    StorageError: 503,
    ConfigError: 500,
    SafetyError: 500,
}


class ApiError(KinoError):
    """An answer decided by the API itself (auth, limits, state)."""

    def __init__(
        self, status: int, code: str, message: str, *, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message, code=code)
        self.status = status
        self.headers = headers or {}


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status, headers=headers
    )


def _status(error: KinoError) -> int:
    if isinstance(error, ApiError):
        return error.status
    for kind, status in STATUS.items():
        if isinstance(error, kind):
            return status
    return 500


def validation_message(errors: Sequence[Any]) -> str:
    """`field: problem` for the first of pydantic's validation errors."""
    first = errors[0]
    location = first.get("loc", ())
    field = ".".join(str(part) for part in location if part not in ("body", "query", "header"))
    return f"{field}: {first.get('msg')}" if field else str(first.get("msg"))


def install(app: FastAPI) -> None:
    @app.exception_handler(KinoError)
    async def kino_error(_request: Request, error: KinoError) -> JSONResponse:
        status = _status(error)
        if status >= 500:
            log.error("%s: %s", type(error).__name__, error)
        headers = error.headers if isinstance(error, ApiError) else None
        return error_response(status, error.code, str(error), headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, error: RequestValidationError) -> JSONResponse:
        return error_response(400, "invalid_request", validation_message(error.errors()))

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, error: HTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
        return error_response(error.status_code, code, str(error.detail), error.headers)

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return error_response(500, "internal_error", "the server failed; see its log")
