"""Reads of the clones read models, as frozen rows (never raw dicts across layers).

Pages are keyed by ``seq`` (the log position that created the row), ``after`` the last key
returned and capped by the caller. Read-your-writes: a command answers the log position of
its last event, and :meth:`ClonesQueries.wait_for` returns once the projection has read that
far (or raises :class:`ClonesReadsLagging`, which the API answers 503 with ``Retry-After``).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from adapters.database import Database, from_micros
from projections.clones import ClonesProjection
from projections.view_reader import ViewReader

LATEST_REPORTS = 5


class ClonesReadsLagging(Exception):
    """Raised when a read asked to see a write the clones read models have not reached."""

    reason = "projection_lagging"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True)
class CloneSummary:
    """One clone as the directory shows it."""

    clone_id: str
    seq: int
    owner: str
    name: str
    status: str
    published: bool
    profile_name: str | None
    profile_bio: str | None
    profile_avatar_url: str | None
    profile_published_at: datetime | None
    latest_version_number: int | None
    latest_version_id: str | None
    draft_number: int
    reports_total: int
    open_reports: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class OpenReportRow:
    """One report of the current moderation round."""

    reporter: str
    reason: str
    detail: str
    reported_at: datetime


@dataclass(frozen=True)
class QueueRow:
    """A clone waiting for moderation, with its latest reports."""

    clone: CloneSummary
    queued_seq: int
    report_count: int
    reasons: tuple[str, ...]
    first_reported_at: datetime
    last_reported_at: datetime
    latest_reports: tuple[OpenReportRow, ...]


def _summary(r: dict[str, Any]) -> CloneSummary:
    published_at = r["profile_published_at"]
    return CloneSummary(
        clone_id=r["clone_id"],
        seq=r["seq"],
        owner=r["owner"],
        name=r["name"],
        status=r["status"],
        published=r["profile_status"] == "published",
        profile_name=r["profile_name"],
        profile_bio=r["profile_bio"],
        profile_avatar_url=r["profile_avatar_url"],
        profile_published_at=None if published_at is None else from_micros(published_at),
        latest_version_number=r["latest_version_number"],
        latest_version_id=r["latest_version_id"],
        draft_number=r["draft_number"],
        reports_total=r["reports_total"],
        open_reports=r["open_reports"],
        created_at=from_micros(r["created_at"]),
        updated_at=from_micros(r["updated_at"]),
    )


class ClonesQueries(ViewReader):
    """Queries over the clones views."""

    def __init__(self, database: Database) -> None:
        super().__init__(database, ClonesProjection())

    def wait_for(self, position: int | None, timeout: float = 5.0) -> None:
        """Return once the projection has read the log up to ``position``."""
        if position is None:
            return
        deadline = time.monotonic() + timeout
        while (reached := self.tracked_position()) < position:
            if time.monotonic() > deadline:
                raise ClonesReadsLagging(f"position={position} reached={reached}")
            time.sleep(0.05)

    def owned(self, owner: str, *, after: int, limit: int) -> list[CloneSummary]:
        """An owner's clones, oldest first."""
        rows = self._all(
            "SELECT * FROM clones_view WHERE owner = %s AND seq > %s ORDER BY seq LIMIT %s",
            (owner, after, limit),
        )
        return [_summary(r) for r in rows]

    def public(self, *, after: int, limit: int) -> list[CloneSummary]:
        """Published profiles of clones that are not retired, oldest first."""
        rows = self._all(
            "SELECT * FROM clones_view WHERE profile_status = 'published' AND status = 'active'"
            " AND seq > %s ORDER BY seq LIMIT %s",
            (after, limit),
        )
        return [_summary(r) for r in rows]

    def queue(self, *, after: int, limit: int) -> list[QueueRow]:
        """Clones with open reports, the longest waiting first."""
        rows = self._all(
            "SELECT q.clone_id AS queued_clone, q.queued_seq, q.report_count, q.reasons,"
            " q.first_reported_at, q.last_reported_at, c.* FROM clone_moderation_queue_view q"
            " JOIN clones_view c ON c.clone_id = q.clone_id WHERE q.queued_seq > %s"
            " ORDER BY q.queued_seq LIMIT %s",
            (after, limit),
        )
        reports = self._latest_reports([r["clone_id"] for r in rows])
        return [
            QueueRow(
                clone=_summary(r),
                queued_seq=r["queued_seq"],
                report_count=r["report_count"],
                reasons=tuple(json.loads(r["reasons"])),
                first_reported_at=from_micros(r["first_reported_at"]),
                last_reported_at=from_micros(r["last_reported_at"]),
                latest_reports=tuple(reports.get(r["clone_id"], [])),
            )
            for r in rows
        ]

    def _latest_reports(self, clone_ids: list[str]) -> dict[str, list[OpenReportRow]]:
        if not clone_ids:
            return {}
        marks = ", ".join(["%s"] * len(clone_ids))
        found: dict[str, list[OpenReportRow]] = {}
        for r in self._all(
            "SELECT * FROM (SELECT r.*, ROW_NUMBER() OVER (PARTITION BY clone_id"
            " ORDER BY position DESC) AS newest FROM clone_open_reports_view r"
            f" WHERE clone_id IN ({marks})) ranked WHERE newest <= %s"
            " ORDER BY clone_id, position DESC",
            (*clone_ids, LATEST_REPORTS),
        ):
            found.setdefault(r["clone_id"], []).append(
                OpenReportRow(
                    r["reporter"], r["reason"], r["detail"], from_micros(r["reported_at"])
                )
            )
        return found
