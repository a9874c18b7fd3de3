"""The mark and funding worker: the ledger's reaction to market time passing.

Each step reads the market clock and, for every account holding positions (from the
positions read model):

- applies the newest marks, so stop-loss, take-profit and liquidation fire;
- applies funding for every top-of-hour period passed since its cursor, from market
  memory's rates (a zero rate, as offline, records nothing);
- writes an equity snapshot row at each 5-minute boundary and each UTC midnight passed,
  keyed by (account, boundary) so a snapshot is never written twice.

The cursor (the last market time processed) is persisted after each step, so a restart
resumes and never applies a funding period twice (the aggregate also refuses a repeated
period). Equity snapshots are rows, not account events: they would race the trading saves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from uuid import UUID

from adapters.bootstrap import Container
from adapters.database import Session, from_micros, to_micros
from adapters.market_quotes import NoMarketData, quote
from domain.market.intervals import floor_to_interval
from domain.prop.valuation import value_account
from projections.prop_queries import PropQueries
from workers.runtime import WorkItem

CURSOR = "marks"
SNAPSHOT_EVERY = "5m"


@dataclass
class MarkWorker:
    """The ``marks`` worker."""

    container: Container
    name: str = "marks"
    interval: timedelta = timedelta(seconds=1)
    critical: bool = False
    _queries: PropQueries | None = field(default=None, init=False)

    def pending(self, now: datetime) -> Sequence[WorkItem]:
        """One step whenever the market clock moved past the cursor."""
        market_now = self.container.market_clock.now()
        cursor = self._cursor()
        return [] if cursor is not None and cursor >= market_now else [WorkItem("step")]

    def perform(self, item: WorkItem, now: datetime) -> None:
        """Marks, funding and snapshots up to the market clock's now."""
        market_now = self.container.market_clock.now()
        since = self._cursor() or market_now - timedelta(minutes=5)
        for account_id, assets in self._holders().items():
            marks = self._marks(assets, market_now)
            if marks:
                self.container.prop.apply_marks(account_id, marks)
            self._funding(account_id, assets, since, market_now)
            self._snapshot(account_id, since, market_now)
        self._advance(market_now)

    def _holders(self) -> dict[UUID, list[str]]:
        if self._queries is None:  # one instance: it checks the views exist only once
            self._queries = PropQueries(self.container.database)
        holders = self._queries.holders()
        return {UUID(account_id): assets for account_id, assets in holders.items()}

    def _marks(self, assets: list[str], at: datetime) -> dict[str, Decimal]:
        marks = {}
        for asset in assets:
            try:
                marks[asset] = quote(self.container.market, asset, at).mark
            except NoMarketData:
                continue
        return marks

    def _funding(
        self, account_id: UUID, assets: list[str], since: datetime, until: datetime
    ) -> None:
        period = floor_to_interval(since, "1h") + timedelta(hours=1)
        while period <= until:
            for asset in assets:
                self._fund(account_id, asset, period)
            period += timedelta(hours=1)

    def _fund(self, account_id: UUID, asset: str, period: datetime) -> None:
        try:
            market = quote(self.container.market, asset, period)
        except NoMarketData:
            return
        if market.funding_rate != 0:
            self.container.prop.apply_funding(
                account_id,
                asset=asset,
                period=period,
                rate=market.funding_rate,
                oracle_price=market.oracle,
            )

    def _snapshot(self, account_id: UUID, since: datetime, until: datetime) -> None:
        boundary = floor_to_interval(until, SNAPSHOT_EVERY)
        if boundary <= since:
            return
        account = self.container.prop.account(account_id)
        instruments = {
            a: i
            for a in account.positions
            if (i := self.container.assets.instrument(a, boundary)) is not None
        }
        marks = self._marks(list(account.positions), boundary)
        valued = value_account(account, marks, instruments)
        unrealized = sum((p.unrealized_pnl for p in valued.positions), start=Decimal(0))
        with self.container.database.transaction() as session:
            _insert_snapshot(
                session,
                account_id,
                boundary,
                account.collateral_micros,
                valued.account_value,
                unrealized,
                valued.margin_used,
            )

    def _cursor(self) -> datetime | None:
        with self.container.database.transaction(write=False) as session:
            row = session.fetch_one(
                "SELECT market_time FROM prop_mark_cursor WHERE name = %s", (CURSOR,)
            )
        return None if row is None else from_micros(row["market_time"])

    def _advance(self, market_now: datetime) -> None:
        with self.container.database.transaction() as session:
            session.execute(
                "INSERT INTO prop_mark_cursor (name, market_time) VALUES (%s, %s)"
                " ON CONFLICT (name) DO UPDATE SET market_time = excluded.market_time",
                (CURSOR, to_micros(market_now)),
            )


def _insert_snapshot(
    session: Session,
    account_id: UUID,
    at: datetime,
    collateral: int,
    value: Decimal,
    unrealized: Decimal,
    margin_used: Decimal,
) -> None:
    session.execute(
        "INSERT INTO prop_equity_snapshots (account_id, at, collateral_micros, account_value,"
        " unrealized_pnl, margin_used) VALUES (%s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (account_id, at) DO NOTHING",
        (str(account_id), to_micros(at), collateral, str(value), str(unrealized), str(margin_used)),
    )
