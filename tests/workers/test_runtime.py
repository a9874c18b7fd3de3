"""The worker runtime: heartbeats, leases, backoff, dead letters and shutdown, on both stores."""

from __future__ import annotations

import os
import random
import signal
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from structlog.testing import capture_logs

from adapters.clocks import SystemClock
from adapters.database import Database
from adapters.dead_letters import DeadLetterStore
from adapters.heartbeats import HeartbeatStore, worker_health
from adapters.leases import LeaseStore
from adapters.settings import load_settings
from adapters.stuck_leases import stuck_leases
from domain.clock import Clock, SimulatedClock
from workers.runtime import (
    LeaseLost,
    Runtime,
    SignalsOutsideMainThreadError,
    WorkItem,
    install_stop_signals,
    keep_lease,
)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TICK = timedelta(microseconds=1)


@dataclass
class ScriptedWorker:
    """A worker whose items and failures a test decides; it records every perform."""

    name: str = "payouts"
    interval: timedelta = timedelta(seconds=5)
    critical: bool = True
    keys: list[str] = field(default_factory=lambda: ["item-1"])
    failing: set[str] = field(default_factory=set)
    performed: list[tuple[str, datetime]] = field(default_factory=list)
    on_perform: Callable[[WorkItem], None] | None = None

    def pending(self, now: datetime) -> Sequence[WorkItem]:
        return [WorkItem(key, {"key": key}) for key in self.keys]

    def perform(self, item: WorkItem, now: datetime) -> None:
        self.performed.append((item.key, now))
        if self.on_perform is not None:
            self.on_perform(item)
        if item.key in self.failing:
            raise RuntimeError(f"cannot pay {item.key}")


def a_runtime(
    database: Database, clock: Clock, *, holder: str = "holder-a", max_attempts: int = 4
) -> Runtime:
    return Runtime(
        database,
        clock,
        holder=holder,
        max_attempts=max_attempts,
        backoff_base=timedelta(seconds=10),
        backoff_max=timedelta(seconds=300),
        rng=random.Random(7),
    )


# Stepping


def test_step_performs_items_releases_leases_and_beats_idle(database: Database) -> None:
    runtime = a_runtime(database, SimulatedClock(T0))
    worker = ScriptedWorker(keys=["a", "b"])
    report = runtime.step(worker)
    assert (report.done, report.state, report.error) == (("a", "b"), "idle", None)
    assert worker.performed == [("a", T0), ("b", T0)]
    assert not any(lease.is_live(T0) for lease in LeaseStore(database).list_leases())
    beat = HeartbeatStore(database).latest()["payouts"]
    assert (beat.holder, beat.state, beat.beat_at) == ("holder-a", "idle", T0)
    assert beat.detail == {"done": 2, "failed": 0, "dead": 0, "last_error": None}


def test_failure_is_logged_recorded_and_does_not_escape(database: Database) -> None:
    runtime = a_runtime(database, SimulatedClock(T0))
    worker = ScriptedWorker(keys=["bad", "good"], failing={"bad"})
    with capture_logs() as logs:
        report = runtime.step(worker)
    assert (report.done, report.failed, report.state) == (("good",), ("bad",), "failing")
    assert report.error == "RuntimeError: cannot pay bad"
    failed = [log for log in logs if log["event"] == "work item failed"]
    assert failed == [
        {
            "event": "work item failed",
            "worker": "payouts",
            "item": "bad",
            "exc_info": True,
            "log_level": "error",
        }
    ]
    attempts = DeadLetterStore(database).attempts("payouts", "bad")
    assert attempts is not None
    assert "RuntimeError: cannot pay bad" in attempts.last_error
    beat = HeartbeatStore(database).latest()["payouts"]
    assert (beat.state, beat.detail["failed"], beat.detail["last_error"]) == (
        "failing",
        1,
        "RuntimeError: cannot pay bad",
    )


