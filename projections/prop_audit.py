"""The ledger audit: fold every account from its events and compare with the read models.

Independent of the projections by construction: balances come from each account's own
event stream (``repository.get``, the aggregate's fold), postings are checked per event
(debits = credits per currency), and only then are the read-model rows compared. Any
difference is a finding; an empty list means the books agree.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

from adapters.database import Database
from domain.prop.application import PropLedger
from domain.prop.money import Posting, unbalanced_totals
from projections.prop_ledger import PropLedgerProjection

PAGE = 1000


@dataclass(frozen=True)
class Finding:
    """One disagreement."""

    account_id: str
    check: str
    expected: str
    found: str


@dataclass(frozen=True)
class AuditReport:
    """What the audit read and what it found."""

    accounts: int
    events: int
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        """Whether the books agree."""
        return not self.findings


def audit(ledger: PropLedger, database: Database) -> AuditReport:
    """Fold every account, check every event's postings, compare with the views."""
    findings: list[Finding] = []
    accounts: set[UUID] = set()
    events = 0
    for event in _all_events(ledger):
        events += 1
        accounts.add(event.originator_id)
        findings += _postings_findings(event)
    views = _views(database)
    for account_id in sorted(accounts, key=str):
        findings += _compare(ledger, account_id, views)
    for orphan in sorted(set(views["accounts"]) - {str(a) for a in accounts}):
        findings.append(Finding(orphan, "account_in_view_only", "absent", "present"))
    return AuditReport(len(accounts), events, tuple(findings))


def _all_events(ledger: PropLedger) -> Iterator[Any]:
    position = 0
    while batch := ledger.recorder.select_notifications(
        start=position, limit=PAGE, inclusive_of_start=False
    ):
        for notification in batch:
            yield ledger.mapper.to_domain_event(notification)
        position = batch[-1].id


def _postings_findings(event: Any) -> list[Finding]:
    postings = [Posting(*p) for p in getattr(event, "postings", [])]
    off = unbalanced_totals(postings)
    if not off:
        return []
    return [
        Finding(
            str(event.originator_id), f"postings_balance@v{event.originator_version}", "0", str(off)
        )
    ]


def _views(database: Database) -> dict[str, dict[str, Any]]:
    with database.transaction() as session:
        PropLedgerProjection().create(session)  # a never-run projection is empty, not absent
        accounts = session.fetch_all("SELECT * FROM prop_accounts_view")
        positions = session.fetch_all("SELECT * FROM prop_positions_view")
    held: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for row in positions:
        held[row["account_id"]][row["asset"]] = Decimal(row["size"])
    return {"accounts": {r["account_id"]: r for r in accounts}, "positions": dict(held)}


def _compare(
    ledger: PropLedger, account_id: UUID, views: dict[str, dict[str, Any]]
) -> list[Finding]:
    account = ledger.account(account_id)
    row = views["accounts"].get(str(account_id))
    if row is None:
        return [Finding(str(account_id), "account_missing_from_view", "present", "absent")]
    expected = {
        "collateral_micros": account.collateral_micros,
        "realized_micros": account.realized_micros,
        "fees_micros": account.fees_micros,
        "funding_micros": account.funding_micros,
        "adjustments_micros": account.adjustments_micros,
        "status": account.status,
    }
    findings = [
        Finding(str(account_id), field, str(value), str(row[field]))
        for field, value in expected.items()
        if row[field] != value
    ]
    positions = {a: p["size"] for a, p in account.positions.items()}
    if positions != views["positions"].get(str(account_id), {}):
        findings.append(
            Finding(
                str(account_id),
                "positions",
                str(positions),
                str(views["positions"].get(str(account_id), {})),
            )
        )
    return findings
