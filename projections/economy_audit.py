"""The economy reconciliation: fold the economy's event log and check the money facts agree.

Reads every event of the economy application from the start of its notification log (as
the prop audit does), never a read model or an aggregate's current state, and checks:

- every honoured purchase has exactly one tier grant referencing it (source
  ``audition_fee``, reference = purchase id) and exactly one ``AttemptsGranted``; a fee
  grant or an attempts grant naming no purchase is a breach too;
- every unhonoured receipt (a spent receipt nonce without a purchase) has exactly one refund;
- receipt nonces are unique per vault signer: at most one purchase or refund per
  ``(signer, nonce)``, and every purchase and refund has its spent ``ReceiptNonce``;
- the wei total of honoured purchases equals the sum of the fees their quotes recorded
  (each purchase against its quote, then the totals);
- refunds never exceed the money received for their receipt (the purchase's amount, or for
  an unhonoured receipt the amount its first refund recorded as received);
- every refund's withdrawal signatures (opened and re-signed) are the refund key's over the
  refund's terms with ``nonce = refund id`` (the record does not store the nonce, so a
  signature over any other nonce or amount fails to recover to the refund signer).

A voided audition's refund (id ``voided_refund_id_for(audition)``) spends no receipt nonce
of its own: it returns the money its audition's purchase received, so it counts against
that purchase's receipt (and "refunds never above fees paid" sums both kinds). Given the
lifecycle application, the audition checks of ``projections/audition_audit.py`` run too:
every consumed attempt belongs to one audition, every voided audition has one refund; and
``projections/race_pool_audit.py``: race pools conserved, tickets settled once,
authorizations matching the settlement rows, no wallet refunded more than it paid.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from domain.economy.application import Economy
from domain.economy.grants import CloneEntitlement, GrantSource
from domain.economy.nonces import ReceiptKind, ReceiptNonce
from domain.economy.purchases import (
    AuditionAttempts,
    Purchase,
    Quote,
    Refund,
    voided_refund_id_for,
)
from domain.economy.tickets import PoolBook, TicketRefund
from domain.economy.typed_data import address_of_key, recover_typed_signer
from domain.economy.withdrawals import Withdrawal, withdrawal_nonce_for
from domain.lifecycle.application import Lifecycle
from projections.audition_audit import audit_auditions
from projections.race_pool_audit import audit_race_pools

PAGE = 1000


@dataclass(frozen=True)
class Breach:
    """One broken invariant: its kind, the ids involved, and what was found."""

    kind: str
    ids: tuple[str, ...]
    detail: str


@dataclass(frozen=True)
class EconomyAuditReport:
    """What the reconciliation read, how many facts each check covered, and the breaches."""

    events: int
    checked: dict[str, int]
    totals: dict[str, str]
    breaches: tuple[Breach, ...]

    @property
    def ok(self) -> bool:
        """Whether every invariant holds."""
        return not self.breaches


@dataclass
class _Log:
    """The facts folded from the economy's events."""

    purchases: dict[UUID, Purchase.Made] = field(default_factory=dict)
    refunds: dict[UUID, Refund.Opened] = field(default_factory=dict)
    signatures: dict[UUID, list[tuple[int, str]]] = field(default_factory=dict)
    quotes: dict[UUID, Quote.Issued] = field(default_factory=dict)
    nonces: list[ReceiptNonce.Consumed] = field(default_factory=list)
    fee_grants: dict[str, list[UUID]] = field(default_factory=lambda: defaultdict(list))
    attempts_grants: dict[UUID, list[UUID]] = field(default_factory=lambda: defaultdict(list))
    void_refunds: set[UUID] = field(default_factory=set)
    ticket_references: set[str] = field(default_factory=set)
    tickets: set[str] = field(default_factory=set)
    ticket_refunds: set[str] = field(default_factory=set)


