"""Prop reads for the API: read-model rows valued at the market clock's latest marks,
access by purpose, and read-your-writes waits on the projection's position."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from adapters.bootstrap import Container
from adapters.market_quotes import NoMarketData, quote
from domain.market.errors import MarketError
from domain.prop.errors import AccountNotFound
from domain.prop.money import micros_to_decimal
from domain.prop.positions import Position
from domain.prop.valuation import AccountValue, Holding, Totals, value_holdings
from projections.prop_queries import AccountRow, PropQueries

PUBLIC_PURPOSES = frozenset({"arena", "race"})


class ProjectionLagging(MarketError):
    """Raised when a read asked to see a write the read models have not reached yet."""

    reason = "projection_lagging"


@dataclass(frozen=True)
class ValuedAccount:
    """An account row and its valuation at ``as_of``."""

    row: AccountRow
    value: AccountValue
    as_of: datetime


def wait_for(queries: PropQueries, position: int | None, timeout: float = 5.0) -> None:
    """Return once the prop projection has read the log up to ``position``."""
    if position is None:
        return
    deadline = time.monotonic() + timeout
    while queries.tracked_position() < position:
        if time.monotonic() > deadline:
            raise ProjectionLagging(f"position={position} reached={queries.tracked_position()}")
        time.sleep(0.05)


def visible_account(
    queries: PropQueries, account_id: str, viewer_id: str, viewer_is_admin: bool
) -> AccountRow:
    """The account row if the viewer may see it; a foreign private account is not found."""
    row = queries.account(account_id)
    if row is None or not (
        viewer_is_admin or row.owner == viewer_id or row.purpose in PUBLIC_PURPOSES
    ):
        raise AccountNotFound(f"account={account_id}")
    return row


def valued(container: Container, queries: PropQueries, row: AccountRow) -> ValuedAccount:
    """Value the account's read-model positions at the latest marks."""
    now = container.market_clock.now()
    holdings = {
        p.asset: Holding(
            Position(p.asset, p.size, p.entry_price), p.leverage, p.stop_loss, p.take_profit
        )
        for p in queries.positions(row.account_id)
    }
    instruments = {a: i for a in holdings if (i := container.assets.instrument(a, now)) is not None}
    totals = Totals(
        row.account_id,
        row.status,
        micros_to_decimal(row.collateral_micros),
        micros_to_decimal(row.realized_micros),
        micros_to_decimal(row.fees_micros),
        micros_to_decimal(row.funding_micros),
    )
    return ValuedAccount(
        row, value_holdings(totals, holdings, _marks(container, holdings, now), instruments), now
    )


def _marks(container: Container, assets: Iterable[str], at: datetime) -> dict[str, Decimal]:
    marks = {}
    for asset in assets:
        try:
            marks[asset] = quote(container.market, asset, at).mark
        except NoMarketData:
            continue
    return marks
