"""Every worker this build has, by name, and the two ways to run them.

``clash serve`` runs all of them in the API process (:func:`in_process_workers`);
``clash worker NAME`` runs one alone in the foreground until SIGTERM (:func:`run_alone`).
Later modules add their workers to :func:`build_workers`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import structlog

from adapters.bootstrap import Container
from adapters.identity_store import SqlIdentityStore
from adapters.market_replay import ReplayMarketClock
from projections.catalog import runners
from workers.alerts import AlertWorker
from workers.arena import ArenaWorker
from workers.auditions import AuditionWorker
from workers.backtests import BacktestWorker
from workers.backups import BackupWorker
from workers.identity_janitor import IdentityJanitor
from workers.ingestion import Ingestion
from workers.market_replay import MarketReplay
from workers.marks import MarkWorker
from workers.projector import Projector
from workers.races import RaceWorker
from workers.reconciliation import ReconciliationWorker
from workers.runtime import Runtime, Worker, install_stop_signals
from workers.trading import TradingWorker

log = structlog.get_logger("workers.catalog")

WorkerFactory = Callable[[Container], Worker]


def _market_replay(container: Container) -> Worker:
    clock = container.market_clock
    return MarketReplay(
        store=container.replay,
        market=container.market,
        market_clock=clock if isinstance(clock, ReplayMarketClock) else None,
        speed=container.settings.replay_speed,
        on_published=container.features.on_candles,
    )


FACTORIES: dict[str, WorkerFactory] = {
    "identity-janitor": lambda c: IdentityJanitor(SqlIdentityStore(c.database)),
    "market-replay": _market_replay,
    "ingestion": Ingestion,
    "projections": lambda c: Projector(runners(c)),
    "marks": MarkWorker,
    "trading": TradingWorker,
    "backtests": BacktestWorker,
    "auditions": AuditionWorker,
    "arena": ArenaWorker,
    "races": RaceWorker,
    "reconciliation": ReconciliationWorker,
    "alerts": AlertWorker,
    "backups": BackupWorker,
}
_DRIVERS = [
    "projections",
    "marks",
    "trading",
    "backtests",
    "auditions",
    "arena",
    "races",
    "reconciliation",
    "alerts",
    "backups",
]
MODE_WORKERS = {
    "replay": ["identity-janitor", "market-replay", *_DRIVERS],
    "live": ["identity-janitor", "ingestion", *_DRIVERS],
}


class UnknownWorker(LookupError):
    """Raised when ``clash worker NAME`` names no worker."""


def worker_names() -> list[str]:
    """Return the names of every worker, sorted."""
    return sorted(FACTORIES)


def build_workers(container: Container, names: list[str] | None = None) -> list[Worker]:
    """Build the named workers (default: every worker of the market mode)."""
    chosen = MODE_WORKERS[container.settings.market_mode] if names is None else names
    unknown = [n for n in chosen if n not in FACTORIES]
    if unknown:
        raise UnknownWorker(
            f"unknown worker: names={','.join(unknown)} known={','.join(FACTORIES)}"
        )
    return [FACTORIES[name](container) for name in chosen]


def runtime_for(container: Container) -> Runtime:
    """Build this process's worker runtime on the service clock."""
    return Runtime.from_settings(container.settings, container.database, container.service_clock)


class BackgroundWorkers:
    """Every worker running on threads beside the API (``clash serve``)."""

    def __init__(self, runtime: Runtime, workers: list[Worker], grace_seconds: float) -> None:
        self.runtime = runtime
        self.workers = workers
        self.grace_seconds = grace_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the workers' loops."""
        self._thread = threading.Thread(
            target=self.runtime.run_forever,
            args=(self.workers, self._stop),
            name="clash-workers",
            daemon=True,
        )
        self._thread.start()
        log.info("workers_started", workers=[w.name for w in self.workers])

    def stop(self) -> None:
        """Ask every loop to stop and wait for them (bounded by the shutdown grace)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.grace_seconds + 5)
        log.info("workers_stopped")


def in_process_workers(container: Container) -> list[BackgroundWorkers]:
    """Return every worker wrapped to run inside the API process."""
    grace = container.settings.worker_shutdown_grace_seconds
    return [BackgroundWorkers(runtime_for(container), build_workers(container), grace)]


def run_alone(container: Container, name: str) -> None:
    """Run one worker in the foreground until SIGTERM or SIGINT."""
    workers = build_workers(container, [name])
    stop = threading.Event()
    restore = install_stop_signals(stop)
    try:
        log.info("worker_started", worker=name)
        runtime_for(container).run_forever(workers, stop)
    finally:
        restore()
        log.info("worker_stopped", worker=name)
