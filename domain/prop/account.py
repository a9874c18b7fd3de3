"""The PropAccount aggregate: USDC collateral in micro-units, cross-margined perp positions.

Decide, then evolve: each command reads the state, runs the pure rules (``orders.decide``,
``positions``, ``margin``) and triggers one past-tense event; each event's ``apply`` only
assigns. Every cash movement travels on its event as balanced postings (quantized once, in
``money``), and the collateral is the sum of the postings to the account's collateral
account, so ``balance == fold(events)`` by construction.

A mark update is not an event. Stop-loss, take-profit and liquidation happen on marks, and
are recorded as the fills they cause. Funding is recorded once per (asset, period).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar
from uuid import UUID, uuid5

from domain.aggregates import ClashAggregate
from domain.prop.money import Posting, collateral_account, micros_to_decimal

ACCOUNTS_NAMESPACE = UUID("6f3d3a4e-6a1c-4c55-9a51-6d1f8f0d5b11")


def account_id_for(cause: str) -> UUID:
    """The deterministic id of the account opened for ``cause`` (retries open it once)."""
    return uuid5(ACCOUNTS_NAMESPACE, cause)


def postings_document(postings: Sequence[Posting]) -> list[list[Any]]:
    """Postings as stored on events: ``[account, currency, amount_micros]``."""
    return [[p.account, p.currency, p.amount_micros] for p in postings]


class PropAccount(ClashAggregate):
    """A prop account (state is assigned only by the events below)."""

    TOPIC: ClassVar[str] = "prop.PropAccount"

    class Event(ClashAggregate.Event):
        TOPIC = "prop.PropAccount.Event"

    class Created(Event, ClashAggregate.Created):
        TOPIC = "prop.PropAccount.Created"

    class Opened(Created):
        TOPIC = "prop.PropAccount.Opened"
        owner: str
        purpose: str
        cause: str
        rules: dict[str, Any]
        postings: list[list[Any]]

    class OrderFilled(Event):
        TOPIC = "prop.PropAccount.OrderFilled"
        client_order_id: str
        fingerprint: str
        origin: str  # order | stop_loss | take_profit | close_all | liquidation
        asset: str
        size: Decimal  # signed, buy > 0
        fill_price: Decimal
        reference_price: Decimal
        fee_micros: int
        realized_pnl_micros: int
        leverage: int
        stop_loss: Decimal | None
        take_profit: Decimal | None
        instrument_version: int
        position_size: Decimal
        position_entry: Decimal | None
        postings: list[list[Any]]

        def apply(self, aggregate: PropAccount) -> None:
            aggregate.record_fill(self)

    class OrderRejected(Event):
        TOPIC = "prop.PropAccount.OrderRejected"
        client_order_id: str
        fingerprint: str
        asset: str
        size: Decimal
        reason: str
        detail: str

        def apply(self, aggregate: PropAccount) -> None:
            aggregate.orders[self.client_order_id] = {
                "fingerprint": self.fingerprint,
                "status": "rejected",
                "reason": self.reason,
                "version": self.originator_version,
            }

    class Liquidated(Event):
        TOPIC = "prop.PropAccount.Liquidated"
        account_value: Decimal
        maintenance_required: Decimal
        backstop: bool
        postings: list[list[Any]]

        def apply(self, aggregate: PropAccount) -> None:
            aggregate.liquidations += 1
            aggregate.backstop_micros += sum(
                int(p[2]) for p in self.postings if p[0] == collateral_account(str(aggregate.id))
            )
            aggregate.post(self.postings)

    class FundingApplied(Event):
        TOPIC = "prop.PropAccount.FundingApplied"
        asset: str
        period: datetime
        rate: Decimal
        oracle_price: Decimal
        size: Decimal
        payment_micros: int
        postings: list[list[Any]]

        def apply(self, aggregate: PropAccount) -> None:
            aggregate.funding_periods.add(funding_key(self.asset, self.period))
            aggregate.funding_micros += self.payment_micros
            aggregate.post(self.postings)

    class Frozen(Event):
        TOPIC = "prop.PropAccount.Frozen"
        reason: str
        admin: str

        def apply(self, aggregate: PropAccount) -> None:
            aggregate.status = "frozen"

    class Unfrozen(Event):
        TOPIC = "prop.PropAccount.Unfrozen"
        reason: str
        admin: str

        def apply(self, aggregate: PropAccount) -> None:
            aggregate.status = "open"

    class Adjusted(Event):
        TOPIC = "prop.PropAccount.Adjusted"
        amount_micros: int
        reason: str
        admin: str
        postings: list[list[Any]]

        def apply(self, aggregate: PropAccount) -> None:
            aggregate.adjustments_micros += self.amount_micros
            aggregate.post(self.postings)

    class Closed(Event):
        TOPIC = "prop.PropAccount.Closed"
        reason: str
        admin: str

        def apply(self, aggregate: PropAccount) -> None:
            aggregate.status = "closed"

    def __init__(
        self,
        *,
        owner: str,
        purpose: str,
        cause: str,
        rules: dict[str, Any],
        postings: list[list[Any]],
    ) -> None:
        self.owner, self.purpose, self.cause, self.rules = owner, purpose, cause, rules
        self.status = "open"
        self.collateral_micros = self.fees_micros = self.funding_micros = 0
        self.realized_micros = self.adjustments_micros = self.liquidations = 0
        self.backstop_micros = 0
        self.positions: dict[str, dict[str, Any]] = {}
        self.orders: dict[str, dict[str, Any]] = {}
        self.funding_periods: set[str] = set()
        self.post(postings)
        self.opening_micros = self.collateral_micros  # the return base of the account

    def post(self, postings: list[list[Any]]) -> None:
        """Add this account's share of ``postings`` to its collateral (evolve only)."""
        mine = collateral_account(str(self.id))
        self.collateral_micros += sum(int(p[2]) for p in postings if p[0] == mine)

    def record_fill(self, event: PropAccount.OrderFilled) -> None:
        """Assign a fill's effects (evolve only)."""
        self.fees_micros += event.fee_micros
        self.realized_micros += event.realized_pnl_micros
        self.post(event.postings)
        if event.position_entry is None:
            self.positions.pop(event.asset, None)
        else:
            self.positions[event.asset] = {
                "size": event.position_size,
                "entry_price": event.position_entry,
                "leverage": event.leverage,
                "stop_loss": event.stop_loss,
                "take_profit": event.take_profit,
                "instrument_version": event.instrument_version,
            }
        if event.origin == "order":
            self.orders[event.client_order_id] = {
                "fingerprint": event.fingerprint,
                "status": "filled",
                "version": event.originator_version,
            }

    @property
    def collateral(self) -> Decimal:
        """Collateral in USDC."""
        return micros_to_decimal(self.collateral_micros)


def funding_key(asset: str, period: datetime) -> str:
    """The identity of one funding period of one asset (applied at most once)."""
    return f"{asset}@{period.isoformat()}"
