"""The shared worker runtime: every background worker is a step function run by this loop.

A worker says *what* needs doing (:meth:`Worker.pending`) and *how* to do one item
(:meth:`Worker.perform`). The runtime owns the rest, once for all workers: a heartbeat per
step (``running``, then ``idle`` or ``failing``; ``stopped`` on the way out); a lease per
item (``"<worker>:<item key>"``) so two holders never perform one item at once and a killed
holder's item is picked up after expiry; retries with backoff, then a dead letter
(:mod:`workers.backoff`); graceful shutdown after the current item. Delivery is at least
once, so ``perform`` must be idempotent and finish within the lease TTL, or extend it:
a long item calls :func:`keep_lease` from time to time (a lease heartbeat), which renews
the item's lease and raises :class:`LeaseLost` once another holder has taken it. A worker
may name its own TTL (a ``lease_ttl`` attribute); otherwise the runtime's applies. Once a
minute each runtime releases stuck leases (live, but their holder stopped beating:
:mod:`adapters.stuck_leases`). A step
never raises (``KeyboardInterrupt``/``SystemExit`` aside): failures are logged and recorded.
Time comes only from the injected clock (the service clock in production), so
:mod:`workers.driver` can step every worker on a simulated clock.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from types import FrameType
from typing import Any, Literal, Protocol

import structlog

from adapters.database import Database
from adapters.dead_letters import DeadLetterStore, JsonValue
from adapters.heartbeats import HeartbeatState, HeartbeatStore
from adapters.leases import Lease, LeaseStore
from adapters.settings import Settings
from adapters.stuck_leases import release_stuck_leases
from domain.clock import Clock
from workers.backoff import Backoff, RetryPolicy

_log: structlog.typing.FilteringBoundLogger = structlog.get_logger(__name__)

Outcome = Literal["done", "failed", "dead", "skipped"]
_HOUSEKEEPING_EVERY = timedelta(hours=1)
_STUCK_CHECK_EVERY = timedelta(minutes=1)
_SUMMARY_LIMIT = 500


class WorkerRuntimeError(Exception):
    """Raised when the worker runtime is used against its rules; subclasses name the rule."""


class LeaseLost(WorkerRuntimeError):
    """Raised by :func:`keep_lease` when the item's lease expired and another holder took it."""

    def __init__(self, key: str) -> None:
        super().__init__(f"lease taken by another holder: key={key}")
        self.key = key


class SignalsOutsideMainThreadError(WorkerRuntimeError):
    """Raised when stop signals are installed from a thread other than the main thread."""

    def __init__(self, thread: str) -> None:
        super().__init__(f"signal handlers need the main thread: thread={thread}")


@dataclass(frozen=True)
class WorkItem:
    """One unit of work: a stable key (the lease and retry identity) and a JSON payload."""

    key: str
    payload: Mapping[str, JsonValue] = field(default_factory=dict)


class Worker(Protocol):
    """A background worker: what needs doing now, and how to do one item."""

    @property
    def name(self) -> str: ...

    @property
    def interval(self) -> timedelta: ...

    @property
    def critical(self) -> bool: ...

    def pending(self, now: datetime) -> Sequence[WorkItem]:
        """Return the items that need doing at ``now``."""

    def perform(self, item: WorkItem, now: datetime) -> None:
        """Do one item idempotently; raise to report a failure."""


@dataclass(frozen=True)
class StepReport:
    """What one step of one worker did, item keys grouped by outcome."""

    worker: str
    started_at: datetime
    state: HeartbeatState
    done: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    dead: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    error: str | None = None


@dataclass
class _HeldLease:
    """The lease of the item being performed, renewable from inside ``perform``."""

    store: LeaseStore
    lease: Lease
    ttl: timedelta
    clock: Clock
    beat: Callable[[], None]

    def renew(self) -> None:
        if not self.store.renew(self.lease, self.ttl, self.clock.now()):
            raise LeaseLost(self.lease.key)
        self.beat()  # a long item that renews is alive: its lease is not stuck


_held: ContextVar[_HeldLease | None] = ContextVar("held_lease", default=None)


def keep_lease() -> bool:
    """Extend the lease of the item being performed by its TTL, and beat (a lease heartbeat).

    Return False when called outside ``perform`` (nothing to renew); raise
    :class:`LeaseLost` when another holder has taken the lease, so the caller stops before
    its late writes collide with the new holder's.
    """
    held = _held.get()
    if held is None:
        return False
    held.renew()
    return True


