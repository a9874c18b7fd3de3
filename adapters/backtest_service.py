"""The backtest service: preflight, acceptance and cancellation of runs, for every route.

Where the backtesting module meets the others, each through its API: the clones module
gives the clone (moderation) and the pinned version's compiled spec, the entitlement port
the clone's tier, checked by the same ``guard`` as save, dry run and runtime (stage
``backtest``: no grant, no backtest), the market clock the latest market time. The
estimate and the caps are pure (``domain.backtesting.estimate``); the quota and the job
are one transaction of the store.

Both start routes (``POST /v1/backtests`` and the clone-scoped
``POST /v1/clones/{id}/decision-backtest``) call :meth:`BacktestService.start`, so they
cannot drift. Order of refusals: moderation, version, entitlement, window, caps, quota
(a run that could never fit is refused before it is measured against the day's quota).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID, uuid4

from adapters.backtest_artifacts import ArtifactInfo, BacktestArtifacts
from adapters.backtest_store import BacktestStore
from domain.backtesting.errors import (
    BacktestFinished,
    BacktestNotFound,
    CapExceeded,
    CapViolation,
    QuotaExceeded,
    ResultsNotReady,
)
from domain.backtesting.estimate import (
    Estimate,
    ReplayWindow,
    check_caps,
    custom_window,
    estimate,
    last_6h,
)
from domain.backtesting.jobs import Job, JobStatus, NewJob, quota_day, quota_resets_at
from domain.clock import Clock
from domain.clones.application import CloneService
from domain.clones.clone import Clone
from domain.clones.errors import CloneRetired, VersionNotFound
from domain.clones.tiers import Stage, TierLimits, TierTable, guard
from domain.clones.version import StrategyVersion


@dataclass(frozen=True)
class WindowRequest:
    """The window asked for: ``last_6h``, or a custom ``[start, end)``."""

    shape: str
    start: datetime | None = None
    end: datetime | None = None


@dataclass(frozen=True)
class Quota:
    """The clone's daily quota as it stands: limit, runs accepted today, when it resets."""

    daily_runs: int
    used: int
    resets_at: datetime

    @property
    def remaining(self) -> int:
        """Runs still allowed today."""
        return max(0, self.daily_runs - self.used)


@dataclass(frozen=True)
class Preflight:
    """What a run would be: its tier, window and estimate, the caps it breaks, the quota."""

    clone_id: UUID
    version: StrategyVersion
    tier: TierLimits
    window: ReplayWindow
    estimate: Estimate
    violations: tuple[CapViolation, ...]
    quota: Quota

    @property
    def fits(self) -> bool:
        """Whether the run fits every per-run cap (the quota is reported beside it)."""
        return not self.violations


@dataclass
class BacktestService:
    """Preflights, accepts, reads and cancels backtest runs."""

    clones: CloneService
    tiers: TierTable
    store: BacktestStore
    artifacts: BacktestArtifacts
    market_clock: Clock
    service_clock: Clock

    def preflight(
        self, clone: Clone, version_number: int | None, window: WindowRequest
    ) -> Preflight:
        """Estimate a run of the clone's version over ``window``; no quota is used."""
        if clone.is_retired:
            raise CloneRetired(f"clone={clone.id} is retired by moderation")
        version = self._version(clone, version_number)
        grant = self.clones.effective_grant(clone.id)
        tier = guard(version.spec.topology, stage=Stage.BACKTEST, grant=grant, table=self.tiers)
        replay_window = self._window(version, window)
        found = estimate(version.spec, replay_window)
        return Preflight(
            clone_id=clone.id,
            version=version,
            tier=tier,
            window=replay_window,
            estimate=found,
            violations=tuple(check_caps(found, tier)),
            quota=self.quota(clone.owner, clone.id, tier),
        )

    def start(
        self,
        clone: Clone,
        version_number: int | None,
        window: WindowRequest,
        *,
        reveal_costs: bool,
    ) -> Job:
        """Accept a run: within every cap, count it on today's quota and queue its job."""
        checked = self.preflight(clone, version_number, window)
        if checked.violations:
            raise CapExceeded(
                checked.tier.name, checked.violations, checked.estimate, reveal_costs=reveal_costs
            )
        now = self.service_clock.now()
        job = NewJob(
            job_id=uuid4(),
            user_id=clone.owner,
            clone_id=clone.id,
            version_id=checked.version.id,
            version_number=checked.version.number,
            tier=checked.tier.name,
            window=checked.window,
            estimate=checked.estimate,
            created_at=now,
        )
        limit = checked.tier.backtest_daily_runs
        if not self.store.accept(job, daily_limit=limit):
            raise QuotaExceeded(checked.tier.name, limit, quota_resets_at(now), now)
        return self._owned(clone.owner, job.job_id)

    def quota(self, user_id: str, clone_id: UUID, tier: TierLimits) -> Quota:
        """The clone's quota today (service clock, UTC day)."""
        now = self.service_clock.now()
        used = self.store.usage(user_id, clone_id, quota_day(now).isoformat())
        return Quota(tier.backtest_daily_runs, used, quota_resets_at(now))

    def job(self, user_id: str, job_id: UUID) -> Job:
        """The caller's job (another user's answers BacktestNotFound)."""
        return self._owned(user_id, job_id)

    def artifacts_of(self, job: Job) -> list[ArtifactInfo]:
        """The job's artifact rows (none until it succeeded)."""
        return self.artifacts.of_job(job.job_id) if job.status is JobStatus.SUCCEEDED else []

    def chart(self, user_id: str, job_id: UUID) -> str:
        """The SVG chart of the caller's succeeded run (ResultsNotReady before that)."""
        job = self._owned(user_id, job_id)
        content = self.artifacts.content(job_id, "chart")
        if job.status is not JobStatus.SUCCEEDED or content is None:
            raise ResultsNotReady(f"backtest={job_id} status={job.status}")
        return content

    def cancel(self, user_id: str, job_id: UUID) -> Job:
        """Cancel a queued job at once; ask the worker to stop a running one.

        Cancelling a cancelled job answers it again; one that succeeded, failed or expired
        cannot be cancelled (BacktestFinished).
        """
        job = self._owned(user_id, job_id)
        if job.status is JobStatus.CANCELLED:
            return job
        if job.finished:
            raise BacktestFinished(f"backtest={job_id} status={job.status}")
        cancelled = self.store.cancel(job_id, self.service_clock.now())
        return cancelled if cancelled is not None else job

    def _owned(self, user_id: str, job_id: UUID) -> Job:
        job = self.store.get(job_id)
        if job is None or job.user_id != user_id:
            raise BacktestNotFound(f"backtest={job_id}")
        return job

    def _version(self, clone: Clone, number: int | None) -> StrategyVersion:
        chosen = len(clone.versions) if number is None else number
        if chosen < 1:
            raise VersionNotFound(f"clone={clone.id} has no published version")
        return self.clones.version_of(clone.id, chosen)

    def _window(self, version: StrategyVersion, window: WindowRequest) -> ReplayWindow:
        market_now = self.market_clock.now()
        if window.start is None or window.end is None:
            return last_6h(version.spec, market_now)
        return custom_window(version.spec, window.start, window.end, market_now)
