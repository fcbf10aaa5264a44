"""JobStore on real databases (SQLite and PostgreSQL): submission and queue order, claims with
leases, heartbeats, results written once, expiry with retries and backoff, cancellation,
idempotency, owner scoping, paging and housekeeping. Time is a fake clock, moved by hand."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import Engine

from kino.errors import JobNotFound, LeaseLost
from kino.jobs.database import connect, migrate
from kino.jobs.store import IdempotencyConflict, Job, JobStore, NewJob, Progress

MODEL = "kino-demo"
LEASE = 30.0
BACKOFF = 5.0
MAX_ATTEMPTS = 3
TTL = 3600.0
OUTPUTS: list[dict[str, Any]] = [{"variant": "video", "key": "videos/x/video.mp4", "bytes": 10}]


class FakeClock:
    """Unix time that only moves when a test advances it."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(engine: Engine, clock: FakeClock) -> JobStore:
    migrate(engine)
    return JobStore(
        engine,
        lease_seconds=LEASE,
        max_attempts=MAX_ATTEMPTS,
        retry_backoff_seconds=BACKOFF,
        clock=clock,
    )


def new_job(
    owner: str = "alice",
    *,
    model: str = MODEL,
    priority: int = 0,
    key: str | None = None,
    request_hash: str = "hash-a",
    refused: tuple[str, str] | None = None,
) -> NewJob:
    return NewJob(
        owner=owner,
        model=model,
        task="t2v",
        seed=7,
        request={"prompt": "a red kite over the sea", "frames": 17},
        request_hash=request_hash,
        priority=priority,
        idempotency_key=key,
        refused=refused,
    )


def submit(store: JobStore, owner: str = "alice", **overrides: Any) -> Job:
    job, created = store.submit(new_job(owner, **overrides))
    assert created
    return job


def claim(store: JobStore, worker: str = "w1") -> Job:
    job = store.claim(worker)
    assert job is not None
    return job


def complete(store: JobStore, job: Job, worker: str = "w1") -> Job:
    return store.complete(job.id, worker, OUTPUTS, load_seconds=2.5, output_ttl_seconds=TTL)


def expire_lease(store: JobStore, clock: FakeClock) -> list[Job]:
    clock.advance(LEASE + 1)
    return store.requeue_expired()


# -- submit and the queue -------------------------------------------------------------------


def test_submit_stores_a_queued_job(store: JobStore, clock: FakeClock) -> None:
    new = new_job()
    job, created = store.submit(new)
    assert created
    assert (job.id, job.status, job.attempts) == (new.id, "queued", 0)
    assert isinstance(job.seq, int)
    assert (job.max_attempts, job.available_at, job.created_at) == (
        MAX_ATTEMPTS,
        clock.now,
        clock.now,
    )
    assert store.get(job.id) == job


def test_submit_numbers_jobs_in_order(store: JobStore) -> None:
    seqs = [submit(store).seq for _ in range(3)]
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == 3


def test_refused_submission_is_stored_failed(store: JobStore, clock: FakeClock) -> None:
    job = submit(store, refused=("content_policy", "refused"))
    assert (job.status, job.error_code, job.completed_at) == ("failed", "content_policy", clock.now)
    assert store.claim("w1") is None


def test_queue_position_is_priority_then_fifo(store: JobStore) -> None:
    low1 = submit(store, priority=0)
    high1 = submit(store, priority=5)
    low2 = submit(store, priority=0)
    high2 = submit(store, priority=5)
    positions = [store.queue_position(job) for job in (high1, high2, low1, low2)]
    assert positions == [1, 2, 3, 4]


def test_queue_position_is_none_unless_queued(store: JobStore) -> None:
    submit(store)
    assert store.queue_position(claim(store)) is None


def test_count_queued_counts_only_queued_jobs(store: JobStore) -> None:
    for owner in ("alice", "alice", "bob"):
        submit(store, owner)
    claim(store)
    assert store.count_queued() == 2


def test_count_active_counts_queued_and_running_per_owner(store: JobStore) -> None:
    for owner in ("alice", "alice", "alice", "bob"):
        submit(store, owner)
    complete(store, claim(store))  # alice's first job
    claim(store)  # alice's second job, running
    assert (store.count_active(), store.count_active("alice"), store.count_active("bob")) == (
        3,
        2,
        1,
    )
    assert store.count_active("carol") == 0


# -- claim ----------------------------------------------------------------------------------


