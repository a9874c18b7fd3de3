"""Backtest API models: the start/preflight bodies, jobs, estimates, history and comparison.

Cost figures (decision calls, estimated tokens) are for admins: for anyone else the fields
are omitted, not null, so a client cannot mistake "hidden" for "zero".
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, Field

from adapters.backtest_artifacts import ArtifactInfo
from adapters.backtest_service import Preflight, WindowRequest
from api.schemas.base import ApiModel
from domain.backtesting.estimate import Estimate, ReplayWindow
from domain.backtesting.jobs import Job

_ADMINS_ONLY = "Admins only: omitted for other callers."


class LastSixHours(ApiModel):
    """The six hours ending at the latest market time, at the strategy's fastest cadence."""

    shape: Literal["last_6h"]


class CustomWindow(ApiModel):
    """Bars closing in ``(start, end]`` (market time), ends floored to the fastest cadence."""

    shape: Literal["custom"] = "custom"
    start: AwareDatetime
    end: AwareDatetime


WindowIn = LastSixHours | CustomWindow


def _last_6h() -> LastSixHours:
    return LastSixHours(shape="last_6h")


class CloneBacktestCreate(ApiModel):
    """A run of one of the caller's clones (the clone is in the path)."""

    version_number: int | None = Field(default=None, ge=1, description="Default: the latest.")
    window: WindowIn = Field(default_factory=_last_6h)

    def window_request(self) -> WindowRequest:
        """The window as the service takes it."""
        if isinstance(self.window, CustomWindow):
            return WindowRequest("custom", self.window.start, self.window.end)
        return WindowRequest("last_6h")


class BacktestCreate(CloneBacktestCreate):
    """A run of one of the caller's clones (preflight or start)."""

    clone_id: str = Field(max_length=64)


class WindowPublic(ApiModel):
    """The market-time span a run replays: bars closing in ``(start, end]``."""

    shape: Literal["last_6h", "custom"]
    start: datetime
    end: datetime

    @classmethod
    def of(cls, window: ReplayWindow) -> WindowPublic:
        """Build from the domain window."""
        return cls(shape=window.shape, start=window.start, end=window.end)


class EstimatePublic(ApiModel):
    """What a run costs: steps, decision ticks, active assets (calls and tokens for admins)."""

    steps: int
    decision_ticks: int
    active_assets: int
    decision_calls: int | None = Field(
        default=None, exclude_if=lambda v: v is None, description=_ADMINS_ONLY
    )
    estimated_tokens: int | None = Field(
        default=None, exclude_if=lambda v: v is None, description=_ADMINS_ONLY
    )

    @classmethod
    def of(cls, found: Estimate, *, reveal_costs: bool) -> EstimatePublic:
        """Build from the estimate, with cost figures only when ``reveal_costs``."""
        return cls(
            steps=found.steps,
            decision_ticks=found.decision_ticks,
            active_assets=found.active_assets,
            decision_calls=found.decision_calls if reveal_costs else None,
            estimated_tokens=found.estimated_tokens if reveal_costs else None,
        )


class ViolationPublic(ApiModel):
    """A cap the run breaks (limit and value omitted for cost caps unless admin)."""

    cap: str
    limit: int | None = Field(default=None, exclude_if=lambda v: v is None)
    value: int | None = Field(default=None, exclude_if=lambda v: v is None)


class QuotaPublic(ApiModel):
    """The clone's daily quota (accepted runs per UTC day of the service clock)."""

    daily_runs: int
    used_today: int
    remaining_today: int
    resets_at: datetime


class PreflightPublic(ApiModel):
    """A run's estimate and whether it fits the tier's caps; no quota was used."""

    clone_id: str
    version_number: int
    tier: str
    window: WindowPublic
    estimate: EstimatePublic
    fits: bool
    violations: list[ViolationPublic]
    quota: QuotaPublic

    @classmethod
    def of(cls, checked: Preflight, *, reveal_costs: bool) -> PreflightPublic:
        """Build from the service's preflight."""
        quota = checked.quota
        return cls(
            clone_id=str(checked.clone_id),
            version_number=checked.version.number,
            tier=checked.tier.name,
            window=WindowPublic.of(checked.window),
            estimate=EstimatePublic.of(checked.estimate, reveal_costs=reveal_costs),
            fits=checked.fits,
            violations=[
                ViolationPublic.model_validate(v.to_document(reveal_costs=reveal_costs))
                for v in checked.violations
            ],
            quota=QuotaPublic(
                daily_runs=quota.daily_runs,
                used_today=quota.used,
                remaining_today=quota.remaining,
                resets_at=quota.resets_at,
            ),
        )


class ArtifactPublic(ApiModel):
    """One output of a run (content is served by its own route: the chart)."""

    kind: str
    media_type: str
    size: int
    sha256: str
    durable: bool
    expires_at: datetime | None

    @classmethod
    def of(cls, info: ArtifactInfo) -> ArtifactPublic:
        """Build from the artifact row."""
        return cls(
            kind=info.kind,
            media_type=info.media_type,
            size=info.size,
            sha256=info.sha256,
            durable=info.durable,
            expires_at=info.expires_at,
        )


class BacktestPublic(ApiModel):
    """A backtest job: its state, window, estimate and, once succeeded, its results."""

    id: str
    clone_id: str
    version_id: str
    version_number: int
    tier: str
    status: Literal["queued", "running", "succeeded", "failed", "cancelled", "expired"]
    window: WindowPublic
    estimate: EstimatePublic
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    cancel_requested_at: datetime | None
    error: str | None
    summary: dict[str, Any] | None
    metrics: dict[str, Any] | None
    input_hash: str | None
    result_hash: str | None
    artifacts: list[ArtifactPublic]

    @classmethod
    def of(
        cls, job: Job, *, reveal_costs: bool, artifacts: list[ArtifactInfo] | None = None
    ) -> BacktestPublic:
        """Build from the job (and its artifact rows, when read)."""
        return cls(
            id=str(job.job_id),
            clone_id=str(job.clone_id),
            version_id=str(job.version_id),
            version_number=job.version_number,
            tier=job.tier,
            status=job.status.value,
            window=WindowPublic.of(job.window),
            estimate=EstimatePublic.of(job.estimate, reveal_costs=reveal_costs),
            attempts=job.attempts,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            cancel_requested_at=job.cancel_requested_at,
            error=job.error,
            summary=job.summary,
            metrics=job.metrics,
            input_hash=job.input_hash,
            result_hash=job.result_hash,
            artifacts=[ArtifactPublic.of(a) for a in artifacts or []],
        )


class BacktestsPublic(ApiModel):
    """A page of backtests, newest first."""

    data: list[BacktestPublic]
    next_cursor: str | None


class ComparedPublic(ApiModel):
    """One run of a comparison: what it ran and its metrics (null until it succeeded)."""

    id: str
    clone_id: str
    version_number: int
    status: str
    window: WindowPublic
    metrics: dict[str, Any] | None
    result_hash: str | None

    @classmethod
    def of(cls, job: Job) -> ComparedPublic:
        """Build from the job."""
        return cls(
            id=str(job.job_id),
            clone_id=str(job.clone_id),
            version_number=job.version_number,
            status=job.status.value,
            window=WindowPublic.of(job.window),
            metrics=job.metrics,
            result_hash=job.result_hash,
        )


class ComparisonPublic(ApiModel):
    """Runs side by side, in the order asked."""

    data: list[ComparedPublic]