def audit_economy(economy: Economy, lifecycle: Lifecycle | None = None) -> EconomyAuditReport:
    """Fold the economy's event log from the start and check every money invariant.

    With ``lifecycle``, the auditions are reconciled with the attempts and refunds too.
    """
    log = _Log()
    events = 0
    for event in _all_events(economy):
        events += 1
        _fold(log, event)
    breaches: list[Breach] = []
    breaches += _grants(log)
    keys, nonce_breaches = _receipts(log, economy)
    breaches += nonce_breaches
    fee_breaches, totals = _fees(log)
    breaches += fee_breaches
    breaches += _refunds_within_received(log, keys)
    withdrawal_breaches, signatures = _withdrawals(log, economy)
    breaches += withdrawal_breaches
    checked = {
        "purchases": len(log.purchases),
        "refunds": len(log.refunds),
        "receipt_nonces": len(log.nonces),
        "quotes": len(log.quotes),
        "fee_grants": sum(len(v) for v in log.fee_grants.values()),
        "attempts_grants": sum(len(v) for v in log.attempts_grants.values()),
        "withdrawal_signatures": signatures,
    }
    if lifecycle is not None:
        for audit in (audit_auditions, audit_race_pools):
            found, counts = audit(economy, lifecycle)
            breaches += [Breach(kind, ids, detail) for kind, ids, detail in found]
            checked |= counts
    return EconomyAuditReport(events, checked, totals, tuple(breaches))


def _all_events(economy: Economy) -> Iterator[Any]:
    position = 0
    while batch := economy.recorder.select_notifications(
        start=position, limit=PAGE, inclusive_of_start=False
    ):
        for notification in batch:
            yield economy.mapper.to_domain_event(notification)
        position = batch[-1].id


def _fold(log: _Log, event: Any) -> None:
    if isinstance(event, Purchase.Made):
        log.purchases[event.originator_id] = event
    elif isinstance(event, Refund.Opened):
        log.refunds[event.originator_id] = event
        if _is_void_refund(event):
            log.void_refunds.add(event.originator_id)
        log.signatures[event.originator_id] = [(event.deadline, event.signature)]
    elif isinstance(event, Refund.Resigned):
        log.signatures.setdefault(event.originator_id, []).append((event.deadline, event.signature))
    elif isinstance(event, Quote.Issued):
        log.quotes[event.originator_id] = event
    elif isinstance(event, ReceiptNonce.Consumed):
        log.nonces.append(event)
        if event.kind == ReceiptKind.TICKET.value:
            log.ticket_references.add(event.reference)
    elif isinstance(event, PoolBook.TicketPlaced):
        log.tickets.add(str(event.ticket_id))
    elif isinstance(event, TicketRefund.Opened):
        log.ticket_refunds.add(str(event.originator_id))
    elif isinstance(event, CloneEntitlement.TierGranted):
        if event.source == GrantSource.AUDITION_FEE.value:
            log.fee_grants[str(event.reference)].append(event.originator_id)
    elif isinstance(event, AuditionAttempts.AttemptsGranted):
        log.attempts_grants[event.purchase_id].append(event.originator_id)


def _grants(log: _Log) -> list[Breach]:
    breaches: list[Breach] = []
    for purchase_id in log.purchases:
        tiers = log.fee_grants.get(str(purchase_id), [])
        if len(tiers) != 1:
            ids = (str(purchase_id), *(str(e) for e in tiers))
            detail = f"{len(tiers)} audition_fee tier grants reference the purchase, expected 1"
            breaches.append(Breach("purchase_tier_grants", ids, detail))
        attempts = log.attempts_grants.get(purchase_id, [])
        if len(attempts) != 1:
            ids = (str(purchase_id), *(str(a) for a in attempts))
            detail = f"{len(attempts)} attempts grants reference the purchase, expected 1"
            breaches.append(Breach("purchase_attempts_grants", ids, detail))
    known = {str(p) for p in log.purchases}
    for reference, entitlements in log.fee_grants.items():
        if reference not in known:
            ids = (reference, *(str(e) for e in entitlements))
            detail = "an audition_fee tier grant references no purchase"
            breaches.append(Breach("purchase_tier_grants", ids, detail))
    for purchase_id, holders in log.attempts_grants.items():
        if purchase_id not in log.purchases:
            ids = (str(purchase_id), *(str(a) for a in holders))
            breaches.append(
                Breach("purchase_attempts_grants", ids, "an attempts grant references no purchase")
            )
    return breaches


