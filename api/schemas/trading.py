"""Trading API models: dry runs and decision rows (decimals and money as strings)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from api.schemas.base import ApiModel


class DryRunRequest(ApiModel):
    """Which strategy to dry-run: the current draft, or a published version by number."""

    source: Literal["draft", "version"] = "draft"
    version_number: int | None = Field(default=None, ge=1)


class PlannedOrderPublic(ApiModel):
    """An order the decision would send (not sent in a dry run)."""

    client_order_id: str
    asset: str
    side: Literal["buy", "sell"]
    size: str
    leverage: int
    reduce_only: bool
    stop_loss: str | None
    take_profit: str | None


class ActionPublic(ApiModel):
    """One asset's validated action."""

    asset: str
    signal: str
    size_fraction: str | None
    leverage: int | None
    stop_loss: str | None
    take_profit: str | None
    confidence: str | None
    justification: str


class SkippedActionPublic(ApiModel):
    """An action that produced no order, and why."""

    asset: str
    signal: str
    status: Literal["skipped"]
    reason: str


class DryRunPublic(ApiModel):
    """A dry run's result: the decision, its orders, and the context it saw."""

    run_id: str
    clone_id: str
    source: str
    market_time: datetime
    recorded_at: datetime
    provider: str
    model: str
    prompt_version: str | None
    context_hash: str
    hints: dict[str, dict[str, bool]]
    actions: list[ActionPublic]
    action_errors: list[str]
    orders: list[PlannedOrderPublic]
    skipped: list[SkippedActionPublic]
    errors: list[str]
    tokens_in: int
    tokens_out: int
    latency_ms: int
    attempts: list[dict[str, Any]]
    context: dict[str, Any]

    @classmethod
    def of(cls, row: dict[str, Any]) -> DryRunPublic:
        """Build from a stored dry-run row."""
        result = row["result"]
        return cls(
            run_id=row["run_id"],
            clone_id=row["clone_id"],
            source=row["source"],
            market_time=row["market_time"],
            recorded_at=row["recorded_at"],
            provider=result["provider"],
            model=result["model"],
            prompt_version=result["promptVersion"],
            context_hash=result["contextHash"],
            hints=result["hints"],
            actions=[ActionPublic.model_validate(a) for a in result["actions"]["actions"]],
            action_errors=result["actions"]["errors"],
            orders=[PlannedOrderPublic.model_validate(o) for o in result["orders"]],
            skipped=[SkippedActionPublic.model_validate(s) for s in result["skipped"]],
            errors=result["errors"],
            tokens_in=result["tokensIn"],
            tokens_out=result["tokensOut"],
            latency_ms=result["latencyMs"],
            attempts=result["attempts"],
            context=result["context"],
        )


class DryRunsPublic(ApiModel):
    """A page of dry runs, newest first."""

    data: list[DryRunPublic]
    next_cursor: str | None


class DecisionPublic(ApiModel):
    """One decision row of a bound account (holds are compact: no actions)."""

    decision_id: str
    account_id: str
    clone_id: str
    version_id: str
    tick_at: datetime
    status: Literal["act", "hold", "refused", "skipped"]
    phase: Literal["planned", "executed"]
    assets: list[str]
    skipped_until: datetime | None
    skipped_count: int
    context_hash: str | None
    prompt_version: str | None
    provider: str | None
    model: str | None
    tokens_in: int
    tokens_out: int
    latency_ms: int
    actions: dict[str, Any] | None
    outcomes: list[dict[str, Any]] | None
    errors: list[str]
    artifacts: dict[str, Any] | None
    recorded_at: datetime

    @classmethod
    def of(cls, row: dict[str, Any]) -> DecisionPublic:
        """Build from a decoded decision row."""
        return cls(
            decision_id=row["decision_id"],
            account_id=row["account_id"],
            clone_id=row["clone_id"],
            version_id=row["version_id"],
            tick_at=row["tick_at"],
            status=row["status"],
            phase=row["phase"],
            assets=row["assets"],
            skipped_until=row["skipped_until"],
            skipped_count=row["skipped_count"],
            context_hash=row["context_hash"],
            prompt_version=row["prompt_version"],
            provider=row["provider"],
            model=row["model"],
            tokens_in=row["tokens_in"],
            tokens_out=row["tokens_out"],
            latency_ms=row["latency_ms"],
            actions=row["actions"],
            outcomes=row["outcomes"],
            errors=row["errors"] or [],
            artifacts=row["artifacts"],
            recorded_at=row["recorded_at"],
        )


class DecisionsPublic(ApiModel):
    """A page of decision rows, newest tick first."""

    data: list[DecisionPublic]
    next_cursor: str | None


class BindRequest(ApiModel):
    """Bind an account to a clone version (operator tool; modules use the Python API)."""

    account_id: str = Field(max_length=64)
    clone_id: str = Field(max_length=64)
    version_number: int = Field(ge=1)
    purpose: Literal["sandbox", "audition", "arena", "race"] = "sandbox"
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    allow_concurrent: bool = False


class UnbindRequest(ApiModel):
    """End an account's binding."""

    reason: str = Field(min_length=1, max_length=500)


class BindingPublic(ApiModel):
    """An account's binding."""

    account_id: str
    version_id: str
    clone_id: str
    purpose: str
    starts_at: datetime
    ends_at: datetime | None
    active: bool
