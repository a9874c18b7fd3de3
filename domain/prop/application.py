"""The prop module's eventsourcing application: the ledger's Python API.

Each method loads the account, runs one command (``trading``) under the market clock and
saves, retrying a bounded number of times when a concurrent save wins. Instruments and
marks come through the :class:`MarketView` port (market memory in production, a fixed
table in tests and scenarios), read at the market time of the command.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from domain.application import ClashApplication
from domain.market.instruments import Instrument
from domain.prop import trading
from domain.prop.account import PropAccount, account_id_for
from domain.prop.errors import AccountNotFound, InvalidCommand
from domain.prop.orders import MarketOrder
from domain.prop.rules import Purpose, RuleSet

T = TypeVar("T")


@dataclass(frozen=True)
class FillFact:
    """A fill as other modules read it: when, what it realized and what it cost."""

    version: int
    at: datetime
    realized_pnl_micros: int
    fee_micros: int


class MarketView(Protocol):
    """What the ledger reads of market memory."""

    def instrument(self, asset: str, at: datetime) -> Instrument | None:
        """The registry version in force at ``at``."""
        ...

    def mark(self, asset: str, at: datetime) -> Decimal | None:
        """The latest mark at or before ``at``."""
        ...


class PropLedger(ClashApplication):
    """Prop accounts: open, trade, mark, fund, administer."""

    name = "prop"
    market: MarketView | None = None

    def bind_market(self, market: MarketView) -> None:
        """Set where instruments and marks come from."""
        self.market = market

    def open_account(
        self, *, cause: str, owner: str, purpose: Purpose, rules: RuleSet, collateral_micros: int
    ) -> UUID:
        """Open the account for ``cause`` (its id derives from it, so retries open it once)."""
        account_id = account_id_for(cause)

        def command() -> UUID:
            # Checked inside the retried command: a concurrent open of the same cause makes
            # this save conflict, and the retry then finds the account and returns it.
            if account_id in self.repository:
                return account_id
            self.save(
                trading.open_account(
                    account_id,
                    owner=owner,
                    purpose=purpose,
                    cause=cause,
                    rules=rules,
                    collateral_micros=collateral_micros,
                )
            )
            return account_id

        return self.run_command(command)

    def account(self, account_id: UUID) -> PropAccount:
        """Load an account, or raise :class:`AccountNotFound`."""
        try:
            account: PropAccount = self.repository.get(account_id)
        except AggregateNotFoundError:
            raise AccountNotFound(f"account={account_id}") from None
        return account

    def submit_order(self, account_id: UUID, order: MarketOrder) -> trading.OrderOutcome:
        """Fill or reject a market order against the current mark (or its stated price)."""

        if order.reference_price is not None and order.reference_price <= 0:
            raise InvalidCommand(f"reference_price={order.reference_price} must be positive")

        def command(account: PropAccount, now: datetime) -> trading.OrderOutcome:
            instrument = self._market().instrument(order.asset, now)
            reference = order.reference_price
            if reference is None:
                reference = self._market().mark(order.asset, now)
            return trading.submit_order(
                account, order, instrument, reference, self._marks(account, now)
            )

        return self._on_account(account_id, command)

    def close_position(
        self, account_id: UUID, asset: str, *, client_order_id: str
    ) -> trading.OrderOutcome:
        """Close the whole position in ``asset`` with a reduce-only market order."""
        account = self.account(account_id)
        held = account.positions.get(asset)
        size = abs(held["size"]) if held else Decimal(0)
        side = trading.Side.SELL if held and held["size"] > 0 else trading.Side.BUY
        leverage = int(held["leverage"]) if held else 1
        order = MarketOrder(
            client_order_id,
            asset,
            side,
            size if size > 0 else Decimal(1),
            leverage,
            reduce_only=True,
        )
        return self.submit_order(account_id, order)

    def apply_marks(self, account_id: UUID, marks: Mapping[str, Decimal]) -> list[str]:
        """Run stop-loss, take-profit and liquidation checks at these marks."""

        def command(account: PropAccount, now: datetime) -> list[str]:
            return trading.apply_marks(account, marks, self._instruments(account, now), now)

        return self._on_account(account_id, command)

    def apply_funding(
        self,
        account_id: UUID,
        *,
        asset: str,
        period: datetime,
        rate: Decimal,
        oracle_price: Decimal,
    ) -> bool:
        """Settle one funding period (at most once per asset and period)."""
        return self._on_account(
            account_id,
            lambda account, _: trading.apply_funding(
                account, asset=asset, period=period, rate=rate, oracle_price=oracle_price
            ),
        )

    def freeze(self, account_id: UUID, *, reason: str, admin: str) -> None:
        """Stop an account from trading."""
        self._on_account(account_id, lambda a, _: trading.freeze(a, reason=reason, admin=admin))

    def unfreeze(self, account_id: UUID, *, reason: str, admin: str) -> None:
        """Let a frozen account trade again."""
        self._on_account(account_id, lambda a, _: trading.unfreeze(a, reason=reason, admin=admin))

    def adjust(self, account_id: UUID, *, amount: Decimal, reason: str, admin: str) -> None:
        """Record a correcting entry."""
        self._on_account(
            account_id, lambda a, _: trading.adjust(a, amount=amount, reason=reason, admin=admin)
        )

    def close_all(self, account_id: UUID, *, admin: str) -> int:
        """Close every position at its mark."""

        def command(account: PropAccount, now: datetime) -> int:
            return trading.close_all(
                account,
                self._marks(account, now),
                self._instruments(account, now),
                admin=admin,
                at=now,
            )

        return self._on_account(account_id, command)

    def close_account(self, account_id: UUID, *, reason: str, admin: str) -> None:
        """Close a flat account."""
        self._on_account(
            account_id, lambda a, _: trading.close_account(a, reason=reason, admin=admin)
        )

    def fills_since(self, account_id: UUID, version: int) -> list[FillFact]:
        """The account's fills recorded after ``version``, oldest first (the evaluator's feed)."""
        events = self.repository.event_store.get(account_id, gt=version)
        return [
            FillFact(e.originator_version, e.timestamp, e.realized_pnl_micros, e.fee_micros)
            for e in events
            if isinstance(e, PropAccount.OrderFilled)
        ]

    def account_before(self, account_id: UUID, instant: datetime) -> PropAccount:
        """The account as it stood just before ``instant`` (its events stamped earlier)."""
        events = [
            e
            for e in self.repository.event_store.get(account_id)
            if isinstance(e, PropAccount.Event)
        ]
        version = max((e.originator_version for e in events if e.timestamp < instant), default=0)
        if version == 0:
            raise AccountNotFound(f"account={account_id} at={instant.isoformat()}")
        account: PropAccount = self.repository.get(account_id, version=version)
        return account

    def liquidated_between(self, account_id: UUID, start: datetime, end: datetime) -> bool:
        """Whether the account was liquidated in ``[start, end)``."""
        return any(
            isinstance(e, PropAccount.Liquidated) and start <= e.timestamp < end
            for e in self.repository.event_store.get(account_id)
        )

    def _on_account(self, account_id: UUID, command: Callable[[PropAccount, datetime], T]) -> T:
        def run() -> T:
            account = self.account(account_id)
            result = command(account, self.clock.now())
            if account.pending_events:
                self.save(account)
            return result

        return self.run_command(run)

    def _market(self) -> MarketView:
        if self.market is None:
            raise RuntimeError("bind_market() first: the ledger needs instruments and marks")
        return self.market

    def _marks(self, account: PropAccount, now: datetime) -> dict[str, Decimal]:
        marks = {}
        for asset in account.positions:
            mark = self._market().mark(asset, now)
            if mark is not None:
                marks[asset] = mark
        return marks

    def _instruments(self, account: PropAccount, now: datetime) -> dict[str, Instrument]:
        found = {a: self._market().instrument(a, now) for a in account.positions}
        return {a: i for a, i in found.items() if i is not None}