def test_pending_that_raises_is_reported_as_failing(database: Database) -> None:
    class BrokenWorker(ScriptedWorker):
        def pending(self, now: datetime) -> Sequence[WorkItem]:
            raise ConnectionError("upstream down")

    runtime = a_runtime(database, SimulatedClock(T0))
    with capture_logs() as logs:
        report = runtime.step(BrokenWorker())
    assert (report.state, report.error) == ("failing", "ConnectionError: upstream down")
    assert [log["event"] for log in logs] == ["worker step failed"]
    assert HeartbeatStore(database).latest()["payouts"].state == "failing"


def test_keyboard_interrupt_escapes_but_the_lease_is_released(database: Database) -> None:
    def interrupt(item: WorkItem) -> None:
        raise KeyboardInterrupt

    runtime = a_runtime(database, SimulatedClock(T0))
    with pytest.raises(KeyboardInterrupt):
        runtime.step(ScriptedWorker(on_perform=interrupt))
    assert LeaseStore(database).claim("payouts:item-1", "holder-b", timedelta(seconds=30), T0)


# Retries, backoff and dead letters


def test_failed_item_is_not_performed_again_before_its_backoff(database: Database) -> None:
    clock = SimulatedClock(T0)
    runtime = a_runtime(database, clock)
    worker = ScriptedWorker(failing={"item-1"})
    runtime.step(worker)
    attempts = DeadLetterStore(database).attempts("payouts", "item-1")
    assert attempts is not None
    clock.set(attempts.next_attempt_at - TICK)
    assert runtime.step(worker).skipped == ("item-1",)
    clock.set(attempts.next_attempt_at)
    assert runtime.step(worker).failed == ("item-1",)
    assert [at for _, at in worker.performed] == [T0, attempts.next_attempt_at]


def test_backoff_delays_grow_within_the_strategy_bounds(database: Database) -> None:
    # base 10 s: after failure n the delay lies in [5 * 2**(n-1), 10 * 2**(n-1)] seconds.
    clock = SimulatedClock(T0)
    runtime = a_runtime(database, clock, max_attempts=6)
    worker = ScriptedWorker(failing={"item-1"})
    delays = []
    for _ in range(5):
        runtime.step(worker)
        attempts = DeadLetterStore(database).attempts("payouts", "item-1")
        assert attempts is not None
        delays.append(attempts.next_attempt_at - clock.now())
        clock.set(attempts.next_attempt_at)
    expected = [(5, 10), (10, 20), (20, 40), (40, 80), (80, 160)]
    for delay, (low, high) in zip(delays, expected, strict=True):
        assert timedelta(seconds=low) <= delay <= timedelta(seconds=high)
    assert delays == sorted(delays)
    assert [runtime.retries.backoff.bounds(n) for n in (1, 7)] == [
        (timedelta(seconds=5), timedelta(seconds=10)),
        (timedelta(seconds=150), timedelta(seconds=300)),  # capped at backoff_max
    ]


def test_item_is_dead_lettered_after_max_attempts_and_left_alone(database: Database) -> None:
    clock = SimulatedClock(T0)
    runtime = a_runtime(database, clock, max_attempts=3)
    worker = ScriptedWorker(failing={"item-1"})
    reports = []
    for _ in range(3):
        reports.append(runtime.step(worker))
        clock.advance(timedelta(minutes=10))
    assert [(r.failed, r.dead) for r in reports] == [
        (("item-1",), ()),
        (("item-1",), ()),
        ((), ("item-1",)),
    ]
    [letter] = DeadLetterStore(database).list_open("payouts")
    assert (letter.attempts, letter.payload) == (3, {"key": "item-1"})
    clock.advance(timedelta(days=30))
    assert runtime.step(worker).skipped == ("item-1",)
    assert len(worker.performed) == 3


def test_retry_of_a_dead_letter_reopens_the_item_for_work(database: Database) -> None:
    clock = SimulatedClock(T0)
    runtime = a_runtime(database, clock, max_attempts=1)
    worker = ScriptedWorker(failing={"item-1"})
    assert runtime.step(worker).dead == ("item-1",)
    worker.failing.clear()
    letters = DeadLetterStore(database)
    assert letters.retry(letters.list_open()[0].id) is True
    assert runtime.step(worker).done == ("item-1",)
    assert len(worker.performed) == 2


