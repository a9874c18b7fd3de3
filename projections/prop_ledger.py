"""The prop ledger's read models: accounts, positions, fills, orders, postings journal.

One projection folds the ``prop`` log into five tables. Each branch of the ``match`` collects
the rows its event implies; other events write nothing (the tracking still advances). A page
of events is folded in memory first and each table is then written once (``executemany``,
pipelined by psycopg), so round trips count per page, not per event. The
account row keeps the folded totals (collateral, realized PnL, fees, funding, adjustments);
account value, margin used and free collateral depend on marks and are computed at read
time (``domain.prop.valuation``), never stored. Money is integer micros, prices and sizes
decimal text, instants epoch microseconds (``adapters.database`` conventions).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
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


@dataclass
class _Totals:
    realized: int = 0
    fees: int = 0
    funding: int = 0
    adjustments: int = 0
    liquidations: int = 0
    collateral: int = 0
    status: str | None = None
    updated_at: int = 0
    version: int = 0


@dataclass
class _Page:
    """The rows a page of events implies, collected in memory and written once per table."""

    accounts: list[tuple[Any, ...]] = field(default_factory=list)
    fills: list[tuple[Any, ...]] = field(default_factory=list)
    orders: list[tuple[Any, ...]] = field(default_factory=list)
    postings: list[tuple[Any, ...]] = field(default_factory=list)
    positions: dict[tuple[str, str], tuple[Any, ...] | None] = field(default_factory=dict)
    totals: dict[str, _Totals] = field(default_factory=dict)

    def touch(self, event: Any, **deltas: int) -> _Totals:
        totals = self.totals.setdefault(str(event.originator_id), _Totals())
        for name, delta in deltas.items():
            setattr(totals, name, getattr(totals, name) + delta)
        totals.updated_at = to_micros(event.timestamp)
        totals.version = event.originator_version
        return totals


class PropLedgerProjection(Projection):
    """Accounts, positions, fills, orders and postings of the prop ledger."""

    name = "prop_ledger"
    version = 1
    tables = tuple(_TABLES)

    def create(self, session: Session) -> None:
        for statement in _TABLES.values():
            session.execute(statement)

    def apply(self, session: Session, event: Any, position: int) -> None:
        self.apply_page(session, [(event, position)])

    def apply_page(self, session: Session, events: Sequence[tuple[Any, int]]) -> None:
        page = _Page()
        for event, _ in events:
            self._fold(page, event)
        _flush(session, page)

    def _fold(self, page: _Page, event: Any) -> None:
        match event:
            case PropAccount.Opened():
                at = to_micros(event.timestamp)
                page.accounts.append(
                    (
                        str(event.originator_id),
                        event.owner,
                        event.purpose,
                        at,
                        at,
                        event.originator_version,
                    )
                )
            case PropAccount.OrderFilled():
                _filled(page, event)
            case PropAccount.OrderRejected():
                page.orders.append(_order_row(event, "rejected", event.reason, event.detail))
                page.touch(event)
            case PropAccount.FundingApplied():
                page.touch(event, funding=event.payment_micros)
            case PropAccount.Adjusted():
                page.touch(event, adjustments=event.amount_micros)
            case PropAccount.Liquidated():
                page.touch(event, liquidations=1)
            case PropAccount.Frozen() | PropAccount.Unfrozen() | PropAccount.Closed():
                page.touch(event).status = _STATUS[type(event).__name__]
            case _:
                return
        _journal(page, event)


_STATUS = {"Frozen": "frozen", "Unfrozen": "open", "Closed": "closed"}


def _order_row(event: Any, status: str, reason: str | None, detail: str | None) -> tuple[Any, ...]:
    return (
        str(event.originator_id),
        event.client_order_id,
        status,
        reason,
        detail,
        event.asset,
        str(event.size),
        event.originator_version,
        to_micros(event.timestamp),
    )


def _filled(page: _Page, event: PropAccount.OrderFilled) -> None:
    account, at = str(event.originator_id), to_micros(event.timestamp)
    page.fills.append(
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
        )
    )
    page.positions[(account, event.asset)] = (
        None
        if event.position_entry is None
        else (
            account,
            event.asset,
            str(event.position_size),
            str(event.position_entry),
            event.leverage,
            _text(event.stop_loss),
            _text(event.take_profit),
            event.instrument_version,
            at,
        )
    )
    if event.origin == "order":
        page.orders.append(_order_row(event, "filled", None, None))
    page.touch(event, realized=event.realized_pnl_micros, fees=event.fee_micros)


def _journal(page: _Page, event: Any) -> None:
    postings = getattr(event, "postings", [])
    if not postings:
        return
    account, at = str(event.originator_id), to_micros(event.timestamp)
    page.postings += [
        (account, event.originator_version, seq, p[0], p[1], int(p[2]), at)
        for seq, p in enumerate(postings)
    ]
    mine = sum(int(p[2]) for p in postings if p[0] == f"prop:{account}:collateral")
    totals = page.totals.setdefault(account, _Totals())
    totals.collateral += mine


def _flush(session: Session, page: _Page) -> None:
    session.execute_many(_INSERT_ACCOUNT, page.accounts)
    session.execute_many(_INSERT_FILL, page.fills)
    session.execute_many(_INSERT_ORDER, page.orders)
    session.execute_many(_INSERT_POSTING, page.postings)
    session.execute_many(
        "DELETE FROM prop_positions_view WHERE account_id = %s AND asset = %s", list(page.positions)
    )
    session.execute_many(_INSERT_POSITION, [r for r in page.positions.values() if r is not None])
    session.execute_many(
        _UPDATE_TOTALS,
        [
            (
                t.realized,
                t.fees,
                t.funding,
                t.adjustments,
                t.liquidations,
                t.collateral,
                t.status,
                t.version,
                t.updated_at,
                t.version,
                t.version,
                account,
            )
            for account, t in page.totals.items()
        ],
    )


_INSERT_ACCOUNT = (
    "INSERT INTO prop_accounts_view (account_id, owner, purpose, status, collateral_micros,"
    " realized_micros, fees_micros, funding_micros, adjustments_micros, liquidations,"
    " opened_at, updated_at, version) VALUES (%s, %s, %s, 'open', 0, 0, 0, 0, 0, 0, %s, %s, %s)"
)
_INSERT_FILL = (
    "INSERT INTO prop_fills_view (account_id, version, client_order_id, origin, asset, size,"
    " fill_price, reference_price, fee_micros, realized_pnl_micros, instrument_version, at)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
_INSERT_ORDER = (
    "INSERT INTO prop_orders_view (account_id, client_order_id, status, reason, detail, asset,"
    " size, version, at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
_INSERT_POSTING = (
    "INSERT INTO prop_postings_view (account_id, version, seq, ledger_account, currency,"
    " amount_micros, at) VALUES (%s, %s, %s, %s, %s, %s, %s)"
)
_INSERT_POSITION = (
    "INSERT INTO prop_positions_view (account_id, asset, size, entry_price, leverage, stop_loss,"
    " take_profit, instrument_version, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
# Opening events set version and updated_at on insert; an update only when others touched it.
_UPDATE_TOTALS = (
    "UPDATE prop_accounts_view SET realized_micros = realized_micros + %s,"
    " fees_micros = fees_micros + %s, funding_micros = funding_micros + %s,"
    " adjustments_micros = adjustments_micros + %s, liquidations = liquidations + %s,"
    " collateral_micros = collateral_micros + %s, status = COALESCE(%s, status),"
    " updated_at = CASE WHEN %s > 0 THEN %s ELSE updated_at END,"
    " version = CASE WHEN %s > 0 THEN %s ELSE version END WHERE account_id = %s"
)