def test_claim_takes_higher_priority_first_then_fifo(store: JobStore) -> None:
    low1 = submit(store, priority=0)
    high1 = submit(store, priority=9)
    mid = submit(store, priority=3)
    high2 = submit(store, priority=9)
    low2 = submit(store, priority=0)
    order = [claim(store).id for _ in range(5)]
    assert order == [high1.id, high2.id, mid.id, low1.id, low2.id]


def test_claim_on_empty_queue_returns_none(store: JobStore) -> None:
    assert store.claim("w1") is None


def test_claim_skips_jobs_of_other_models(store: JobStore) -> None:
    job = submit(store, model=MODEL)
    assert store.claim("w1", models=["other"]) is None
    claimed = store.claim("w1", models=["other", MODEL])
    assert claimed is not None and claimed.id == job.id


def test_claim_waits_until_available_at(store: JobStore, clock: FakeClock) -> None:
    job = submit(store)
    claim(store)
    store.fail(job.id, "w1", "boom", "broke", retry=True)  # available again in BACKOFF s
    clock.advance(BACKOFF - 1)
    assert store.claim("w1") is None
    clock.advance(1)
    assert claim(store).id == job.id


def test_claim_leases_the_job(store: JobStore, clock: FakeClock) -> None:
    job = submit(store)
    claimed = claim(store, "w1")
    assert claimed.id == job.id
    assert (claimed.status, claimed.lease_owner, claimed.worker, claimed.attempts) == (
        "in_progress",
        "w1",
        "w1",
        1,
    )
    assert (claimed.lease_expires_at, claimed.started_at) == (clock.now + LEASE, clock.now)
    assert store.get(job.id) == claimed


def test_claimed_job_is_not_claimed_again(store: JobStore) -> None:
    submit(store)
    claim(store, "w1")
    assert store.claim("w2") is None


# -- heartbeat ------------------------------------------------------------------------------


def test_heartbeat_extends_the_lease(store: JobStore, clock: FakeClock) -> None:
    submit(store)
    job = claim(store)
    clock.advance(20)
    assert store.heartbeat(job.id, "w1") is False
    assert store.get(job.id).lease_expires_at == clock.now + LEASE


def test_heartbeat_keeps_the_job_past_its_first_lease(store: JobStore, clock: FakeClock) -> None:
    submit(store)
    job = claim(store)
    clock.advance(20)
    store.heartbeat(job.id, "w1")
    clock.advance(20)  # past the first lease, within the renewed one
    assert store.requeue_expired() == []
    assert store.get(job.id).status == "in_progress"


def test_heartbeat_records_progress(store: JobStore) -> None:
    submit(store)
    job = claim(store)
    store.heartbeat(job.id, "w1", Progress(progress=42.5, stage="denoise", step=5, total_steps=12))
    stored = store.get(job.id)
    assert (stored.progress, stored.stage, stored.step, stored.total_steps) == (
        42.5,
        "denoise",
        5,
        12,
    )


def test_heartbeat_by_another_worker_raises_lease_lost(store: JobStore) -> None:
    submit(store)
    job = claim(store, "w1")
    with pytest.raises(LeaseLost):
        store.heartbeat(job.id, "w2")


def test_heartbeat_by_another_worker_leaves_the_lease(store: JobStore, clock: FakeClock) -> None:
    submit(store)
    job = claim(store, "w1")
    clock.advance(20)
    with pytest.raises(LeaseLost):
        store.heartbeat(job.id, "w2")
    assert store.get(job.id).lease_expires_at == job.lease_expires_at


def test_heartbeat_on_deleted_job_raises_lease_lost(store: JobStore) -> None:
    submit(store)
    job = claim(store)
    store.delete(job.id)
    with pytest.raises(LeaseLost):
        store.heartbeat(job.id, "w1")


def test_heartbeat_reports_cancellation(store: JobStore) -> None:
    submit(store)
    job = claim(store)
    store.cancel(job.id)
    assert store.heartbeat(job.id, "w1") is True


# -- complete -------------------------------------------------------------------------------


def test_complete_stores_outputs_and_expiry(store: JobStore, clock: FakeClock) -> None:
    submit(store)
    job = claim(store)
    clock.advance(100)
    done = complete(store, job)
    assert (done.status, done.outputs, done.progress, done.stage) == (
        "completed",
        OUTPUTS,
        100.0,
        "done",
    )
    assert (done.completed_at, done.expires_at) == (clock.now, clock.now + TTL)
    assert (done.lease_owner, done.lease_expires_at, done.worker) == (None, None, "w1")
    assert done.load_seconds == 2.5
    assert store.get(job.id) == done


