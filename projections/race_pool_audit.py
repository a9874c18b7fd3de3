"""The race pools' reconciliation: books, settlement rows and payout authorizations agree.

Folds the lifecycle and economy logs from the start (never a read model) and checks, for
every race whose settlement Lifecycle recorded (settled, or cancelled with a book):

- ``race_pool_conserved``: rake + breakage + creator unclaimed + every payment row = the
  staked total, and the staked total = the stakes placed in Economy's book for the race;
- ``ticket_settled_once``: every ticket placed in the book is settled by exactly one row
  (a payout, possibly 0, or a refund), and no row names a ticket the book does not hold;
- ``authorizations_match``: Economy's payout authorizations for the race sum, per (kind,
  recipient), to the settlement rows' non-zero totals, once the settlement is recorded;
- ``wallet_refunds_within_paid``: per wallet, the refunds Economy owes it (audition-fee
  refunds, ticket refunds, cancelled races' stakes) never exceed what it paid in (receipts
  of fees honoured or not, tickets placed or refunded); winnings are payouts, not refunds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from domain.application import ClashApplication
from domain.economy.purchases import Purchase, Refund, voided_refund_id_for
from domain.economy.race_payments import PayoutAuthorization, RaceSettlement
from domain.economy.tickets import PoolBook, TicketRefund
from domain.lifecycle.pool_settlement import PoolSettlement
from domain.lifecycle.race import Race

PAGE = 1000
Found = list[tuple[str, tuple[str, ...], str]]


@dataclass
class _Facts:
    settlements: dict[UUID, dict[str, Any]] = field(default_factory=dict)
    cancelled: set[UUID] = field(default_factory=set)
    books: dict[UUID, UUID] = field(default_factory=dict)  # book id -> race id
    placed: dict[UUID, dict[str, tuple[str, int]]] = field(
        default_factory=lambda: defaultdict(dict)
    )
    recorded: set[UUID] = field(default_factory=set)
    authorized: dict[UUID, dict[tuple[str, str], int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )
    late: dict[UUID, dict[tuple[str, str], int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )
    paid_in: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    refunded: dict[str, int] = field(default_factory=lambda: defaultdict(int))


def audit_race_pools(
    economy: ClashApplication, lifecycle: ClashApplication
) -> tuple[Found, dict[str, int]]:
    """Return the breaches ``(kind, ids, detail)`` and how many facts each check covered."""
    facts = _Facts()
    for event in _events(lifecycle):
        if isinstance(event, PoolSettlement.Recorded):
            facts.settlements[event.race_id] = event.rows
        elif isinstance(event, Race.RaceCancelled):
            facts.cancelled.add(event.originator_id)
    for event in _events(economy):
        _fold_economy(facts, event)
    breaches: Found = []
    for race_id, rows in sorted(facts.settlements.items(), key=lambda pair: str(pair[0])):
        breaches += _race(facts, race_id, rows)
    for race_id in sorted(facts.cancelled - set(facts.settlements), key=str):
        breaches += _cancelled(facts, race_id)
    for wallet, refunded in sorted(facts.refunded.items()):
        if refunded > facts.paid_in.get(wallet, 0):
            detail = f"refunded={refunded} wei > paid={facts.paid_in.get(wallet, 0)} wei"
            breaches.append(("wallet_refunds_within_paid", (wallet,), detail))
    checked = {
        "settled_races": len(facts.settlements),
        "tickets": sum(len(t) for t in facts.placed.values()),
        "authorized_races": len(facts.authorized),
    }
    return breaches, checked


def _fold_economy(facts: _Facts, event: Any) -> None:
    if isinstance(event, PoolBook.Opened):
        facts.books[event.originator_id] = event.race_id
    elif isinstance(event, PoolBook.TicketPlaced):
        race = facts.books[event.originator_id]
        facts.placed[race][str(event.ticket_id)] = (event.payer.lower(), int(event.stake_wei))
        facts.paid_in[event.payer.lower()] += int(event.stake_wei)
    elif isinstance(event, Purchase.Made):
        facts.paid_in[event.payer.lower()] += int(event.amount_wei)
    elif isinstance(event, Refund.Opened):
        facts.refunded[event.payer.lower()] += int(event.amount_wei)
        if _voided(event):
            return  # the purchase's money, already counted as paid in
        facts.paid_in[event.payer.lower()] += int(event.amount_wei)
    elif isinstance(event, TicketRefund.Opened):
        facts.paid_in[event.payer.lower()] += int(event.amount_wei)
        facts.late[UUID(event.race_id)][("refund", event.payer.lower())] += int(event.amount_wei)
    elif isinstance(event, RaceSettlement.Recorded):
        facts.recorded.add(event.race_id)
    elif isinstance(event, PayoutAuthorization.Opened):
        key = (event.kind, event.recipient.lower())
        facts.authorized[event.race_id][key] += int(event.amount_wei)
        if event.kind == "refund":
            facts.refunded[event.recipient.lower()] += int(event.amount_wei)


def _race(facts: _Facts, race_id: UUID, rows: dict[str, Any]) -> Found:
    found: Found = []
    race = str(race_id)
    payments = rows.get("payments", [])
    spent = sum(int(rows[k]) for k in ("rakeWei", "breakageWei", "creatorUnclaimedWei"))
    spent += sum(int(p["amountWei"]) for p in payments)
    placed = facts.placed.get(race_id, {})
    staked = sum(stake for _, stake in placed.values())
    if spent != int(rows["stakedWei"]) or staked != int(rows["stakedWei"]):
        detail = f"rows={spent} staked(rows)={rows['stakedWei']} placed={staked}"
        found.append(("race_pool_conserved", (race,), detail))
    settled = [p["ticketId"] for p in payments if p.get("ticketId")]
    if sorted(settled) != sorted(placed):
        detail = f"{len(settled)} ticket rows for {len(placed)} placed tickets"
        found.append(("ticket_settled_once", (race,), detail))
    if race_id in facts.recorded:
        expected: dict[tuple[str, str], int] = defaultdict(int)
        for payment in payments:
            expected[(payment["kind"], payment["recipient"].lower())] += int(payment["amountWei"])
        wanted = {key: amount for key, amount in expected.items() if amount}
        if _settled_rows(facts, race_id) != wanted:
            found.append(("authorizations_match", (race,), "authorizations differ from the rows"))
    return found


def _voided(opened: Refund.Opened) -> bool:
    """Whether a refund returns a voided audition's purchase (its id derives from it)."""
    try:
        return opened.originator_id == voided_refund_id_for(UUID(opened.audition_id))
    except ValueError:
        return False


def _settled_rows(facts: _Facts, race_id: UUID) -> dict[tuple[str, str], int]:
    """The race's authorized amounts per (kind, recipient), less its late-ticket refunds."""
    rows = dict(facts.authorized.get(race_id, {}))
    for key, amount in facts.late.get(race_id, {}).items():
        rows[key] = rows.get(key, 0) - amount
    return {key: amount for key, amount in rows.items() if amount}


def _cancelled(facts: _Facts, race_id: UUID) -> Found:
    """A cancelled race's placed stakes are refunded to their payers, to the wei."""
    expected: dict[tuple[str, str], int] = defaultdict(int)
    for payer, stake in facts.placed.get(race_id, {}).values():
        expected[("refund", payer)] += stake
    if not expected or race_id not in facts.recorded:
        return []
    if _settled_rows(facts, race_id) != dict(expected):
        return [("ticket_settled_once", (str(race_id),), "a cancelled race's refunds differ")]
    return []


def _events(application: ClashApplication) -> Iterator[Any]:
    position = 0
    while batch := application.recorder.select_notifications(
        start=position, limit=PAGE, inclusive_of_start=False
    ):
        for notification in batch:
            yield application.mapper.to_domain_event(notification)
        position = batch[-1].id