class Runtime:
    """Runs worker steps for one holder (one process) against one database."""

    def __init__(
        self,
        database: Database,
        clock: Clock,
        *,
        holder: str | None = None,
        lease_ttl: timedelta = timedelta(seconds=30),
        max_attempts: int = 5,
        backoff_base: timedelta = timedelta(seconds=1),
        backoff_max: timedelta = timedelta(seconds=300),
        shutdown_grace: timedelta = timedelta(seconds=10),
        retention: timedelta = timedelta(days=1),
        stale_after: timedelta = timedelta(seconds=900),
        rng: random.Random | None = None,
    ) -> None:
        self.clock = clock
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._letters = DeadLetterStore(database)
        backoff = Backoff(backoff_base, backoff_max, rng)
        self.retries = RetryPolicy(self._letters, max_attempts=max_attempts, backoff=backoff)
        self._lease_ttl = lease_ttl
        self._shutdown_grace = shutdown_grace
        self._retention = retention
        self._stale_after = stale_after
        self._database = database
        self._leases = LeaseStore(database)
        self._heartbeats = HeartbeatStore(database)
        self._tallies: dict[str, Counter[str]] = {}
        self._last_errors: dict[str, str | None] = {}
        self._lock = threading.Lock()
        self._last_housekeeping: datetime | None = None
        self._last_stuck_check: datetime | None = None

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        database: Database,
        clock: Clock,
        *,
        holder: str | None = None,
        rng: random.Random | None = None,
    ) -> Runtime:
        """Build a runtime from the ``CLASH_WORKER_*`` settings."""
        return cls(
            database,
            clock,
            holder=holder,
            lease_ttl=timedelta(seconds=settings.worker_lease_ttl_seconds),
            max_attempts=settings.worker_max_attempts,
            backoff_base=timedelta(seconds=settings.worker_backoff_base_seconds),
            backoff_max=timedelta(seconds=settings.worker_backoff_max_seconds),
            shutdown_grace=timedelta(seconds=settings.worker_shutdown_grace_seconds),
            stale_after=timedelta(seconds=settings.worker_stale_after_seconds),
            rng=rng,
        )

    def step(self, worker: Worker, stop: threading.Event | None = None) -> StepReport:
        """Run one step of ``worker`` now; once ``stop`` is set, stop between items."""
        started = self.clock.now()
        try:
            self._beat(worker.name, started, "running")
            self._housekeep(started)
            self._release_stuck(started)
            report = self._work(worker, started, stop)
        except Exception as exc:
            _log.exception("worker step failed", worker=worker.name, holder=self.holder)
            report = StepReport(worker.name, started, "failing", error=_summary(exc))
        self._finish(report)
        return report

    def run_forever(self, workers: Sequence[Worker], stop: threading.Event) -> None:
        """Run each worker on its interval, in its own thread, until ``stop`` is set.

        Return once every loop has finished its current item and marked itself stopped, or
        after the shutdown grace (a stuck item is left to its lease's expiry).
        """
        remaining = [len(workers)]
        finished = threading.Condition()

        def loop(worker: Worker) -> None:
            try:
                self._loop(worker, stop)
            finally:
                with finished:
                    remaining[0] -= 1
                    finished.notify_all()

        for worker in workers:
            name = f"worker-{worker.name}"
            threading.Thread(target=loop, args=(worker,), name=name, daemon=True).start()
        _log.info("workers started", workers=[w.name for w in workers], holder=self.holder)
        stop.wait()
        with finished:
            done = finished.wait_for(
                lambda: remaining[0] == 0, self._shutdown_grace.total_seconds()
            )
        _log.info("workers stopped", holder=self.holder, still_busy=0 if done else remaining[0])

    def _loop(self, worker: Worker, stop: threading.Event) -> None:
        while not stop.is_set():
            self.step(worker, stop)
            stop.wait(worker.interval.total_seconds())
        self._beat_safely(worker.name, "stopped")

    def _work(self, worker: Worker, started: datetime, stop: threading.Event | None) -> StepReport:
        outcomes: dict[Outcome, list[str]] = {"done": [], "failed": [], "dead": [], "skipped": []}
        last_error: str | None = None
        for item in worker.pending(started):
            if stop is not None and stop.is_set():
                break
            outcome, error = self._attempt(worker, item)
            outcomes[outcome].append(item.key)
            last_error = error or last_error
        return StepReport(
            worker=worker.name,
            started_at=started,
            state="failing" if outcomes["failed"] or outcomes["dead"] else "idle",
            done=tuple(outcomes["done"]),
            failed=tuple(outcomes["failed"]),
            dead=tuple(outcomes["dead"]),
            skipped=tuple(outcomes["skipped"]),
            error=last_error,
        )

    def _attempt(self, worker: Worker, item: WorkItem) -> tuple[Outcome, str | None]:
        now = self.clock.now()
        if not self._letters.is_due(worker.name, item.key, now):
            return "skipped", None
        ttl = self._ttl_of(worker)
        lease = self._leases.claim(f"{worker.name}:{item.key}", self.holder, ttl, now)
        if lease is None:
            return "skipped", None
        try:
            # Checked again under the lease: another holder may have just failed or buried it.
            if not self._letters.is_due(worker.name, item.key, now):
                return "skipped", None
            beat = partial(self._beat_safely, worker.name, "running")
            with self._holding(_HeldLease(self._leases, lease, ttl, self.clock, beat)):
                return self._perform(worker, item, now)
        finally:
            self._leases.release(lease)

    def _ttl_of(self, worker: Worker) -> timedelta:
        ttl = getattr(worker, "lease_ttl", None)
        return ttl if isinstance(ttl, timedelta) else self._lease_ttl

    @staticmethod
    @contextmanager
    def _holding(held: _HeldLease) -> Iterator[None]:
        token = _held.set(held)
        try:
            yield
        finally:
            _held.reset(token)

    def _perform(self, worker: Worker, item: WorkItem, now: datetime) -> tuple[Outcome, str | None]:
        try:
            worker.perform(item, now)
        except Exception as exc:
            _log.exception("work item failed", worker=worker.name, item=item.key)
            failed_at = self.clock.now()
            dead = self.retries.record_failure(worker.name, item.key, item.payload, exc, failed_at)
            return ("dead" if dead else "failed"), _summary(exc)
        self._letters.clear(worker.name, item.key)
        return "done", None

    def _finish(self, report: StepReport) -> None:
        with self._lock:
            tally = self._tallies.setdefault(report.worker, Counter())
            tally.update(done=len(report.done), failed=len(report.failed), dead=len(report.dead))
            self._last_errors[report.worker] = report.error or self._last_errors.get(report.worker)
        self._beat_safely(report.worker, report.state)

    def _beat_safely(self, worker: str, state: HeartbeatState) -> None:
        try:
            self._beat(worker, self.clock.now(), state)
        except Exception:
            _log.exception("could not record the worker heartbeat", worker=worker, state=state)

    def _beat(self, worker: str, now: datetime, state: HeartbeatState) -> None:
        with self._lock:
            counts = self._tallies.get(worker, Counter())
            detail: dict[str, Any] = {key: counts[key] for key in ("done", "failed", "dead")}
            detail["last_error"] = self._last_errors.get(worker)
        self._heartbeats.beat(worker, self.holder, now, state, detail)

    def _release_stuck(self, now: datetime) -> None:
        with self._lock:
            last = self._last_stuck_check
            if last is not None and now - last < _STUCK_CHECK_EVERY:
                return
            self._last_stuck_check = now
        for lease in release_stuck_leases(self._database, now, self._stale_after):
            _log.warning("stuck lease released", lease=lease.key, holder=lease.holder)

    def _housekeep(self, now: datetime) -> None:
        with self._lock:
            last = self._last_housekeeping
            if last is not None and now - last < _HOUSEKEEPING_EVERY:
                return
            self._last_housekeeping = now
        self._leases.prune(now - self._retention)
        self._heartbeats.prune(now - self._retention)


def install_stop_signals(stop: threading.Event) -> Callable[[], None]:
    """Make SIGTERM and SIGINT set ``stop``; return a function restoring the old handlers."""
    if threading.current_thread() is not threading.main_thread():
        raise SignalsOutsideMainThreadError(threading.current_thread().name)
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        # Set the event from another thread: the interrupted main thread may hold the
        # event's own lock, and taking it again here would deadlock.
        threading.Thread(target=stop.set, name="stop-signal", daemon=True).start()

    for sig in previous:
        signal.signal(sig, on_signal)

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)

    return restore


def _summary(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:_SUMMARY_LIMIT]
