"""The warm model cache: hits do not reload, the budget evicts least recently used models before
a load, and idle models are unloaded."""

from __future__ import annotations

from dataclasses import dataclass

from kino.jobs.model_cache import ModelCache


@dataclass
class Clock:
    now: float = 0.0

    def __call__(self) -> float:
        return self.now


SIZES = {("a", "t2v"): 40, ("b", "t2v"): 50, ("c", "t2v"): 30}


def cache(budget: int, clock: Clock, loaded: list) -> ModelCache:
    def load(key):
        # What is resident at the moment of loading: the budget must already hold.
        loaded.append((key, sorted(k for k in SIZES if k in built)))
        return key

    built = ModelCache(
        load, lambda key: SIZES[key], lambda key: SIZES[key],
        budget_bytes=budget, idle_seconds=60, clock=clock,
    )  # fmt: skip
    return built


def test_a_warm_model_is_not_loaded_again() -> None:
    loaded: list = []
    models = cache(100, Clock(), loaded)
    first, second = models.get(("a", "t2v")), models.get(("a", "t2v"))
    assert first.load_seconds > 0 and second.load_seconds == 0.0
    assert models.loads == 1 and len(loaded) == 1


def test_the_budget_evicts_the_least_recently_used_before_loading() -> None:
    loaded: list = []
    models = cache(100, Clock(), loaded)
    models.get(("a", "t2v"))
    models.get(("b", "t2v"))
    models.get(("a", "t2v"))  # b is now the least recently used
    models.get(("c", "t2v"))  # 40 + 50 + 30 > 100: b goes, before c loads
    assert loaded[-1] == (("c", "t2v"), [("a", "t2v")])
    assert ("a", "t2v") in models and ("b", "t2v") not in models
    assert models.resident_bytes == 70


def test_idle_models_are_unloaded() -> None:
    clock, loaded = Clock(), []
    models = cache(1000, clock, loaded)
    models.get(("a", "t2v"))
    clock.now = 30
    models.get(("b", "t2v"))
    clock.now = 70
    assert models.unload_idle() == [("a", "t2v")]
    assert ("b", "t2v") in models and models.resident_bytes == 50