def test_second_complete_raises_lease_lost(store: JobStore) -> None:
    submit(store)
    job = claim(store)
    complete(store, job)
    with pytest.raises(LeaseLost):
        store.complete(job.id, "w1", [{"key": "other"}], load_seconds=1.0, output_ttl_seconds=1.0)


def test_second_complete_leaves_the_first_result(store: JobStore, clock: FakeClock) -> None:
    submit(store)
    job = claim(store)
    first = complete(store, job)
    clock.advance(10)
    with pytest.raises(LeaseLost):
        store.complete(job.id, "w1", [{"key": "other"}], load_seconds=1.0, output_ttl_seconds=1.0)
    assert store.get(job.id) == first


def test_complete_by_another_worker_raises_lease_lost(store: JobStore) -> None:
    submit(store)
    job = claim(store, "w1")
    with pytest.raises(LeaseLost):
        complete(store, job, worker="w2")
    stored = store.get(job.id)
    assert (stored.status, stored.outputs, stored.lease_owner) == ("in_progress", [], "w1")


def test_complete_after_the_lease_passed_to_another_worker_raises_lease_lost(
    store: JobStore, clock: FakeClock
) -> None:
    submit(store)
    job = claim(store, "w1")
    expire_lease(store, clock)
    clock.advance(BACKOFF)
    claim(store, "w2")
    with pytest.raises(LeaseLost):
        complete(store, job, worker="w1")
    assert store.get(job.id).outputs == []


# -- expired leases -------------------------------------------------------------------------


def test_requeue_expired_leaves_live_leases(store: JobStore, clock: FakeClock) -> None:
    submit(store)
    job = claim(store)
    clock.advance(LEASE - 1)
    assert store.requeue_expired() == []
    assert store.get(job.id).status == "in_progress"


def test_expired_lease_requeues_with_backoff(store: JobStore, clock: FakeClock) -> None:
    submit(store)
    job = claim(store)
    changed = expire_lease(store, clock)
    assert [j.id for j in changed] == [job.id]
    stored = store.get(job.id)
    assert (stored.status, stored.lease_owner, stored.lease_expires_at, stored.attempts) == (
        "queued",
        None,
        None,
        1,
    )
    assert stored.available_at == clock.now + BACKOFF


def test_requeued_job_waits_out_its_backoff(store: JobStore, clock: FakeClock) -> None:
    submit(store)
    claim(store)
    expire_lease(store, clock)
    clock.advance(BACKOFF - 1)
    assert store.claim("w2") is None


def test_reclaim_after_expiry_is_the_second_attempt(store: JobStore, clock: FakeClock) -> None:
    job = submit(store)
    claim(store, "w1")
    expire_lease(store, clock)
    clock.advance(BACKOFF)
    again = claim(store, "w2")
    assert (again.id, again.attempts, again.worker) == (job.id, 2, "w2")


def test_backoff_doubles_with_each_attempt(store: JobStore, clock: FakeClock) -> None:
    submit(store)
    claim(store)
    expire_lease(store, clock)
    clock.advance(BACKOFF)
    job = claim(store)
    expire_lease(store, clock)
    assert store.get(job.id).available_at == clock.now + BACKOFF * 2


def test_expired_lease_on_the_last_attempt_fails_worker_lost(
    store: JobStore, clock: FakeClock
) -> None:
    job = submit(store)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        clock.advance(BACKOFF * 2**attempt)
        assert claim(store).attempts == attempt
        expire_lease(store, clock)
    stored = store.get(job.id)
    assert (stored.status, stored.error_code, stored.attempts) == (
        "failed",
        "worker_lost",
        MAX_ATTEMPTS,
    )
    assert stored.completed_at == clock.now
    assert store.claim("w1") is None


def test_expired_lease_of_a_cancel_requested_job_cancels_it(
    store: JobStore, clock: FakeClock
) -> None:
    submit(store)
    job = claim(store)
    store.cancel(job.id)
    expire_lease(store, clock)
    stored = store.get(job.id)
    assert (stored.status, stored.completed_at, stored.lease_owner) == (
        "cancelled",
        clock.now,
        None,
    )


# -- fail, release, mark_cancelled ----------------------------------------------------------