# Leases between holders


def test_item_leased_by_another_holder_is_skipped(database: Database) -> None:
    # Arrange: while holder A performs the item, holder B steps the same worker.
    clock = SimulatedClock(T0)
    rival = a_runtime(database, clock, holder="holder-b")
    worker = ScriptedWorker()
    rival_reports = []
    worker.on_perform = lambda item: rival_reports.append(rival.step(worker))
    # Act
    report = a_runtime(database, clock).step(worker)
    # Assert: B skipped it and only A performed it.
    assert report.done == ("item-1",)
    assert [r.skipped for r in rival_reports] == [("item-1",)]
    assert len(worker.performed) == 1


def test_item_of_a_dead_holder_is_picked_up_once_its_lease_expires(database: Database) -> None:
    clock = SimulatedClock(T0)
    LeaseStore(database).claim("payouts:item-1", "dead-holder", timedelta(seconds=30), T0)
    runtime = a_runtime(database, clock)
    worker = ScriptedWorker()
    clock.advance(timedelta(seconds=29))
    assert runtime.step(worker).skipped == ("item-1",)
    clock.advance(timedelta(seconds=1))
    assert runtime.step(worker).done == ("item-1",)
    [lease] = LeaseStore(database).list_leases()
    assert (lease.holder, lease.token) == ("holder-a", 2)


