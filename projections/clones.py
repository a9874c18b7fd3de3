"""The clones read models: the clone directory and the moderation queue.

One projection folds the ``clones`` log into three tables:

- ``clones_view``: one row per clone (owner, name, status, public profile, latest version,
  draft number, report counts), listed by owners, the public and admins;
- ``clone_open_reports_view``: the reports of the current moderation round, one per
  reporter (a moderation action closes the round and deletes them);
- ``clone_moderation_queue_view``: one row per clone with open reports: how many (one per
  reporter, so it is also the number of distinct reporters), the distinct reasons, most
  recent first, and when the round's first and last reports came.

The fold is pure (:func:`fold`: a :class:`CloneRow` and an event give the next row). A page
of events loads the rows it touches once, folds them in memory, and writes each table once
(delete and insert the touched rows), so a rebuild costs a few round trips per page.
``seq`` is the log position of a clone's ``Created`` event and ``queued_seq`` that of the
round's first report: unique, increasing keys that make stable cursor pages. Instants are
epoch microseconds (``adapters.database`` conventions).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from adapters.database import Session, to_micros
from domain.clones.clone import Clone
from projections.runner import Projection

_TABLES = {
    "clones_view": """CREATE TABLE IF NOT EXISTS clones_view (
        clone_id TEXT PRIMARY KEY, seq BIGINT NOT NULL UNIQUE, owner TEXT NOT NULL,
        name TEXT NOT NULL, status TEXT NOT NULL, profile_status TEXT NOT NULL,
        profile_name TEXT, profile_bio TEXT, profile_avatar_url TEXT,
        profile_published_at BIGINT, latest_version_number BIGINT, latest_version_id TEXT,
        draft_number BIGINT NOT NULL, reports_total BIGINT NOT NULL,
        open_reports BIGINT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,
        version BIGINT NOT NULL)""",
    "clone_open_reports_view": """CREATE TABLE IF NOT EXISTS clone_open_reports_view (
        clone_id TEXT NOT NULL, reporter TEXT NOT NULL, reason TEXT NOT NULL,
        detail TEXT NOT NULL, reported_at BIGINT NOT NULL, position BIGINT NOT NULL,
        PRIMARY KEY (clone_id, reporter))""",
    "clone_moderation_queue_view": """CREATE TABLE IF NOT EXISTS clone_moderation_queue_view (
        clone_id TEXT PRIMARY KEY, queued_seq BIGINT NOT NULL UNIQUE, report_count BIGINT NOT NULL,
        reasons TEXT NOT NULL, first_reported_at BIGINT NOT NULL,
        last_reported_at BIGINT NOT NULL)""",
}
_INDEXES = (
    "CREATE INDEX IF NOT EXISTS clones_view_owner ON clones_view (owner, seq)",
    "CREATE INDEX IF NOT EXISTS clones_view_public ON clones_view (profile_status, status, seq)",
)


@dataclass(frozen=True)
class OpenReport:
    """One report of the current moderation round."""

    reporter: str
    reason: str
    detail: str
    reported_at: int
    position: int


@dataclass(frozen=True)
class CloneRow:
    """The folded state of one clone, as its view rows store it."""

    clone_id: str
    seq: int
    owner: str
    name: str
    created_at: int
    updated_at: int
    version: int
    status: str = "active"
    profile: tuple[str, str, str | None, int] | None = None  # name, bio, avatar, published at
    latest_version: tuple[int, str] | None = None  # number, id
    draft_number: int = 0
    reports_total: int = 0
    open_reports: tuple[OpenReport, ...] = ()


class FoldError(ValueError):
    """Raised when the log holds a clone event before the clone's ``Created``."""


def fold(row: CloneRow | None, event: Any, position: int) -> CloneRow | None:
    """The row after ``event`` (``row`` unchanged for events the view does not show)."""
    at = to_micros(event.timestamp)
    if isinstance(event, Clone.Created):
        clone_id = str(event.originator_id)
        return CloneRow(clone_id, position, event.owner, event.name, at, at, 1)
    if row is None:
        raise FoldError(f"clone={event.originator_id} event={type(event).__name__} before Created")
    row = replace(row, updated_at=at, version=event.originator_version)
    match event:
        case Clone.DraftSaved():
            return replace(row, draft_number=event.draft_number)
        case Clone.VersionPublished():
            return replace(row, latest_version=(event.number, str(event.version_id)))
        case Clone.ProfilePublished():
            return replace(row, profile=(event.name, event.bio, event.avatar_url, at))
        case Clone.Reported():
            report = OpenReport(event.reporter, event.reason, event.detail, at, position)
            return replace(
                row,
                reports_total=row.reports_total + 1,
                open_reports=(*row.open_reports, report),
            )
        case Clone.ModerationRetired():
            return replace(row, status="retired", open_reports=())
        case Clone.ModerationReinstated():
            return replace(row, status="active", open_reports=())
        case Clone.ReportsDismissed():
            return replace(row, open_reports=())
        case _:
            return row