def _receipts(log: _Log, economy: Economy) -> tuple[dict[UUID, tuple[str, int]], list[Breach]]:
    """Each purchase's and refund's receipt ``(signer, nonce)``, and the nonce breaches."""
    spent: dict[tuple[str, int], list[ReceiptNonce.Consumed]] = defaultdict(list)
    by_reference: dict[str, ReceiptNonce.Consumed] = {}
    for consumed in log.nonces:
        spent[(consumed.signer.lower(), int(consumed.nonce))].append(consumed)
        by_reference[consumed.reference] = consumed
    terms = getattr(economy, "vault", None)
    configured = "" if terms is None else str(terms.vault_signer).lower()
    keys: dict[UUID, tuple[str, int]] = {}
    for purchase_id, made in log.purchases.items():
        keys[purchase_id] = (made.signer.lower(), int(made.nonce))
    for refund_id, opened in log.refunds.items():
        if refund_id in log.void_refunds:
            continue
        spender = by_reference.get(str(refund_id))
        signer = spender.signer.lower() if spender is not None else configured
        keys[refund_id] = (signer, int(opened.receipt_nonce))
    records: dict[tuple[str, int], list[UUID]] = defaultdict(list)
    for record_id, key in keys.items():
        records[key].append(record_id)
    breaches: list[Breach] = []
    for (signer, nonce), record_ids in sorted(records.items()):
        named = tuple(str(i) for i in record_ids)
        if len(record_ids) > 1:
            breaches.append(
                Breach(
                    "receipt_nonces_unique",
                    named,
                    f"signer={signer} nonce={nonce} pays {len(record_ids)} purchases/refunds",
                )
            )
        if (signer, nonce) not in spent:
            breaches.append(
                Breach(
                    "receipt_nonces_unique",
                    named,
                    f"signer={signer} nonce={nonce} has no ReceiptNonce spent",
                )
            )
    for (signer, nonce), consumptions in spent.items():
        if all(c.kind == ReceiptKind.TICKET.value for c in consumptions):
            breaches += _ticket_nonce(log, signer, nonce, consumptions)
            continue
        on_it = records.get((signer, nonce), [])
        if any(i in log.purchases for i in on_it):
            continue
        refunds = [i for i in on_it if i in log.refunds]
        if len(refunds) != 1:
            ids = (*(str(c.originator_id) for c in consumptions), *(str(r) for r in refunds))
            breaches.append(
                Breach(
                    "unhonoured_receipt_refunds",
                    ids,
                    f"signer={signer} nonce={nonce} unhonoured with {len(refunds)} refunds, "
                    "expected 1",
                )
            )
    breaches += _void_refund_keys(log, keys)
    return keys, breaches


def _ticket_nonce(
    log: _Log, signer: str, nonce: int, consumptions: list[ReceiptNonce.Consumed]
) -> list[Breach]:
    """A ticket receipt's nonce paid for exactly one placed ticket or one ticket refund."""
    paid = [c.reference for c in consumptions if c.reference in log.tickets | log.ticket_refunds]
    if len(consumptions) == 1 and len(paid) == 1:
        return []
    ids = tuple(str(c.originator_id) for c in consumptions)
    detail = f"signer={signer} nonce={nonce} pays {len(paid)} tickets or ticket refunds, expected 1"
    return [Breach("receipt_nonces_unique", ids, detail)]


def _is_void_refund(opened: Refund.Opened) -> bool:
    try:
        audition_id = UUID(opened.audition_id)
    except ValueError:
        return False
    return opened.originator_id == voided_refund_id_for(audition_id)


