"""Reads of the prop read models, as frozen rows (never raw dicts across layers).

Pages are keyed (``after`` the last sort key returned), capped by the caller. Valuation at
marks is not here: it is computed from these rows by ``domain.prop.valuation``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from adapters.database import Database, from_micros
from projections.prop_ledger import PropLedgerProjection
from projections.view_reader import ViewReader


@dataclass(frozen=True)
class AccountRow:
    """Folded totals of one account."""

    account_id: str
    owner: str
    purpose: str
    status: str
    collateral_micros: int
    realized_micros: int
    fees_micros: int
    funding_micros: int
    adjustments_micros: int
    liquidations: int
    opened_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class PositionRow:
    """One open position."""

    asset: str
    size: Decimal
    entry_price: Decimal
    leverage: int
    stop_loss: Decimal | None
    take_profit: Decimal | None
    instrument_version: int


@dataclass(frozen=True)
class FillRow:
    """One fill (orders, triggers, close-all, liquidation)."""

    version: int
    client_order_id: str
    origin: str
    asset: str
    size: Decimal
    fill_price: Decimal
    fee_micros: int
    realized_pnl_micros: int
    instrument_version: int
    at: datetime


@dataclass(frozen=True)
class OrderRow:
    """One order and what became of it."""

    version: int
    client_order_id: str
    status: str
    reason: str | None
    asset: str
    size: Decimal
    at: datetime


@dataclass(frozen=True)
class SnapshotRow:
    """An equity snapshot written by the mark worker."""

    at: datetime
    collateral_micros: int
    account_value: Decimal
    unrealized_pnl: Decimal
    margin_used: Decimal


def _dec(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


class PropQueries(ViewReader):
    """Queries over the prop views and the snapshots table."""

    def __init__(self, database: Database) -> None:
        super().__init__(database, PropLedgerProjection())

    def account(self, account_id: str) -> AccountRow | None:
        """One account's folded totals, or ``None``."""
        row = self._one("SELECT * FROM prop_accounts_view WHERE account_id = %s", (account_id,))
        if row is None:
            return None
        return AccountRow(
            account_id=row["account_id"],
            owner=row["owner"],
            purpose=row["purpose"],
            status=row["status"],
            collateral_micros=row["collateral_micros"],
            realized_micros=row["realized_micros"],
            fees_micros=row["fees_micros"],
            funding_micros=row["funding_micros"],
            adjustments_micros=row["adjustments_micros"],
            liquidations=row["liquidations"],
            opened_at=from_micros(row["opened_at"]),
            updated_at=from_micros(row["updated_at"]),
        )

    def positions(self, account_id: str) -> list[PositionRow]:
        """Open positions by asset."""
        rows = self._all(
            "SELECT * FROM prop_positions_view WHERE account_id = %s ORDER BY asset", (account_id,)
        )
        return [
            PositionRow(
                r["asset"],
                Decimal(r["size"]),
                Decimal(r["entry_price"]),
                r["leverage"],
                _dec(r["stop_loss"]),
                _dec(r["take_profit"]),
                r["instrument_version"],
            )
            for r in rows
        ]

    def holders(self) -> dict[str, list[str]]:
        """Every account holding positions, with its assets."""
        holders: dict[str, list[str]] = {}
        for row in self._all(
            "SELECT account_id, asset FROM prop_positions_view ORDER BY account_id, asset", ()
        ):
            holders.setdefault(row["account_id"], []).append(row["asset"])
        return holders

    def fills(self, account_id: str, *, after: int, limit: int) -> list[FillRow]:
        """Fills after event version ``after``, oldest first."""
        rows = self._all(
            "SELECT * FROM prop_fills_view WHERE account_id = %s AND version > %s"
            " ORDER BY version LIMIT %s",
            (account_id, after, limit),
        )
        return [
            FillRow(
                r["version"],
                r["client_order_id"],
                r["origin"],
                r["asset"],
                Decimal(r["size"]),
                Decimal(r["fill_price"]),
                r["fee_micros"],
                r["realized_pnl_micros"],
                r["instrument_version"],
                from_micros(r["at"]),
            )
            for r in rows
        ]

    def orders(self, account_id: str, *, after: int, limit: int) -> list[OrderRow]:
        """Orders (filled and rejected) after event version ``after``, oldest first."""
        rows = self._all(
            "SELECT * FROM prop_orders_view WHERE account_id = %s AND version > %s"
            " ORDER BY version LIMIT %s",
            (account_id, after, limit),
        )
        return [
            OrderRow(
                r["version"],
                r["client_order_id"],
                r["status"],
                r["reason"],
                r["asset"],
                Decimal(r["size"]),
                from_micros(r["at"]),
            )
            for r in rows
        ]

    def snapshots(self, account_id: str, *, after: int, limit: int) -> list[SnapshotRow]:
        """Equity snapshots after instant ``after`` (epoch micros), oldest first."""
        rows = self._all(
            "SELECT * FROM prop_equity_snapshots WHERE account_id = %s AND at > %s"
            " ORDER BY at LIMIT %s",
            (account_id, after, limit),
        )
        return [
            SnapshotRow(
                from_micros(r["at"]),
                r["collateral_micros"],
                Decimal(r["account_value"]),
                Decimal(r["unrealized_pnl"]),
                Decimal(r["margin_used"]),
            )
            for r in rows
        ]