def test_fail_with_retry_requeues_with_backoff(store: JobStore, clock: FakeClock) -> None:
    submit(store)
    job = claim(store)
    failed = store.fail(job.id, "w1", "generation_failed", "RuntimeError: boom", retry=True)
    assert (failed.status, failed.attempts, failed.lease_owner) == ("queued", 1, None)
    assert (failed.error_code, failed.error_message) == ("generation_failed", "RuntimeError: boom")
    assert failed.available_at == clock.now + BACKOFF


def test_fail_with_retry_fails_after_max_attempts(store: JobStore, clock: FakeClock) -> None:
    job = submit(store)
    statuses = []
    for _ in range(MAX_ATTEMPTS):
        clock.advance(BACKOFF * 2**MAX_ATTEMPTS)
        claim(store)
        statuses.append(store.fail(job.id, "w1", "generation_failed", "boom", retry=True).status)
    assert statuses == ["queued", "queued", "failed"]
    stored = store.get(job.id)
    assert (stored.attempts, stored.error_code, stored.completed_at) == (
        MAX_ATTEMPTS,
        "generation_failed",
        clock.now,
    )


def test_fail_without_retry_fails_at_once(store: JobStore, clock: FakeClock) -> None:
    submit(store)
    job = claim(store)
    failed = store.fail(job.id, "w1", "unknown_model", "no such model", retry=False)
    assert (failed.status, failed.error_code, failed.error_message) == (
        "failed",
        "unknown_model",
        "no such model",
    )
    assert (failed.attempts, failed.completed_at, failed.lease_owner) == (1, clock.now, None)
    assert store.claim("w1") is None


def test_fail_by_another_worker_raises_lease_lost(store: JobStore) -> None:
    submit(store)
    job = claim(store, "w1")
    with pytest.raises(LeaseLost):
        store.fail(job.id, "w2", "generation_failed", "boom", retry=False)
    assert store.get(job.id).status == "in_progress"


def test_fail_of_a_deleted_job_raises_lease_lost(store: JobStore) -> None:
    submit(store)
    job = claim(store)
    store.delete(job.id)
    with pytest.raises(LeaseLost):
        store.fail(job.id, "w1", "generation_failed", "boom", retry=True)


def test_release_requeues_without_counting_the_attempt(store: JobStore) -> None:
    submit(store)
    job = claim(store)
    released = store.release(job.id, "w1")
    assert (released.status, released.attempts, released.lease_owner) == ("queued", 0, None)


def test_released_job_is_claimable_at_once(store: JobStore) -> None:
    job = submit(store)
    claim(store, "w1")
    store.release(job.id, "w1")
    again = claim(store, "w2")
    assert (again.id, again.attempts) == (job.id, 1)


def test_mark_cancelled_ends_the_running_job(store: JobStore, clock: FakeClock) -> None:
    submit(store)
    job = claim(store)
    store.cancel(job.id)
    cancelled = store.mark_cancelled(job.id, "w1")
    assert (cancelled.status, cancelled.completed_at, cancelled.lease_owner) == (
        "cancelled",
        clock.now,
        None,
    )


# -- cancel ---------------------------------------------------------------------------------


def test_cancel_queued_job_cancels_it_at_once(store: JobStore, clock: FakeClock) -> None:
    job = submit(store)
    cancelled = store.cancel(job.id)
    assert (cancelled.status, cancelled.cancel_requested, cancelled.completed_at) == (
        "cancelled",
        True,
        clock.now,
    )


def test_cancelled_job_is_never_claimed(store: JobStore) -> None:
    job = submit(store)
    store.cancel(job.id)
    assert store.claim("w1") is None


def test_cancel_is_idempotent(store: JobStore, clock: FakeClock) -> None:
    job = submit(store)
    first = store.cancel(job.id)
    clock.advance(10)
    assert store.cancel(job.id) == first


def test_cancel_running_job_only_asks_the_worker(store: JobStore) -> None:
    submit(store)
    job = claim(store)
    cancelled = store.cancel(job.id)
    assert (cancelled.status, cancelled.cancel_requested, cancelled.lease_owner) == (
        "in_progress",
        True,
        "w1",
    )


def test_cancel_completed_job_leaves_it_completed(store: JobStore, clock: FakeClock) -> None:
    submit(store)
    done = complete(store, claim(store))
    clock.advance(10)
    assert store.cancel(done.id) == done


