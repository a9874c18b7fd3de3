"""Report, moderation and grant models of the HTTP contract (admin and reporter facing)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import Field

from api.schemas.base import ApiModel
from api.schemas.clones import EntitlementPublic, ProfilePublic
from domain.clones.reports import ReportReason
from domain.clones.tiers import Grant
from projections.clones_queries import QueueRow


class ReportCreate(ApiModel):
    """Why a clone is reported."""

    reason: ReportReason
    detail: str = Field(default="", max_length=2000, description="At most 500 characters.")


class ModerationReason(ApiModel):
    """Why an admin acts (kept on the event)."""

    reason: str = Field(min_length=1, max_length=500)


class GrantCreate(ApiModel):
    """An operator's tier grant (the same ``reference`` twice records once)."""

    tier: str = Field(min_length=1, max_length=32, examples=["builder"])
    reason: str = Field(min_length=1, max_length=500)
    reference: str | None = Field(default=None, min_length=1, max_length=128)


class GrantedPublic(ApiModel):
    """A clone's effective grant after an operator's grant."""

    clone_id: str
    entitlement: EntitlementPublic

    @classmethod
    def of(cls, clone_id: UUID, grant: Grant) -> GrantedPublic:
        """Build from the economy's answer."""
        return cls(
            clone_id=str(clone_id),
            entitlement=EntitlementPublic(
                tier=grant.tier, source=grant.source, mock=grant.mock, reference=grant.reference
            ),
        )


class ReportReceipt(ApiModel):
    """The answer to a report (the same for a repeated one)."""

    clone_id: str
    status: Literal["received"] = "received"


class QueuedReportPublic(ApiModel):
    """One of the latest reports of a queued clone."""

    reporter: str
    reason: str
    detail: str
    reported_at: datetime


class QueueItemPublic(ApiModel):
    """A clone waiting for moderation."""

    clone_id: str
    owner: str
    name: str
    status: str
    profile: ProfilePublic | None
    report_count: int = Field(
        description="Reports since the last moderation action (one per reporter)."
    )
    reports_total: int
    reasons: list[str] = Field(description="Distinct reasons, most recent first.")
    first_reported_at: datetime
    last_reported_at: datetime
    latest_reports: list[QueuedReportPublic]

    @classmethod
    def of(cls, row: QueueRow) -> QueueItemPublic:
        """Build from the read model."""
        clone = row.clone
        profile = None
        if clone.published and clone.profile_published_at is not None:
            profile = ProfilePublic(
                name=clone.profile_name or "",
                bio=clone.profile_bio or "",
                avatar_url=clone.profile_avatar_url,
                published_at=clone.profile_published_at,
            )
        return cls(
            clone_id=clone.clone_id,
            owner=clone.owner,
            name=clone.name,
            status=clone.status,
            profile=profile,
            report_count=row.report_count,
            reports_total=clone.reports_total,
            reasons=list(row.reasons),
            first_reported_at=row.first_reported_at,
            last_reported_at=row.last_reported_at,
            latest_reports=[
                QueuedReportPublic(
                    reporter=r.reporter, reason=r.reason, detail=r.detail, reported_at=r.reported_at
                )
                for r in row.latest_reports
            ],
        )


class QueuePublic(ApiModel):
    """A page of the moderation queue, the longest waiting first."""

    data: list[QueueItemPublic]
    next_cursor: str | None


class ModerationPublic(ApiModel):
    """The result of a moderation action."""

    clone_id: str
    status: str
    open_reports: int
    position: int
