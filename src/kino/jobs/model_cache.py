"""Warm models: loaded generators kept between jobs, least recently used first out when a new
one would pass the memory budget, and unloaded after sitting idle."""

from __future__ import annotations

import gc
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Generic, TypeVar

import torch

log = logging.getLogger(__name__)

Key = tuple[str, str]  # (model name, task)
Model = TypeVar("Model")


WEIGHT_SUFFIXES = (".safetensors", ".pth", ".bin", ".pt")


def weights_on_disk(folder: Path) -> int:
    """Bytes of the weight files under a checkpoint folder: roughly what loading it takes."""
    return sum(
        path.stat().st_size
        for path in folder.rglob("*")
        if path.suffix in WEIGHT_SUFFIXES and path.is_file()
    )


def module_bytes(value: object) -> int:
    """Bytes held by the parameters and buffers of every torch module in a dataclass."""
    total = 0
    for item in fields(value):  # type: ignore[arg-type]
        module = getattr(value, item.name)
        if isinstance(module, torch.nn.Module):
            tensors = [*module.parameters(), *module.buffers()]
            total += sum(t.numel() * t.element_size() for t in tensors)
    return total


@dataclass
class _Entry(Generic[Model]):
    model: Model
    bytes: int
    last_used: float


@dataclass(frozen=True)
class Checkout(Generic[Model]):
    model: Model
    load_seconds: float  # 0.0 when it was already warm


class ModelCache(Generic[Model]):
    def __init__(
        self,
        load: Callable[[Key], Model],
        size_of: Callable[[Model], int],
        estimate: Callable[[Key], int],
        *,
        budget_bytes: int,
        idle_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._load = load
        self._size_of = size_of
        self._estimate = estimate
        self.budget_bytes = budget_bytes
        self.idle_seconds = idle_seconds
        self._clock = clock
        self._entries: OrderedDict[Key, _Entry[Model]] = OrderedDict()
        self.loads = 0

    def __contains__(self, key: Key) -> bool:
        return key in self._entries

    @property
    def resident_bytes(self) -> int:
        return sum(entry.bytes for entry in self._entries.values())

    def get(self, key: Key) -> Checkout[Model]:
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
            entry.last_used = self._clock()
            return Checkout(entry.model, 0.0)
        # Make room first, from the size on disk, so the old and the new never sit in memory
        # together past the budget; then settle with the size measured once loaded.
        self._evict_until_fits(self._estimate(key))
        start = time.perf_counter()
        model = self._load(key)
        seconds = time.perf_counter() - start
        self.loads += 1
        size = self._size_of(model)
        self._evict_until_fits(size)
        self._entries[key] = _Entry(model, size, self._clock())
        log.info("loaded %s/%s (%.1f MB) in %.2f s", *key, size / 1e6, seconds)
        return Checkout(model, seconds)

    def _evict_until_fits(self, incoming: int) -> None:
        evicted = False
        while self._entries and self.resident_bytes + incoming > self.budget_bytes:
            key, _ = self._entries.popitem(last=False)
            log.info("unloaded %s/%s to stay under the memory budget", *key)
            evicted = True
        if evicted:
            self._release()

    def unload_idle(self) -> list[Key]:
        cutoff = self._clock() - self.idle_seconds
        idle = [key for key, entry in self._entries.items() if entry.last_used < cutoff]
        for key in idle:
            del self._entries[key]
            log.info("unloaded %s/%s after %.0f s idle", *key, self.idle_seconds)
        if idle:
            self._release()
        return idle

    @staticmethod
    def _release() -> None:
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
