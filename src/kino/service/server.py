"""uvicorn, minus one habit: it re-raises SIGTERM/SIGINT once stopped, which would end
`kino serve` before it has stopped the workers it started."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI


class Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self.handle_exit)
        yield


def serve(app: FastAPI, host: str, port: int) -> None:
    Server(uvicorn.Config(app, host=host, port=port)).run()
