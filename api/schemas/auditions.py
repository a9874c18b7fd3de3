"""Audition models of the HTTP contract: submission, the audition as its owner sees it, void.

Amounts are decimal strings (USDC), instants ISO 8601 in market time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field
from pydantic.alias_generators import to_camel

from api.schemas.base import ApiModel
from domain.lifecycle.audition import Audition
from domain.lifecycle.audition_progress import AuditionProgress
from domain.lifecycle.audition_report import live_metrics, rule_progress
from projections.auditions import AuditionRow


class AuditionCreate(ApiModel):
    """Which clone version to audition, paid by which purchase."""

    clone_id: str = Field(min_length=1, max_length=64)
    version_id: str = Field(min_length=1, max_length=64)
    purchase_id: str = Field(min_length=1, max_length=64)


class AuditionVoid(ApiModel):
    """Why an admin voids an audition (kept on the record)."""

    reason: str = Field(min_length=3, max_length=500)


class AuditionPublic(ApiModel):
    """An audition: state, the process step pending, rules, runs, live progress, metrics."""

    id: str
    clone_id: str
    version_id: str
    purchase_id: str
    tier: str
    state: str
    step: str | None
    run: int
    account_id: str | None
    last_error: str | None
    reason: str | None
    rules: dict[str, Any]
    runs: list[dict[str, Any]]
    progress: dict[str, Any] | None
    metrics: dict[str, Any] | None
    refund_id: str | None
    submitted_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, audition: Audition, progress: AuditionProgress | None) -> AuditionPublic:
        """Build from the aggregate and the current run's last checked progress."""
        run = audition.run
        metrics = audition.metrics
        if metrics is None and progress is not None and run.started_at is not None:
            metrics = live_metrics(progress)
        return cls(
            id=str(audition.id),
            clone_id=str(audition.clone_id),
            version_id=str(audition.version_id),
            purchase_id=str(audition.purchase_id),
            tier=audition.tier,
            state=audition.state.value,
            step=None if audition.step is None else audition.step.value,
            run=run.number,
            account_id=None if run.account_id is None else str(run.account_id),
            last_error=audition.last_error,
            reason=audition.reason,
            rules=camel_keys(audition.rules_document),
            runs=[r.to_document() for r in audition.runs],
            progress=None if progress is None else rule_progress(audition.rules, progress),
            metrics=None if metrics is None else camel_keys(metrics),
            refund_id=None if audition.refund_id is None else str(audition.refund_id),
            submitted_at=audition.created_on,
            updated_at=audition.modified_on,
        )


def camel_keys(document: dict[str, Any]) -> dict[str, Any]:
    """A domain document (snake_case keys, as stored in events) with camelCase keys."""
    return {to_camel(key): value for key, value in document.items()}


class AuditionSummary(ApiModel):
    """One audition in the owner's list."""

    id: str
    clone_id: str
    version_id: str
    tier: str
    state: str
    run: int
    account_id: str | None
    started_at: datetime | None
    ends_at: datetime | None
    reason: str | None
    last_error: str | None
    submitted_at: datetime

    @classmethod
    def of(cls, row: AuditionRow) -> AuditionSummary:
        """Build from the read model's row."""
        return cls(
            id=str(row.audition_id),
            clone_id=str(row.clone_id),
            version_id=str(row.version_id),
            tier=row.tier,
            state=row.state,
            run=row.run,
            account_id=None if row.account_id is None else str(row.account_id),
            started_at=row.started_at,
            ends_at=row.ends_at,
            reason=row.reason,
            last_error=row.last_error,
            submitted_at=row.submitted_at,
        )


class AuditionsPage(ApiModel):
    """A page of the owner's auditions, newest first."""

    data: list[AuditionSummary]
    next_cursor: str | None