def queue_entry(row: CloneRow) -> tuple[Any, ...] | None:
    """The moderation-queue row of a clone with open reports (``None`` without)."""
    if not row.open_reports:
        return None
    newest_first = sorted(row.open_reports, key=lambda r: r.position, reverse=True)
    reasons = list(dict.fromkeys(r.reason for r in newest_first))
    return (
        row.clone_id,
        min(r.position for r in row.open_reports),
        len(row.open_reports),
        json.dumps(reasons),
        min(r.reported_at for r in row.open_reports),
        max(r.reported_at for r in row.open_reports),
    )


class ClonesProjection(Projection):
    """The clone directory and the moderation queue."""

    name = "clones"
    version = 1
    tables = tuple(_TABLES)

    def create(self, session: Session) -> None:
        for statement in (*_TABLES.values(), *_INDEXES):
            session.execute(statement)

    def apply(self, session: Session, event: Any, position: int) -> None:
        self.apply_page(session, [(event, position)])

    def apply_page(self, session: Session, events: Sequence[tuple[Any, int]]) -> None:
        clone_events = [(e, p) for e, p in events if isinstance(e, Clone.Event)]
        if not clone_events:
            return
        rows = _load(session, {str(e.originator_id) for e, _ in clone_events})
        for event, position in clone_events:
            key = str(event.originator_id)
            rows[key] = fold(rows.get(key), event, position)
        _write(session, [row for row in rows.values() if row is not None])


def _load(session: Session, clone_ids: set[str]) -> dict[str, CloneRow | None]:
    found: dict[str, CloneRow | None] = dict.fromkeys(clone_ids)
    reports: dict[str, list[OpenReport]] = {}
    for chunk in _chunks(sorted(clone_ids), 500):
        marks = ", ".join(["%s"] * len(chunk))
        for r in session.fetch_all(
            f"SELECT * FROM clone_open_reports_view WHERE clone_id IN ({marks})", chunk
        ):
            reports.setdefault(r["clone_id"], []).append(
                OpenReport(r["reporter"], r["reason"], r["detail"], r["reported_at"], r["position"])
            )
        for r in session.fetch_all(f"SELECT * FROM clones_view WHERE clone_id IN ({marks})", chunk):
            found[r["clone_id"]] = _row(r, reports.get(r["clone_id"], []))
    return found


def _row(r: dict[str, Any], reports: list[OpenReport]) -> CloneRow:
    profile = None
    if r["profile_status"] == "published":
        profile = (
            r["profile_name"],
            r["profile_bio"],
            r["profile_avatar_url"],
            r["profile_published_at"],
        )
    latest = r["latest_version_number"]
    return CloneRow(
        clone_id=r["clone_id"],
        seq=r["seq"],
        owner=r["owner"],
        name=r["name"],
        created_at=r["created_at"],
        updated_at=r["updated_at"],
        version=r["version"],
        status=r["status"],
        profile=profile,
        latest_version=None if latest is None else (latest, r["latest_version_id"]),
        draft_number=r["draft_number"],
        reports_total=r["reports_total"],
        open_reports=tuple(sorted(reports, key=lambda report: report.position)),
    )


def _write(session: Session, rows: list[CloneRow]) -> None:
    keys = [(row.clone_id,) for row in rows]
    for table in _TABLES:
        session.execute_many(f"DELETE FROM {table} WHERE clone_id = %s", keys)
    session.execute_many(_INSERT_CLONE, [_clone_values(row) for row in rows])
    session.execute_many(
        _INSERT_REPORT,
        [
            (row.clone_id, r.reporter, r.reason, r.detail, r.reported_at, r.position)
            for row in rows
            for r in row.open_reports
        ],
    )
    queued = (queue_entry(row) for row in rows)
    session.execute_many(_INSERT_QUEUE, [entry for entry in queued if entry is not None])


def _clone_values(row: CloneRow) -> tuple[Any, ...]:
    name, bio, avatar, published_at = row.profile or (None, None, None, None)
    number, version_id = row.latest_version or (None, None)
    return (
        row.clone_id,
        row.seq,
        row.owner,
        row.name,
        row.status,
        "unpublished" if row.profile is None else "published",
        name,
        bio,
        avatar,
        published_at,
        number,
        version_id,
        row.draft_number,
        row.reports_total,
        len(row.open_reports),
        row.created_at,
        row.updated_at,
        row.version,
    )


def _chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


_INSERT_CLONE = (
    "INSERT INTO clones_view (clone_id, seq, owner, name, status, profile_status, profile_name,"
    " profile_bio, profile_avatar_url, profile_published_at, latest_version_number,"
    " latest_version_id, draft_number, reports_total, open_reports, created_at, updated_at,"
    " version) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
_INSERT_REPORT = (
    "INSERT INTO clone_open_reports_view (clone_id, reporter, reason, detail, reported_at,"
    " position) VALUES (%s, %s, %s, %s, %s, %s)"
)
_INSERT_QUEUE = (
    "INSERT INTO clone_moderation_queue_view (clone_id, queued_seq, report_count, reasons,"
    " first_reported_at, last_reported_at) VALUES (%s, %s, %s, %s, %s, %s)"
)