# -- idempotency ----------------------------------------------------------------------------


def test_same_idempotency_key_and_request_returns_the_same_job(store: JobStore) -> None:
    first, _ = store.submit(new_job("alice", key="k1"))
    again, created = store.submit(new_job("alice", key="k1"))
    assert (again.id, created) == (first.id, False)
    assert store.count_queued() == 1


def test_same_idempotency_key_with_another_request_conflicts(store: JobStore) -> None:
    first, _ = store.submit(new_job("alice", key="k1", request_hash="hash-a"))
    with pytest.raises(IdempotencyConflict) as conflict:
        store.submit(new_job("alice", key="k1", request_hash="hash-b"))
    assert conflict.value.job.id == first.id
    assert store.count_queued() == 1


def test_another_owner_may_reuse_an_idempotency_key(store: JobStore) -> None:
    alice, _ = store.submit(new_job("alice", key="k1"))
    bob, created = store.submit(new_job("bob", key="k1"))
    assert created
    assert bob.id != alice.id


def test_idempotent_submit_that_loses_the_insert_race_returns_the_winner(
    store: JobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    winner, _ = store.submit(new_job("alice", key="k1"))
    lookups = iter([None])
    real_lookup = store.by_idempotency_key
    # The first look-up misses, as if the other request inserted just after it.
    monkeypatch.setattr(
        store, "by_idempotency_key", lambda owner, key: next(lookups, real_lookup(owner, key))
    )
    loser, created = store.submit(new_job("alice", key="k1"))
    assert (loser.id, created) == (winner.id, False)
    assert store.count_queued() == 1


# -- owners ---------------------------------------------------------------------------------


def test_get_another_owners_job_raises_not_found(store: JobStore) -> None:
    job = submit(store, "alice")
    with pytest.raises(JobNotFound):
        store.get(job.id, "bob")


def test_get_unknown_job_raises_not_found(store: JobStore) -> None:
    with pytest.raises(JobNotFound):
        store.get("video_missing")


def test_admin_gets_any_job(store: JobStore) -> None:
    job = submit(store, "alice")
    assert store.get(job.id, None) == store.get(job.id, "alice")


def test_page_shows_only_the_owners_jobs(store: JobStore) -> None:
    alice = submit(store, "alice")
    submit(store, "bob")
    jobs, more = store.page("alice")
    assert ([job.id for job in jobs], more) == ([alice.id], False)


def test_admin_page_shows_every_owner(store: JobStore) -> None:
    ids = [submit(store, owner).id for owner in ("alice", "bob", "carol")]
    jobs, _ = store.page(None)
    assert [job.id for job in jobs] == ids[::-1]


def test_page_after_another_owners_job_raises_not_found(store: JobStore) -> None:
    bob = submit(store, "bob")
    with pytest.raises(JobNotFound):
        store.page("alice", after=bob.id)


def test_cancel_another_owners_job_raises_not_found(store: JobStore) -> None:
    job = submit(store, "alice")
    with pytest.raises(JobNotFound):
        store.cancel(job.id, "bob")
    assert store.get(job.id).status == "queued"


def test_delete_another_owners_job_raises_not_found(store: JobStore) -> None:
    job = submit(store, "alice")
    with pytest.raises(JobNotFound):
        store.delete(job.id, "bob")
    assert store.get(job.id) == job


def test_delete_removes_the_job(store: JobStore) -> None:
    job = submit(store, "alice")
    assert store.delete(job.id, "alice") == job
    with pytest.raises(JobNotFound):
        store.get(job.id)


def test_admin_deletes_any_job(store: JobStore) -> None:
    job = submit(store, "alice")
    store.delete(job.id, None)
    assert store.count_queued() == 0


# -- page -----------------------------------------------------------------------------------


def test_page_lists_newest_first(store: JobStore) -> None:
    ids = [submit(store).id for _ in range(4)]
    jobs, more = store.page("alice")
    assert ([job.id for job in jobs], more) == (ids[::-1], False)


def test_page_cursor_visits_every_job_once(store: JobStore) -> None:
    ids = [submit(store).id for _ in range(7)]
    seen: list[str] = []
    mores: list[bool] = []
    after: str | None = None
    while True:
        jobs, more = store.page("alice", after=after, limit=3)
        seen += [job.id for job in jobs]
        mores.append(more)
        if not more:
            break
        after = jobs[-1].id
    assert seen == ids[::-1]
    assert mores == [True, True, False]


def test_page_filters_by_status(store: JobStore) -> None:
    queued = [submit(store).id for _ in range(3)]
    running = claim(store)
    jobs, _ = store.page("alice", status="queued")
    assert [job.id for job in jobs] == [i for i in queued[::-1] if i != running.id]
    jobs, _ = store.page("alice", status="in_progress")
    assert [job.id for job in jobs] == [running.id]


def test_page_with_status_and_cursor(store: JobStore) -> None:
    ids = [submit(store).id for _ in range(5)]
    store.cancel(ids[2])
    first, more = store.page("alice", status="queued", limit=2)
    rest, more_after = store.page("alice", status="queued", after=first[-1].id, limit=2)
    assert [job.id for job in first + rest] == [ids[4], ids[3], ids[1], ids[0]]
    assert (more, more_after) == (True, False)


# -- webhooks and housekeeping --------------------------------------------------------------


def test_record_webhook_stores_the_delivery(store: JobStore) -> None:
    job = submit(store)
    delivery = {"status": "delivered", "attempts": 1, "last_status_code": 204}
    store.record_webhook(job.id, delivery)
    assert store.get(job.id).webhook == delivery


def test_expired_outputs_ignores_outputs_not_yet_expired(store: JobStore, clock: FakeClock) -> None:
    submit(store)
    complete(store, claim(store))
    clock.advance(TTL - 1)
    assert store.expired_outputs() == []


def test_expired_outputs_returns_expired_jobs_with_their_outputs(
    store: JobStore, clock: FakeClock
) -> None:
    submit(store)
    done = complete(store, claim(store))
    clock.advance(TTL + 1)
    expired = store.expired_outputs()
    assert [(job.id, job.outputs) for job in expired] == [(done.id, OUTPUTS)]


def test_expired_outputs_forgets_the_outputs(store: JobStore, clock: FakeClock) -> None:
    submit(store)
    done = complete(store, claim(store))
    clock.advance(TTL + 1)
    store.expired_outputs()
    assert store.get(done.id).outputs == []
    assert store.get(done.id).status == "completed"
    assert store.expired_outputs() == []


def test_purge_deletes_old_terminal_jobs_only(store: JobStore, clock: FakeClock) -> None:
    for _ in range(4):
        submit(store)
    completed = complete(store, claim(store))
    failed = store.fail(claim(store).id, "w1", "unknown_model", "no", retry=False)
    running = claim(store)
    queued = submit(store)
    cancelled = store.cancel(queued.id)
    refused = submit(store, refused=("content_policy", "refused"))
    still_queued = store.page("alice", status="queued")[0]
    clock.advance(1000)
    purged = store.purge(500)
    assert sorted(job.id for job in purged) == sorted(
        [completed.id, failed.id, cancelled.id, refused.id]
    )
    kept, _ = store.page(None)
    assert sorted(job.id for job in kept) == sorted([running.id] + [j.id for j in still_queued])


def test_purge_keeps_recent_terminal_jobs(store: JobStore, clock: FakeClock) -> None:
    submit(store)
    done = complete(store, claim(store))
    clock.advance(100)
    assert store.purge(500) == []
    assert store.get(done.id).status == "completed"


# -- concurrency ----------------------------------------------------------------------------


def test_concurrent_workers_claim_every_job_exactly_once(postgres_url: str) -> None:
    """Four workers, each with its own engine, race over one PostgreSQL queue."""
    clock = FakeClock()
    setup = connect(postgres_url)
    migrate(setup)
    ids = [JobStore(setup, clock=clock).submit(new_job())[0].id for _ in range(30)]
    setup.dispose()

    start = threading.Barrier(4)

    def work(worker: str) -> list[str]:
        engine = connect(postgres_url)
        store = JobStore(engine, clock=clock)
        claimed: list[str] = []
        try:
            start.wait(timeout=10)
            while (job := store.claim(worker)) is not None:
                claimed.append(job.id)
                complete(store, job, worker)
        finally:
            engine.dispose()
        return claimed

    with ThreadPoolExecutor(4) as pool:
        results = [f.result() for f in [pool.submit(work, f"w{i}") for i in range(4)]]

    claimed = [job_id for result in results for job_id in result]
    assert len(claimed) == len(set(claimed)) == 30
    assert set(claimed) == set(ids)
    check = connect(postgres_url)
    try:
        assert JobStore(check).count_active() == 0
    finally:
        check.dispose()
