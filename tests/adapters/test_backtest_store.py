"""Backtest jobs, usage days and artifacts on both stores: quota, admission, exactly-once moves."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from adapters.backtest_artifacts import BacktestArtifacts
from adapters.backtest_store import BacktestStore, Outcome
from adapters.database import Database, to_micros
from domain.backtesting.estimate import Estimate, ReplayWindow
from domain.backtesting.jobs import Artifact, ConcurrencyLimits, JobStatus, NewJob

NOW = datetime(2026, 12, 1, 23, 59, tzinfo=UTC)
CLONE = UUID("3f0c9d7e-1111-4000-8000-000000000001")
OTHER_CLONE = UUID("3f0c9d7e-1111-4000-8000-000000000002")
WINDOW = ReplayWindow(
    "last_6h", datetime(2021, 7, 3, 1, tzinfo=UTC), datetime(2021, 7, 3, 7, tzinfo=UTC)
)
ROOMY = ConcurrencyLimits(total=10, per_user=10)
OUTCOME = Outcome({"steps": 72}, {"trades": 2}, "sha256:in", "sha256:out")


def a_job(
    user: str = "user-a", clone: UUID = CLONE, at: datetime = NOW, job_id: UUID | None = None
) -> NewJob:
    return NewJob(
        job_id=job_id or uuid4(),
        user_id=user,
        clone_id=clone,
        version_id=uuid4(),
        version_number=1,
        tier="starter",
        window=WINDOW,
        estimate=Estimate(72, 72, 1, 0, 0),
        created_at=at,
    )


def artifacts(now: datetime) -> list[Artifact]:
    return [
        Artifact("metrics", "application/json", '{"trades":2}', None),
        Artifact("decisions", "application/json", "[]", now + timedelta(days=30)),
    ]


@pytest.fixture
def store(database: Database) -> BacktestStore:
    return BacktestStore(database)


def accepted(store: BacktestStore, job: NewJob | None = None, limit: int = 3) -> UUID:
    job = job or a_job()
    assert store.accept(job, daily_limit=limit)
    return job.job_id


def in_threads(count: int, action: Callable[[int], object]) -> list[object]:
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count

    def run(index: int) -> None:
        barrier.wait()
        results[index] = action(index)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


# --- quota ---------------------------------------------------------------------------------


def test_accepting_queues_the_job_and_counts_the_run(store: BacktestStore) -> None:
    job_id = accepted(store)
    job = store.get(job_id)
    assert job is not None
    assert (job.status, job.attempts, job.window, job.created_at) == (
        JobStatus.QUEUED,
        0,
        WINDOW,
        NOW,
    )
    assert store.usage("user-a", CLONE, "2026-12-01") == 1


def test_the_quota_admits_exactly_the_limit_and_writes_nothing_past_it(
    store: BacktestStore,
) -> None:
    for _ in range(3):
        accepted(store)
    refused = a_job()
    assert store.accept(refused, daily_limit=3) is False
    assert store.get(refused.job_id) is None
    assert store.usage("user-a", CLONE, "2026-12-01") == 3


def test_the_quota_is_per_clone_and_per_utc_day(store: BacktestStore) -> None:
    accepted(store, limit=1)
    assert store.accept(a_job(), daily_limit=1) is False
    assert store.accept(a_job(clone=OTHER_CLONE), daily_limit=1)
    assert store.accept(a_job(user="user-b"), daily_limit=1)
    assert store.accept(a_job(at=NOW + timedelta(minutes=1)), daily_limit=1)  # 00:00 UTC
    assert store.usage("user-a", CLONE, "2026-12-02") == 1


def test_a_zero_quota_admits_nothing(store: BacktestStore) -> None:
    assert store.accept(a_job(), daily_limit=0) is False
    assert store.usage("user-a", CLONE, "2026-12-01") == 0


def test_concurrent_starts_never_pass_the_quota(store: BacktestStore) -> None:
    jobs = [a_job() for _ in range(6)]
    results = in_threads(6, lambda i: store.accept(jobs[i], daily_limit=2))
    assert sorted(results, key=bool) == [False] * 4 + [True] * 2
    assert store.usage("user-a", CLONE, "2026-12-01") == 2
    assert len(store.page("user-a", clone_id=CLONE, before=None, limit=10)) == 2


# --- starting and admission ----------------------------------------------------------------


def test_begin_starts_a_queued_job_then_resumes_it_with_the_next_attempt(
    store: BacktestStore,
) -> None:
    job_id = accepted(store)
    assert store.begin(job_id, NOW, ROOMY) == 1
    assert store.begin(job_id, NOW + timedelta(minutes=1), ROOMY) == 2
    job = store.get(job_id)
    assert job is not None
    assert (job.status, job.attempts, job.started_at) == (JobStatus.RUNNING, 2, NOW)


def test_a_queued_job_waits_for_a_free_slot(store: BacktestStore) -> None:
    first, second = accepted(store), accepted(store)
    other = accepted(store, a_job(user="user-b"))
    limits = ConcurrencyLimits(total=2, per_user=1)
    assert store.begin(first, NOW, limits) == 1
    assert store.begin(second, NOW, limits) is None  # user-a already runs one
    assert store.begin(other, NOW, limits) == 1
    third = accepted(store, a_job(user="user-c"))
    assert store.begin(third, NOW, limits) is None  # two run in total
    assert store.begin(first, NOW, limits) == 2  # resuming needs no new slot


def test_runnable_lists_running_jobs_then_the_queued_ones_that_fit(store: BacktestStore) -> None:
    oldest = accepted(store, a_job(at=NOW - timedelta(minutes=3)))
    waiting = accepted(store, a_job(at=NOW - timedelta(minutes=2)))
    other = accepted(store, a_job(user="user-b", at=NOW - timedelta(minutes=1)))
    accepted(store, a_job(user="user-c"))
    store.begin(oldest, NOW, ROOMY)
    found = store.runnable(ConcurrencyLimits(total=2, per_user=1))
    assert [job.job_id for job in found] == [oldest, other]
    assert waiting not in [job.job_id for job in found]


def test_concurrent_admissions_never_pass_the_global_limit(store: BacktestStore) -> None:
    jobs = [accepted(store, a_job(user=f"user-{i}")) for i in range(5)]
    limits = ConcurrencyLimits(total=2, per_user=1)
    results = in_threads(5, lambda i: store.begin(jobs[i], NOW, limits))
    assert sorted(r is not None for r in results) == [False] * 3 + [True] * 2
    running = [j for j in store.runnable(limits) if j.status is JobStatus.RUNNING]
    assert len(running) == 2


def test_a_finished_job_never_begins_again(store: BacktestStore) -> None:
    job_id = accepted(store)
    store.begin(job_id, NOW, ROOMY)
    assert store.succeed(job_id, 1, NOW, OUTCOME, [])
    assert store.begin(job_id, NOW, ROOMY) is None
    assert store.begin(uuid4(), NOW, ROOMY) is None


# --- finishing exactly once ----------------------------------------------------------------


def test_only_the_current_attempt_finishes_and_only_once(
    store: BacktestStore, database: Database
) -> None:
    job_id = accepted(store)
    store.begin(job_id, NOW, ROOMY)
    store.begin(job_id, NOW, ROOMY)  # the first holder died; attempt 2 resumed it
    stale = store.succeed(job_id, 1, NOW, OUTCOME, artifacts(NOW))
    current = store.succeed(job_id, 2, NOW, OUTCOME, artifacts(NOW))
    again = store.succeed(job_id, 2, NOW, OUTCOME, artifacts(NOW))
    assert (stale, current, again) == (False, True, False)
    job = store.get(job_id)
    assert job is not None
    assert (job.status, job.summary, job.metrics, job.result_hash) == (
        JobStatus.SUCCEEDED,
        {"steps": 72},
        {"trades": 2},
        "sha256:out",
    )
    assert [a.kind for a in BacktestArtifacts(database).of_job(job_id)] == ["decisions", "metrics"]


def test_a_stale_attempt_cannot_fail_or_cancel_the_job(store: BacktestStore) -> None:
    job_id = accepted(store)
    store.begin(job_id, NOW, ROOMY)
    store.begin(job_id, NOW, ROOMY)
    assert store.end(job_id, 1, JobStatus.FAILED, NOW, "boom") is False
    store.note_error(job_id, 1, "stale")
    assert store.end(job_id, 2, JobStatus.CANCELLED, NOW, "stop") is True
    job = store.get(job_id)
    assert job is not None
    assert (job.status, job.error, job.finished_at) == (JobStatus.CANCELLED, "stop", NOW)


def test_a_dead_job_fails_whatever_its_attempt(store: BacktestStore) -> None:
    job_id = accepted(store)
    store.begin(job_id, NOW, ROOMY)
    assert store.fail_unfinished(job_id, NOW, "RuntimeError: boom")
    assert store.fail_unfinished(job_id, NOW, "again") is False
    job = store.get(job_id)
    assert job is not None
    assert (job.status, job.error) == (JobStatus.FAILED, "RuntimeError: boom")


# --- cancelling and expiring ---------------------------------------------------------------


def test_a_queued_job_is_cancelled_at_once(store: BacktestStore) -> None:
    job_id = accepted(store)
    job = store.cancel(job_id, NOW)
    assert job is not None
    assert (job.status, job.finished_at) == (JobStatus.CANCELLED, NOW)
    assert store.begin(job_id, NOW, ROOMY) is None


def test_a_running_job_is_asked_to_stop(store: BacktestStore) -> None:
    job_id = accepted(store)
    store.begin(job_id, NOW, ROOMY)
    assert store.cancel_requested(job_id) is False
    job = store.cancel(job_id, NOW)
    store.cancel(job_id, NOW + timedelta(seconds=5))  # asking twice keeps the first instant
    assert job is not None
    assert (job.status, job.cancel_requested_at) == (JobStatus.RUNNING, NOW)
    assert store.cancel_requested(job_id) is True
    again = store.get(job_id)
    assert again is not None
    assert again.cancel_requested_at == NOW


def test_queued_jobs_past_the_ttl_expire(store: BacktestStore) -> None:
    old = accepted(store, a_job(at=NOW - timedelta(hours=2)))
    fresh = accepted(store, a_job(at=NOW))
    running = accepted(store, a_job(at=NOW - timedelta(hours=3)))
    store.begin(running, NOW, ROOMY)
    assert store.expire_queued(NOW - timedelta(hours=1), NOW) == 1
    statuses = {job_id: store.get(job_id).status for job_id in (old, fresh, running)}  # type: ignore[union-attr]
    assert statuses == {
        old: JobStatus.EXPIRED,
        fresh: JobStatus.QUEUED,
        running: JobStatus.RUNNING,
    }


# --- artifacts and history -----------------------------------------------------------------


def test_expiring_artifacts_are_purged_and_durable_ones_kept(
    store: BacktestStore, database: Database
) -> None:
    job_id = accepted(store)
    store.begin(job_id, NOW, ROOMY)
    store.succeed(job_id, 1, NOW, OUTCOME, artifacts(NOW))
    kept = BacktestArtifacts(database)
    assert kept.purge_expired(NOW + timedelta(days=29)) == 0
    assert kept.purge_expired(NOW + timedelta(days=30)) == 1
    assert [a.kind for a in kept.of_job(job_id)] == ["metrics"]
    assert kept.content(job_id, "metrics") == '{"trades":2}'
    assert kept.content(job_id, "decisions") is None


def test_history_pages_newest_first_through_equal_instants(store: BacktestStore) -> None:
    made = [accepted(store, a_job(at=NOW - timedelta(minutes=1)), limit=10)]
    made += [accepted(store, limit=10) for _ in range(3)]  # the same instant
    accepted(store, a_job(user="user-b"), limit=10)
    seen, before = [], None
    while True:
        page = store.page("user-a", clone_id=None, before=before, limit=2)
        seen += [job.job_id for job in page]
        if len(page) < 2:
            break
        last = page[-1]
        before = (to_micros(last.created_at), str(last.job_id))
    assert sorted(seen[:3]) == sorted(made[1:])
    assert seen[3:] == made[:1]