def _void_refund_keys(log: _Log, keys: dict[UUID, tuple[str, int]]) -> list[Breach]:
    """Key each voided audition's refund by its purchase's receipt (after the nonce checks)."""
    paid_for = {made.audition_id: purchase_id for purchase_id, made in log.purchases.items()}
    breaches: list[Breach] = []
    for refund_id in sorted(log.void_refunds):
        audition_id = log.refunds[refund_id].audition_id
        purchase_id = paid_for.get(audition_id)
        if purchase_id is None:
            detail = f"audition={audition_id} was refunded as voided but no purchase paid for it"
            breaches.append(Breach("voided_audition_refunds", (str(refund_id),), detail))
            continue
        keys[refund_id] = keys[purchase_id]
    return breaches


def _fees(log: _Log) -> tuple[list[Breach], dict[str, str]]:
    breaches: list[Breach] = []
    purchased = fees = 0
    for purchase_id, made in log.purchases.items():
        amount = int(made.amount_wei)
        purchased += amount
        quote = log.quotes.get(made.quote_id)
        fee = 0 if quote is None else int(quote.amount_wei)
        fees += fee
        if quote is None or fee != amount:
            found = "no quote" if quote is None else f"fee={fee}"
            breaches.append(
                Breach(
                    "fee_totals",
                    (str(purchase_id), str(made.quote_id)),
                    f"purchase amount={amount} but its quote has {found}",
                )
            )
    if purchased != fees:
        breaches.append(
            Breach("fee_totals", (), f"purchases total={purchased} wei, fees total={fees} wei")
        )
    refunded = sum(int(r.amount_wei) for r in log.refunds.values())
    totals = {"purchases_wei": str(purchased), "fees_wei": str(fees), "refunds_wei": str(refunded)}
    return breaches, totals


def _refunds_within_received(log: _Log, keys: dict[UUID, tuple[str, int]]) -> list[Breach]:
    purchase_on: dict[tuple[str, int], UUID] = {}
    for purchase_id in log.purchases:
        purchase_on.setdefault(keys[purchase_id], purchase_id)
    refunds_on: dict[tuple[str, int], list[UUID]] = defaultdict(list)
    for refund_id in log.refunds:  # log order: the first refund records the money received
        if refund_id not in keys:
            continue  # a voided audition's refund without a purchase, reported above
        refunds_on[keys[refund_id]].append(refund_id)
    breaches: list[Breach] = []
    for key, refund_ids in refunds_on.items():
        paid = purchase_on.get(key)
        if paid is not None:
            received = int(log.purchases[paid].amount_wei)
        else:
            received = int(log.refunds[refund_ids[0]].amount_wei)
        refunded = sum(int(log.refunds[r].amount_wei) for r in refund_ids)
        if refunded > received:
            ids = (*(str(r) for r in refund_ids), *([str(paid)] if paid else []))
            breaches.append(
                Breach(
                    "refund_within_received",
                    ids,
                    f"refunded={refunded} wei > received={received} wei for signer={key[0]} "
                    f"nonce={key[1]}",
                )
            )
    return breaches


def _withdrawals(log: _Log, economy: Economy) -> tuple[list[Breach], int]:
    terms = getattr(economy, "vault", None)
    if terms is None:  # no vault configured: nothing to verify the signatures against
        return [], 0
    refund_signer = address_of_key(terms.refund_private_key)
    breaches: list[Breach] = []
    checked = 0
    for refund_id, opened in log.refunds.items():
        for deadline, signature in log.signatures.get(refund_id, []):
            checked += 1
            document = Withdrawal(
                user=opened.payer,
                amount_wei=int(opened.amount_wei),
                audition_id=opened.audition_id,
                nonce=withdrawal_nonce_for(refund_id),
                deadline=deadline,
            ).document(terms.domain)
            if recover_typed_signer(document, signature) != refund_signer:
                breaches.append(
                    Breach(
                        "withdrawal_nonce",
                        (str(refund_id),),
                        f"the withdrawal signed for deadline={deadline} is not the refund key's "
                        "over the refund's terms with nonce = refund id",
                    )
                )
    return breaches, checked


__all__ = ["Breach", "EconomyAuditReport", "audit_economy"]