def test_two_runtimes_never_perform_one_item_at_the_same_time(database: Database) -> None:
    keys = [f"job-{n}" for n in range(12)]
    lock = threading.Lock()
    running: Counter[str] = Counter()
    overlaps: list[str] = []
    done: set[str] = set()

    class ExclusiveWorker(ScriptedWorker):
        def pending(self, now: datetime) -> Sequence[WorkItem]:
            with lock:
                return [WorkItem(key) for key in keys if key not in done]

        def perform(self, item: WorkItem, now: datetime) -> None:
            with lock:
                running[item.key] += 1
                if running[item.key] > 1:
                    overlaps.append(item.key)
            threading.Event().wait(0.005)
            with lock:
                running[item.key] -= 1
                done.add(item.key)

    def drive(holder: str) -> None:
        runtime = a_runtime(database, SystemClock(), holder=holder)
        worker = ExclusiveWorker()
        for _ in range(100):
            if runtime.step(worker).done == () and len(done) == len(keys):
                return

    threads = [threading.Thread(target=drive, args=(h,)) for h in ("holder-a", "holder-b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert overlaps == []
    assert done == set(keys)


def test_a_long_item_keeps_its_lease_with_heartbeats(database: Database) -> None:
    # Arrange: the item takes 50 s of service time, past its 30 s TTL, beating every 20 s.
    clock = SimulatedClock(T0)
    rival = a_runtime(database, clock, holder="holder-b")
    worker = ScriptedWorker()
    rival_reports = []

    def long_item(item: WorkItem) -> None:
        for _ in range(3):
            clock.advance(timedelta(seconds=20))
            assert keep_lease() is True
            rival_reports.append(rival.step(worker))

    worker.on_perform = long_item
    # Act
    report = a_runtime(database, clock).step(worker)
    # Assert: the rival never got the item, though the first TTL ran out mid-item.
    assert report.done == ("item-1",)
    assert [r.skipped for r in rival_reports] == [("item-1",)] * 3
    assert len(worker.performed) == 1


def test_a_heartbeat_after_the_lease_was_taken_raises_lease_lost(database: Database) -> None:
    clock = SimulatedClock(T0)
    worker = ScriptedWorker()
    lost: list[LeaseLost] = []

    def stalled(item: WorkItem) -> None:
        clock.advance(timedelta(seconds=31))  # stalled past the TTL; another holder took it
        LeaseStore(database).claim("payouts:item-1", "holder-b", timedelta(seconds=30), clock.now())
        try:
            keep_lease()
        except LeaseLost as exc:
            lost.append(exc)

    worker.on_perform = stalled
    a_runtime(database, clock).step(worker)
    assert [exc.key for exc in lost] == ["payouts:item-1"]
    assert keep_lease() is False  # outside perform there is nothing to renew


def test_a_worker_may_name_its_own_lease_ttl(database: Database) -> None:
    clock = SimulatedClock(T0)
    expiries: list[datetime] = []

    @dataclass
    class SlowWorker(ScriptedWorker):
        lease_ttl: timedelta = timedelta(minutes=10)

    worker = SlowWorker()
    leases = LeaseStore(database)
    worker.on_perform = lambda item: expiries.extend(
        lease.expires_at for lease in leases.list_leases()
    )
    a_runtime(database, clock).step(worker)
    assert expiries == [T0 + timedelta(minutes=10)]


# Running forever and shutting down


def test_run_forever_returns_promptly_after_stop(database: Database) -> None:
    runtime = a_runtime(database, SystemClock())
    worker = ScriptedWorker(keys=[], interval=timedelta(hours=1))
    stop = threading.Event()
    thread = threading.Thread(target=runtime.run_forever, args=([worker], stop))
    thread.start()
    assert _wait_for(lambda: "payouts" in HeartbeatStore(database).latest())
    stop.set()
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert HeartbeatStore(database).latest()["payouts"].state == "stopped"


def test_shutdown_finishes_the_current_item_and_starts_no_other(database: Database) -> None:
    # Arrange: the first item blocks until the test has asked the runtime to stop.
    started, proceed, stop = threading.Event(), threading.Event(), threading.Event()

    def block(item: WorkItem) -> None:
        started.set()
        proceed.wait(timeout=10)

    runtime = a_runtime(database, SystemClock())
    worker = ScriptedWorker(keys=["first", "second"], on_perform=block)
    thread = threading.Thread(target=runtime.run_forever, args=([worker], stop))
    thread.start()
    assert started.wait(timeout=10)
    # Act
    stop.set()
    proceed.set()
    thread.join(timeout=5)
    # Assert
    assert not thread.is_alive()
    assert [key for key, _ in worker.performed] == ["first"]
    assert DeadLetterStore(database).attempts("payouts", "first") is None
    assert not any(
        lease.is_live(SystemClock().now()) for lease in LeaseStore(database).list_leases()
    )
    assert HeartbeatStore(database).latest()["payouts"].state == "stopped"


def test_stop_signals_set_the_event_and_can_be_restored() -> None:
    stop = threading.Event()
    before = signal.getsignal(signal.SIGTERM)
    restore = install_stop_signals(stop)
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.wait(timeout=5)
    finally:
        restore()
    assert signal.getsignal(signal.SIGTERM) == before


def test_stop_signals_refuse_a_thread_other_than_main() -> None:
    errors: list[BaseException] = []

    def install() -> None:
        try:
            install_stop_signals(threading.Event())
        except SignalsOutsideMainThreadError as exc:
            errors.append(exc)

    thread = threading.Thread(target=install, name="not-main")
    thread.start()
    thread.join()
    assert [str(e) for e in errors] == ["signal handlers need the main thread: thread=not-main"]


# Settings and health


def test_runtime_from_settings_uses_the_worker_settings(database: Database) -> None:
    settings = load_settings(
        worker_max_attempts=2, worker_backoff_base_seconds=4, worker_backoff_max_seconds=8
    )
    runtime = Runtime.from_settings(settings, database, SimulatedClock(T0), holder="h")
    assert (runtime.holder, runtime.retries.max_attempts) == ("h", 2)
    assert runtime.retries.backoff.bounds(5) == (timedelta(seconds=4), timedelta(seconds=8))


def test_health_is_ok_while_critical_workers_beat(database: Database) -> None:
    clock = SimulatedClock(T0)
    runtime = a_runtime(database, clock, max_attempts=1)
    worker = ScriptedWorker(failing={"item-1"})
    runtime.step(worker)
    clock.advance(timedelta(seconds=20))
    health = worker_health(database, clock.now(), [worker], timedelta(seconds=30))
    assert health.ok is True
    [report] = health.workers
    assert (report.name, report.state, report.stale, report.open_dead_letters) == (
        "payouts",
        "failing",
        False,
        1,
    )
    assert (report.holder, report.last_beat_at) == ("holder-a", T0)


def test_health_fails_when_a_critical_worker_is_stale_or_missing(database: Database) -> None:
    clock = SimulatedClock(T0)
    a_runtime(database, clock).step(ScriptedWorker(name="cleanup", critical=False))
    clock.advance(timedelta(minutes=5))
    a_runtime(database, clock).step(ScriptedWorker(name="projector"))
    workers = [
        ScriptedWorker(name="cleanup", critical=False),
        ScriptedWorker(name="projector"),
        ScriptedWorker(name="never-started"),
    ]
    health = worker_health(database, clock.now(), workers, timedelta(seconds=30))
    assert [(w.name, w.stale) for w in health.workers] == [
        ("cleanup", True),
        ("projector", False),
        ("never-started", True),
    ]
    assert health.ok is False
    assert worker_health(database, clock.now(), workers[:2], timedelta(seconds=30)).ok is True


def test_health_prefers_a_running_holder_over_one_that_stopped(database: Database) -> None:
    # Two instances of one worker: the newest beat says "stopped", an older one is live.
    clock = SimulatedClock(T0)
    worker = ScriptedWorker(keys=[])
    a_runtime(database, clock, holder="holder-a").step(worker)
    clock.advance(timedelta(seconds=5))
    HeartbeatStore(database).beat("payouts", "holder-b", clock.now(), "stopped", {})
    health = worker_health(database, clock.now(), [worker], timedelta(seconds=30))
    assert health.ok is True
    assert [(w.holder, w.state, w.stale) for w in health.workers] == [("holder-a", "idle", False)]


def _wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    ready = threading.Event()
    for _ in range(int(timeout / 0.02)):
        if condition():
            return True
        ready.wait(0.02)
    return condition()


# Stuck leases


def test_a_live_lease_whose_holder_stopped_beating_is_stuck_and_released(
    database: Database,
) -> None:
    # Arrange: a holder took a long lease, beat once, then fell silent (died or hung).
    clock = SimulatedClock(T0)
    leases = LeaseStore(database)
    HeartbeatStore(database).beat("payouts", "silent", T0, "running", {})
    held = leases.claim("payouts:item-9", "silent", timedelta(hours=2), T0)
    assert held is not None
    runtime = a_runtime(database, clock)  # stale after 900 s by default
    early = T0 + timedelta(seconds=899)
    late = T0 + timedelta(seconds=901)

    # Act / Assert: not stuck while the holder's beat is fresh.
    assert stuck_leases(database, early, timedelta(seconds=900)) == []
    clock.set(late)
    assert [lease.key for lease in stuck_leases(database, late, timedelta(seconds=900))] == [
        "payouts:item-9"
    ]
    with capture_logs() as logs:
        runtime.step(ScriptedWorker(keys=[]))

    # The step released it: another holder can take the item, with a higher fencing token.
    assert [log["lease"] for log in logs if log["event"] == "stuck lease released"] == [
        "payouts:item-9"
    ]
    taken = leases.claim("payouts:item-9", "holder-b", timedelta(seconds=30), late)
    assert taken is not None
    assert taken.token == held.token + 1
    assert not leases.renew(held, timedelta(hours=1), late)  # the silent holder lost it


def test_a_long_item_that_keeps_its_lease_beats_and_is_never_stuck(database: Database) -> None:
    clock = SimulatedClock(T0)
    runtime = a_runtime(database, clock)
    stuck_seen: list[list[str]] = []

    def long_item(_: WorkItem) -> None:
        for _ in range(4):  # twenty minutes of work, renewing every five
            clock.advance(timedelta(minutes=5))
            keep_lease()
            found = stuck_leases(database, clock.now(), timedelta(seconds=900))
            stuck_seen.append([lease.key for lease in found])

    report = runtime.step(ScriptedWorker(keys=["long"], on_perform=long_item))

    assert report.done == ("long",)
    assert stuck_seen == [[], [], [], []]
    assert HeartbeatStore(database).latest()["payouts"].beat_at == T0 + timedelta(minutes=20)
