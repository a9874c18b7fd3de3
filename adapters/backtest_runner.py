"""Running one backtest job: start it, replay it, write its outcome exactly once.

The ``backtests`` worker calls :meth:`BacktestRunner.run` for one job under the runtime's
lease. A run:

1. starts (queued) or resumes (running, its previous holder died) the job, taking the next
   attempt number, within the concurrency limits (``BacktestStore.begin``); a job whose
   cancel was asked ends ``cancelled`` without replaying;
2. loads the pinned version's spec, checks the clone is still eligible and the entitlement
   still covers it (the same ``guard``, stage ``backtest``), loads the historical feed from
   market memory, and replays it on an isolated in-memory ledger
   (``domain.backtesting.replay``) through a metered router: a model strategy whose clone
   (or the whole service) spent its daily model budget fails with ``budget_exhausted``
   before any call, and every model call the replay made is counted in the model-usage
   read model when it ends, however it ends (``adapters.model_meter``); every
   ``CLASH_BACKTEST_CANCEL_POLL_SECONDS`` of service
   time the replay's ``cancelled`` callback reads the job row (a DELETE stops it) and calls
   ``heartbeat`` (the worker's lease renewal, which raises :class:`RunSuperseded` once
   another holder has the job: this attempt then stops and writes nothing);
3. writes the summary, metrics and artifacts and marks the job succeeded in one
   transaction, by this attempt only: a stale holder or a second finisher changes nothing.

Refusals that no retry can cure (the clone retired, the version gone, the entitlement
withdrawn, no market data in the window) fail the job at once. Any other error is noted
on the job and re-raised: the runtime retries the item with backoff, then dead-letters it,
and the worker then marks the job failed with that error.

Replays are deterministic, so a job resumed after a crash produces the same result.
Nothing touches the production prop ledger: the replay builds its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from uuid import UUID

from adapters.backtest_feed import MissingMarketData, load_feed
from adapters.backtest_store import Outcome
from adapters.model_meter import Spender
from domain.backtesting.chart import render_chart
from domain.backtesting.jobs import Artifact, ConcurrencyLimits, Job, JobStatus
from domain.backtesting.replay import (
    ReplayCancelled,
    ReplayConfig,
    ReplayResult,
    replay,
    trade_document,
)
from domain.clones.errors import CloneNotFound, CloneRetired, VersionNotFound
from domain.clones.tiers import EntitlementError, Stage, guard
from domain.trading.decisions import Router
from domain.trading.errors import BudgetExhausted
from domain.trading.spec import StrategySpec, canonical_json

if TYPE_CHECKING:
    from adapters.bootstrap import Container

REFUSALS = (
    CloneNotFound,
    CloneRetired,
    VersionNotFound,
    EntitlementError,
    MissingMarketData,
    BudgetExhausted,
)
JSON = "application/json"


class RunSuperseded(Exception):
    """Raised by a heartbeat when another holder has taken the job over: stop, write nothing."""


@dataclass
class BacktestRunner:
    """Runs backtest jobs on the container's stores."""

    container: Container

    def run(
        self, job_id: UUID, limits: ConcurrencyLimits, *, heartbeat: Callable[[], object]
    ) -> JobStatus | None:
        """Run the job once; return the status this attempt left it in (None: not started)."""
        store = self.container.backtests.store
        attempt = store.begin(job_id, self._now(), limits)
        job = store.get(job_id)
        if attempt is None or job is None:
            return None
        if job.cancel_requested_at is not None:
            return self._end(job, attempt, JobStatus.CANCELLED, "cancelled before it ran")
        try:
            result = self._replay(job, heartbeat)
        except RunSuperseded:
            return None
        except ReplayCancelled:
            return self._end(job, attempt, JobStatus.CANCELLED, "cancelled while running")
        except REFUSALS as exc:
            return self._end(job, attempt, JobStatus.FAILED, _error(exc))
        except Exception as exc:
            store.note_error(job_id, attempt, _error(exc))
            raise
        return self._succeed(job, attempt, result)

    def _replay(self, job: Job, heartbeat: Callable[[], object]) -> ReplayResult:
        container = self.container
        container.clones.require_eligible(job.clone_id)
        spec = container.clones.version(job.version_id).spec
        grant = container.clones.effective_grant(job.clone_id)
        guard(spec.topology, stage=Stage.BACKTEST, grant=grant, table=container.tiers)
        start, end = job.window.start, job.window.end
        feed = load_feed(container, spec, start=start, end=end)
        heartbeat()
        config = ReplayConfig(start, end, container.settings.backtest_collateral_usdc)
        poll = _Poll(self, job.job_id, heartbeat)
        return self._metered(
            spec,
            Spender.of(job.user_id, job.clone_id, grant),
            lambda router: replay(spec, feed, config, router=router, cancelled=poll),
        )

    def _metered(
        self, spec: StrategySpec, spender: Spender, run: Callable[[Router], ReplayResult]
    ) -> ReplayResult:
        """Run through a metered router, refused when a model budget is spent; count the
        calls made however the run ends."""
        meter = self.container.model_meter
        spent = meter.stop_for(spender) if spec.model is not None else None
        if spent is not None:
            raise BudgetExhausted(spent.facts())
        router = meter.metered(self.container.model_router)
        try:
            return run(router)
        finally:
            meter.record(spender, router.usage)

    def _succeed(self, job: Job, attempt: int, result: ReplayResult) -> JobStatus | None:
        now = self._now()
        metrics = result.metrics.to_document()
        outcome = Outcome(result.summary_document(), metrics, result.input_hash, result.result_hash)
        artifacts = self._artifacts(job, result, now)
        done = self.container.backtests.store.succeed(job.job_id, attempt, now, outcome, artifacts)
        return JobStatus.SUCCEEDED if done else None

    def _artifacts(self, job: Job, result: ReplayResult, now: datetime) -> list[Artifact]:
        retention = timedelta(days=self.container.settings.backtest_artifact_retention_days)
        trades = {
            "trades": [trade_document(trade) for trade in result.trades],
            "fills": list(result.fills),
        }
        curve = [[at.isoformat(), str(equity)] for at, equity in result.curve]
        title = (
            f"Backtest of version {job.version_number}: {job.window.start:%Y-%m-%d %H:%M}"
            f" to {job.window.end:%Y-%m-%d %H:%M} UTC"
        )
        return [
            _json("summary", result.summary_document()),
            _json("metrics", result.metrics.to_document()),
            _json("trades", trades),
            _json("equity", curve),
            Artifact("chart", "image/svg+xml", render_chart(result.curve, title=title), None),
            Artifact("decisions", JSON, canonical_json(list(result.decisions)), now + retention),
        ]

    def _end(self, job: Job, attempt: int, status: JobStatus, error: str) -> JobStatus | None:
        ended = self.container.backtests.store.end(job.job_id, attempt, status, self._now(), error)
        return status if ended else None

    def _now(self) -> datetime:
        return self.container.service_clock.now()

    def cancel_requested(self, job_id: UUID) -> bool:
        """Whether the job was cancelled (or taken over) while it ran."""
        return self.container.backtests.store.cancel_requested(job_id)

    @property
    def poll_every(self) -> timedelta:
        """How much service time passes between two reads of the job row."""
        return timedelta(seconds=self.container.settings.backtest_cancel_poll_seconds)


class _Poll:
    """The replay's ``cancelled`` callback: at most one row read and heartbeat per interval."""

    def __init__(
        self, runner: BacktestRunner, job_id: UUID, heartbeat: Callable[[], object]
    ) -> None:
        self.runner = runner
        self.job_id = job_id
        self.heartbeat = heartbeat
        self.last: datetime | None = None

    def __call__(self) -> bool:
        now = self.runner.container.service_clock.now()
        if self.last is not None and now - self.last < self.runner.poll_every:
            return False
        self.last = now
        self.heartbeat()
        return self.runner.cancel_requested(self.job_id)


def _json(kind: str, document: object) -> Artifact:
    return Artifact(kind, JSON, canonical_json(document), None)


def _error(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    text = f"{type(exc).__name__}: {exc}"
    return (f"{reason}: {text}" if isinstance(reason, str) else text)[:500]
