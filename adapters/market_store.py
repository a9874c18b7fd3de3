"""Market time series in SQL: candles, funding, asset contexts, prediction prices, TVL.

Every write is an idempotent upsert keyed by source, instrument, (interval,) and time, in
one transaction per batch, so a retried or resumed ingest converges to the same rows.
Every read takes a ``known_at`` bound where it matters: a candle is returned only once it
has closed by then, so no reader (a strategy, a backtest, an API caller) can look ahead.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from adapters.database import Database, from_micros, to_micros
from domain.market.model import (
    AssetContext,
    Candle,
    FundingRate,
    PredictionMarket,
    PricePoint,
    TvlPoint,
)

_UPSERT_CANDLE = (
    "INSERT INTO market_candles (source, asset, interval, open_time, close_time,"
    " open, high, low, close, volume, trades) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
    " ON CONFLICT (source, asset, interval, open_time) DO UPDATE SET"
    " close_time = excluded.close_time, open = excluded.open, high = excluded.high,"
    " low = excluded.low, close = excluded.close, volume = excluded.volume,"
    " trades = excluded.trades"
)
_UPSERT_FUNDING = (
    "INSERT INTO market_funding (source, asset, time, rate, premium) VALUES (%s, %s, %s, %s, %s)"
    " ON CONFLICT (source, asset, time) DO UPDATE SET rate = excluded.rate,"
    " premium = excluded.premium"
)
_UPSERT_CONTEXT = (
    "INSERT INTO market_contexts (source, asset, time, mark, oracle, funding, open_interest,"
    " mid, premium) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
    " ON CONFLICT (source, asset, time) DO UPDATE SET mark = excluded.mark,"
    " oracle = excluded.oracle, funding = excluded.funding,"
    " open_interest = excluded.open_interest, mid = excluded.mid, premium = excluded.premium"
)
_UPSERT_PRICE = (
    "INSERT INTO market_prediction_prices (token_id, time, price) VALUES (%s, %s, %s)"
    " ON CONFLICT (token_id, time) DO UPDATE SET price = excluded.price"
)
_UPSERT_TVL = (
    "INSERT INTO market_tvl (subject, time, tvl_usd) VALUES (%s, %s, %s)"
    " ON CONFLICT (subject, time) DO UPDATE SET tvl_usd = excluded.tvl_usd"
)
_UPSERT_PREDICTION_MARKET = (
    "INSERT INTO market_prediction_markets (market_id, condition_id, question, slug, outcomes,"
    " token_ids, outcome_prices, status, end_date, volume, liquidity, updated_at)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
    " ON CONFLICT (market_id) DO UPDATE SET question = excluded.question,"
    " slug = excluded.slug, outcomes = excluded.outcomes, token_ids = excluded.token_ids,"
    " outcome_prices = excluded.outcome_prices, status = excluded.status,"
    " end_date = excluded.end_date, volume = excluded.volume,"
    " liquidity = excluded.liquidity, updated_at = excluded.updated_at"
)


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _dec(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


class MarketStore:
    """Reads and idempotent writes of market time series."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def upsert_candles(self, source: str, candles: Sequence[Candle]) -> int:
        """Store candles (insert or replace by key); return how many were given."""
        rows = [
            (
                source,
                c.asset,
                c.interval,
                to_micros(c.open_time),
                to_micros(c.close_time),
                str(c.open),
                str(c.high),
                str(c.low),
                str(c.close),
                str(c.volume),
                c.trades,
            )
            for c in candles
        ]
        with self.database.transaction() as session:
            session.execute_many(_UPSERT_CANDLE, rows)
        return len(rows)

    def candles(
        self,
        asset: str,
        interval: str,
        *,
        start: datetime,
        end: datetime,
        known_at: datetime,
        limit: int = 5000,
    ) -> list[Candle]:
        """Candles opening in ``[start, end)`` that had closed by ``known_at``, oldest first."""
        with self.database.transaction(write=False) as session:
            rows = session.fetch_all(
                "SELECT * FROM market_candles WHERE asset = %s AND interval = %s"
                " AND open_time >= %s AND open_time < %s AND close_time <= %s"
                " ORDER BY open_time, source LIMIT %s",
                (asset, interval, to_micros(start), to_micros(end), to_micros(known_at), limit),
            )
        return _unique_by_open_time([_candle(row) for row in rows])

    def latest_candle(self, asset: str, interval: str, known_at: datetime) -> Candle | None:
        """The last candle of ``asset`` that had closed by ``known_at``."""
        with self.database.transaction(write=False) as session:
            row = session.fetch_one(
                "SELECT * FROM market_candles WHERE asset = %s AND interval = %s"
                " AND close_time <= %s ORDER BY close_time DESC LIMIT 1",
                (asset, interval, to_micros(known_at)),
            )
        return None if row is None else _candle(row)

    def upsert_funding(self, source: str, rates: Sequence[FundingRate]) -> int:
        """Store funding rates."""
        rows = [(source, r.asset, to_micros(r.time), str(r.rate), _text(r.premium)) for r in rates]
        with self.database.transaction() as session:
            session.execute_many(_UPSERT_FUNDING, rows)
        return len(rows)

    def funding(self, asset: str, *, start: datetime, end: datetime) -> list[FundingRate]:
        """Funding rates of ``asset`` settled in ``[start, end]``, oldest first."""
        with self.database.transaction(write=False) as session:
            rows = session.fetch_all(
                "SELECT * FROM market_funding WHERE asset = %s AND time >= %s AND time <= %s"
                " ORDER BY time",
                (asset, to_micros(start), to_micros(end)),
            )
        return [
            FundingRate(r["asset"], from_micros(r["time"]), Decimal(r["rate"]), _dec(r["premium"]))
            for r in rows
        ]

    def upsert_contexts(self, source: str, contexts: Sequence[AssetContext]) -> int:
        """Store mark/oracle/funding snapshots."""
        rows = [
            (
                source,
                c.asset,
                to_micros(c.time),
                str(c.mark),
                str(c.oracle),
                str(c.funding),
                _text(c.open_interest),
                _text(c.mid),
                _text(c.premium),
            )
            for c in contexts
        ]
        with self.database.transaction() as session:
            session.execute_many(_UPSERT_CONTEXT, rows)
        return len(rows)

    def context_at(self, asset: str, at: datetime) -> AssetContext | None:
        """The latest mark/oracle/funding snapshot of ``asset`` at or before ``at``."""
        with self.database.transaction(write=False) as session:
            row = session.fetch_one(
                "SELECT * FROM market_contexts WHERE asset = %s AND time <= %s"
                " ORDER BY time DESC LIMIT 1",
                (asset, to_micros(at)),
            )
        if row is None:
            return None
        return AssetContext(
            asset=row["asset"],
            time=from_micros(row["time"]),
            mark=Decimal(row["mark"]),
            oracle=Decimal(row["oracle"]),
            funding=Decimal(row["funding"]),
            open_interest=_dec(row["open_interest"]),
            mid=_dec(row["mid"]),
            premium=_dec(row["premium"]),
        )

    def upsert_prediction_markets(self, markets: Sequence[PredictionMarket], now: datetime) -> int:
        """Store prediction-market metadata (outcomes and token ids aligned by index)."""
        rows = [_prediction_row(m, to_micros(now)) for m in markets]
        with self.database.transaction() as session:
            session.execute_many(_UPSERT_PREDICTION_MARKET, rows)
        return len(rows)

    def prediction_markets(self, *, after: str | None, limit: int) -> list[dict[str, Any]]:
        """A page of prediction markets ordered by id (keyset cursor ``after``)."""
        with self.database.transaction(write=False) as session:
            return session.fetch_all(
                "SELECT * FROM market_prediction_markets WHERE market_id > %s"
                " ORDER BY market_id LIMIT %s",
                (after or "", limit),
            )

    def upsert_prediction_prices(self, points: Sequence[PricePoint]) -> int:
        """Store outcome-token prices."""
        rows = [(p.token_id, to_micros(p.time), str(p.price)) for p in points]
        with self.database.transaction() as session:
            session.execute_many(_UPSERT_PRICE, rows)
        return len(rows)

    def prediction_prices(
        self, token_id: str, *, start: datetime, end: datetime, limit: int
    ) -> list[PricePoint]:
        """Prices of a token in ``[start, end]``, oldest first."""
        with self.database.transaction(write=False) as session:
            rows = session.fetch_all(
                "SELECT * FROM market_prediction_prices WHERE token_id = %s AND time >= %s"
                " AND time <= %s ORDER BY time LIMIT %s",
                (token_id, to_micros(start), to_micros(end), limit),
            )
        return [
            PricePoint(r["token_id"], from_micros(r["time"]), Decimal(r["price"])) for r in rows
        ]

    def upsert_tvl(self, points: Sequence[TvlPoint]) -> int:
        """Store TVL points."""
        rows = [(p.subject, to_micros(p.time), str(p.tvl_usd)) for p in points]
        with self.database.transaction() as session:
            session.execute_many(_UPSERT_TVL, rows)
        return len(rows)

    def tvl(self, subject: str, *, start: datetime, end: datetime, limit: int) -> list[TvlPoint]:
        """TVL points of a subject in ``[start, end]``, oldest first."""
        with self.database.transaction(write=False) as session:
            rows = session.fetch_all(
                "SELECT * FROM market_tvl WHERE subject = %s AND time >= %s AND time <= %s"
                " ORDER BY time LIMIT %s",
                (subject, to_micros(start), to_micros(end), limit),
            )
        return [TvlPoint(r["subject"], from_micros(r["time"]), Decimal(r["tvl_usd"])) for r in rows]


def _candle(row: dict[str, Any]) -> Candle:
    return Candle(
        asset=row["asset"],
        interval=row["interval"],
        open_time=from_micros(row["open_time"]),
        open=Decimal(row["open"]),
        high=Decimal(row["high"]),
        low=Decimal(row["low"]),
        close=Decimal(row["close"]),
        volume=Decimal(row["volume"]),
        trades=row["trades"],
    )


def _unique_by_open_time(candles: list[Candle]) -> list[Candle]:
    # Two sources can hold the same candle; the first by source name wins, deterministically.
    seen: set[datetime] = set()
    unique = []
    for candle in candles:
        if candle.open_time not in seen:
            seen.add(candle.open_time)
            unique.append(candle)
    return unique


def _prediction_row(market: PredictionMarket, now: int) -> tuple[object, ...]:
    status = "closed" if market.closed else ("active" if market.active else "inactive")
    return (
        market.market_id,
        market.condition_id,
        market.question,
        market.slug,
        json.dumps(list(market.outcomes)),
        json.dumps(list(market.token_ids)),
        json.dumps([str(p) for p in market.outcome_prices]),
        status,
        None if market.end_date is None else to_micros(market.end_date),
        _text(market.volume),
        _text(market.liquidity),
        now,
    )
