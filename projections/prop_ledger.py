"""The prop ledger's read models: accounts, positions, fills, orders, postings journal.

One projection folds the ``prop`` log into five tables. Each branch of the ``match`` writes
the rows its event implies; other events write nothing (the tracking still advances). The
account row keeps the folded totals (collateral, realized PnL, fees, funding, adjustments);
account value, margin used and free collateral depend on marks and are computed at read
time (``domain.prop.valuation``), never stored. Money is integer micros, prices and sizes
decimal text, instants epoch microseconds (``adapters.database`` conventions).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from adapters.database import Session, to_micros
from domain.prop.account import PropAccount
from projections.runner import Projection

_TABLES = {
    "prop_accounts_view": """CREATE TABLE IF NOT EXISTS prop_accounts_view (
        account_id TEXT PRIMARY KEY, owner TEXT NOT NULL, purpose TEXT NOT NULL,
        status TEXT NOT NULL, collateral_micros BIGINT NOT NULL, realized_micros BIGINT NOT NULL,
        fees_micros BIGINT NOT NULL, funding_micros BIGINT NOT NULL,
        adjustments_micros BIGINT NOT NULL, liquidations BIGINT NOT NULL,
        opened_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, version BIGINT NOT NULL)""",
    "prop_positions_view": """CREATE TABLE IF NOT EXISTS prop_positions_view (
        account_id TEXT NOT NULL, asset TEXT NOT NULL, size TEXT NOT NULL,
        entry_price TEXT NOT NULL, leverage BIGINT NOT NULL, stop_loss TEXT, take_profit TEXT,
        instrument_version BIGINT NOT NULL, updated_at BIGINT NOT NULL,
        PRIMARY KEY (account_id, asset))""",
    "prop_fills_view": """CREATE TABLE IF NOT EXISTS prop_fills_view (
        account_id TEXT NOT NULL, version BIGINT NOT NULL, client_order_id TEXT NOT NULL,
        origin TEXT NOT NULL, asset TEXT NOT NULL, size TEXT NOT NULL, fill_price TEXT NOT NULL,
        reference_price TEXT NOT NULL, fee_micros BIGINT NOT NULL,
        realized_pnl_micros BIGINT NOT NULL, instrument_version BIGINT NOT NULL,
        at BIGINT NOT NULL, PRIMARY KEY (account_id, version))""",
    "prop_orders_view": """CREATE TABLE IF NOT EXISTS prop_orders_view (
        account_id TEXT NOT NULL, client_order_id TEXT NOT NULL, status TEXT NOT NULL,
        reason TEXT, detail TEXT, asset TEXT NOT NULL, size TEXT NOT NULL,
        version BIGINT NOT NULL, at BIGINT NOT NULL, PRIMARY KEY (account_id, client_order_id))""",
    "prop_postings_view": """CREATE TABLE IF NOT EXISTS prop_postings_view (
        account_id TEXT NOT NULL, version BIGINT NOT NULL, seq BIGINT NOT NULL,
        ledger_account TEXT NOT NULL, currency TEXT NOT NULL, amount_micros BIGINT NOT NULL,
        at BIGINT NOT NULL, PRIMARY KEY (account_id, version, seq))""",
}


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


class PropLedgerProjection(Projection):
    """Accounts, positions, fills, orders and postings of the prop ledger."""

    name = "prop_ledger"
    version = 1
    tables = tuple(_TABLES)

    def create(self, session: Session) -> None:
        for statement in _TABLES.values():
            session.execute(statement)

    def apply(self, session: Session, event: Any, position: int) -> None:
        match event:
            case PropAccount.Opened():
                self._opened(session, event)
            case PropAccount.OrderFilled():
                self._filled(session, event)
            case PropAccount.OrderRejected():
                self._rejected(session, event)
            case PropAccount.FundingApplied():
                self._totals(session, event, funding=event.payment_micros)
            case PropAccount.Adjusted():
                self._totals(session, event, adjustments=event.amount_micros)
            case PropAccount.Liquidated():
                self._totals(session, event, liquidations=1)
            case PropAccount.Frozen() | PropAccount.Unfrozen() | PropAccount.Closed():
                status = {"Frozen": "frozen", "Unfrozen": "open", "Closed": "closed"}[
                    type(event).__name__
                ]
                self._totals(session, event, status=status)
            case _:
                return
        self._journal(session, event)

    def _opened(self, session: Session, event: PropAccount.Opened) -> None:
        at = to_micros(event.timestamp)
        session.execute(
            "INSERT INTO prop_accounts_view (account_id, owner, purpose, status, collateral_micros,"
            " realized_micros, fees_micros, funding_micros, adjustments_micros, liquidations,"
            " opened_at, updated_at, version) VALUES (%s, %s, %s, 'open', 0, 0, 0, 0, 0, 0, %s,"
            " %s, %s)",
            (
                str(event.originator_id),
                event.owner,
                event.purpose,
                at,
                at,
                event.originator_version,
            ),
        )

    def _filled(self, session: Session, event: PropAccount.OrderFilled) -> None:
        account, at = str(event.originator_id), to_micros(event.timestamp)
        session.execute(
            "INSERT INTO prop_fills_view (account_id, version, client_order_id, origin, asset,"
            " size, fill_price, reference_price, fee_micros, realized_pnl_micros,"
            " instrument_version, at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                account,
                event.originator_version,
                event.client_order_id,
                event.origin,
                event.asset,
                str(event.size),
                str(event.fill_price),
                str(event.reference_price),
                event.fee_micros,
                event.realized_pnl_micros,
                event.instrument_version,
                at,
            ),
        )
        self._position(session, event, account, at)
        if event.origin == "order":
            self._order(
                session,
                account,
                event.client_order_id,
                "filled",
                None,
                None,
                event.asset,
                event.size,
                event.originator_version,
                at,
            )
        self._totals(session, event, realized=event.realized_pnl_micros, fees=event.fee_micros)

    def _position(
        self, session: Session, event: PropAccount.OrderFilled, account: str, at: int
    ) -> None:
        session.execute(
            "DELETE FROM prop_positions_view WHERE account_id = %s AND asset = %s",
            (account, event.asset),
        )
        if event.position_entry is None:
            return
        session.execute(
            "INSERT INTO prop_positions_view (account_id, asset, size, entry_price, leverage,"
            " stop_loss, take_profit, instrument_version, updated_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                account,
                event.asset,
                str(event.position_size),
                str(event.position_entry),
                event.leverage,
                _text(event.stop_loss),
                _text(event.take_profit),
                event.instrument_version,
                at,
            ),
        )

    def _rejected(self, session: Session, event: PropAccount.OrderRejected) -> None:
        self._order(
            session,
            str(event.originator_id),
            event.client_order_id,
            "rejected",
            event.reason,
            event.detail,
            event.asset,
            event.size,
            event.originator_version,
            to_micros(event.timestamp),
        )
        self._totals(session, event)

    def _order(
        self,
        session: Session,
        account: str,
        client_order_id: str,
        status: str,
        reason: str | None,
        detail: str | None,
        asset: str,
        size: Decimal,
        version: int,
        at: int,
    ) -> None:
        session.execute(
            "INSERT INTO prop_orders_view (account_id, client_order_id, status, reason, detail,"
            " asset, size, version, at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (account, client_order_id, status, reason, detail, asset, str(size), version, at),
        )

    def _totals(
        self,
        session: Session,
        event: Any,
        *,
        realized: int = 0,
        fees: int = 0,
        funding: int = 0,
        adjustments: int = 0,
        liquidations: int = 0,
        status: str | None = None,
    ) -> None:
        session.execute(
            "UPDATE prop_accounts_view SET realized_micros = realized_micros + %s,"
            " fees_micros = fees_micros + %s, funding_micros = funding_micros + %s,"
            " adjustments_micros = adjustments_micros + %s, liquidations = liquidations + %s,"
            " status = COALESCE(%s, status), updated_at = %s, version = %s"
            " WHERE account_id = %s",
            (
                realized,
                fees,
                funding,
                adjustments,
                liquidations,
                status,
                to_micros(event.timestamp),
                event.originator_version,
                str(event.originator_id),
            ),
        )

    def _journal(self, session: Session, event: Any) -> None:
        postings = getattr(event, "postings", [])
        if not postings:
            return
        account, at = str(event.originator_id), to_micros(event.timestamp)
        session.execute_many(
            "INSERT INTO prop_postings_view (account_id, version, seq, ledger_account, currency,"
            " amount_micros, at) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            [
                (account, event.originator_version, seq, p[0], p[1], int(p[2]), at)
                for seq, p in enumerate(postings)
            ],
        )
        mine = sum(int(p[2]) for p in postings if p[0] == f"prop:{account}:collateral")
        session.execute(
            "UPDATE prop_accounts_view SET collateral_micros = collateral_micros + %s"
            " WHERE account_id = %s",
            (mine, account),
        )
