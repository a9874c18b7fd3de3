"""Hyperliquid info payloads to market types (see ``notes/market-data-sources.md`` section 1).

Why these rules:

- The index of an asset in ``meta.universe`` *is* its asset id, and ``metaAndAssetCtxs``
  aligns its contexts to that list by index. Delisted assets stay in the list, so specs are
  built for every row (flagged ``delisted``) and contexts are paired before anything is
  filtered; a context list of another length is a malformed payload, not a guess.
- Margin tables arrived in 2024. A ``marginTableId`` under 50 that has no table is the
  implicit single tier "max leverage = id"; the 2023 shape has no ids at all and its
  ``maxLeverage`` applies at every size; an id of 50 or more must be defined in the payload.
- A context whose ``markPx`` is null has no mark to value anything at, so it yields no
  :class:`AssetContext` (its spec is still returned); other nullable fields become ``None``.
- ``candleSnapshot`` ends with the candle still forming; a candle whose close time ``T`` is
  after ``now`` is dropped so nothing unknowable at ``now`` is stored.
- Rows name their coin (``s``, ``coin``) and interval (``i``): a row for another coin or
  interval than asked is refused rather than filed under the wrong name.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from domain.market.intervals import interval_length
from domain.market.model import (
    AssetContext,
    BookLevel,
    Candle,
    FundingRate,
    MarginTier,
    OrderBook,
    PerpSpec,
)
from domain.market.payloads import Field, maybe

SOURCE = "hyperliquid"
IMPLICIT_TABLE_LIMIT = 50  # ids below this without a table: one tier at leverage = id

MarginTables = dict[int, tuple[MarginTier, ...]]


def parse_meta(payload: object) -> list[PerpSpec]:
    """Parse ``meta`` into one spec per universe row, index = asset id."""
    return _perp_specs(Field.root(payload, SOURCE, "meta"))


def parse_meta_and_asset_ctxs(
    payload: object, now: datetime
) -> tuple[list[PerpSpec], list[AssetContext]]:
    """Parse ``metaAndAssetCtxs`` into specs and the contexts (stamped ``now``) of priced assets."""
    root = Field.root(payload, SOURCE, "metaAndAssetCtxs")
    parts = root.items()
    if len(parts) != 2:
        root.fail(f"must be a [meta, contexts] pair, not {len(parts)} elements")
    specs = _perp_specs(parts[0])
    nodes = parts[1].items()
    if len(nodes) != len(specs):
        parts[1].fail(f"has {len(nodes)} contexts for {len(specs)} universe rows")
    paired = [_context(node, spec.name, now) for spec, node in zip(specs, nodes, strict=True)]
    return specs, [context for context in paired if context is not None]


def parse_all_mids(payload: object) -> dict[str, Decimal]:
    """Parse ``allMids`` into a mid price per coin (perps, ``@n`` spot and ``A/B`` pairs)."""
    root = Field.root(payload, SOURCE, "allMids")
    return {coin: value.decimal() for coin, value in root.entries()}


def parse_candles(payload: object, asset: str, interval: str, now: datetime) -> list[Candle]:
    """Parse a ``candleSnapshot`` page, dropping any candle that closes after ``now``."""
    interval_length(interval)  # an unknown interval is the caller's error, raised first
    root = Field.root(payload, SOURCE, "candleSnapshot")
    rows = [_candle(node, asset, interval) for node in root.items()]
    return [candle for candle, last_millisecond in rows if last_millisecond <= now]


def parse_funding_history(payload: object, asset: str) -> list[FundingRate]:
    """Parse a ``fundingHistory`` page of ``asset`` (rates per funding interval)."""
    root = Field.root(payload, SOURCE, "fundingHistory")
    return [_funding(node, asset) for node in root.items()]


def parse_l2_book(payload: object, asset: str) -> OrderBook:
    """Parse an ``l2Book`` snapshot of ``asset``; both sides arrive best-first."""
    root = Field.root(payload, SOURCE, "l2Book")
    root.key("coin").matching(asset)
    levels = root.key("levels")
    sides = levels.items()
    if len(sides) != 2:
        levels.fail(f"must be [bids, asks], not {len(sides)} sides")
    bids, asks = (tuple(_level(node) for node in side.items()) for side in sides)
    return OrderBook(asset=asset, time=root.key("time").millis(), bids=bids, asks=asks)


def _perp_specs(meta: Field) -> list[PerpSpec]:
    tables = _margin_tables(meta.optional("marginTables"))
    rows = meta.key("universe").items()
    return [_perp_spec(row, index, tables) for index, row in enumerate(rows)]


def _margin_tables(node: Field | None) -> MarginTables:
    tables: MarginTables = {}
    for pair in [] if node is None else node.items():
        parts = pair.items()
        if len(parts) != 2:
            pair.fail(f"must be an [id, table] pair, not {len(parts)} elements")
        tiers_node = parts[1].key("marginTiers")
        tiers = tuple(_tier(tier) for tier in tiers_node.items())
        if not tiers:
            tiers_node.fail("must list at least one tier")
        tables[parts[0].integer()] = tiers
    return tables


def _tier(node: Field) -> MarginTier:
    return MarginTier(
        lower_bound=node.key("lowerBound").decimal(),
        max_leverage=node.key("maxLeverage").integer(),
    )


def _perp_spec(row: Field, index: int, tables: MarginTables) -> PerpSpec:
    max_leverage = row.key("maxLeverage").integer()
    return PerpSpec(
        name=row.key("name").text(),
        index=index,
        size_decimals=row.key("szDecimals").integer(),
        max_leverage=max_leverage,
        margin_tiers=_tiers_of(row.optional("marginTableId"), max_leverage, tables),
        only_isolated=maybe(row.optional("onlyIsolated"), Field.flag) or False,
        delisted=maybe(row.optional("isDelisted"), Field.flag) or False,
        margin_mode=maybe(row.optional("marginMode"), Field.text),
    )


def _tiers_of(
    table: Field | None, max_leverage: int, tables: MarginTables
) -> tuple[MarginTier, ...]:
    if table is None:
        return (MarginTier(lower_bound=Decimal(0), max_leverage=max_leverage),)
    table_id = table.integer()
    if table_id not in tables and not 0 < table_id < IMPLICIT_TABLE_LIMIT:
        table.fail(f"names margin table {table_id}, which marginTables does not define")
    implicit = (MarginTier(lower_bound=Decimal(0), max_leverage=table_id),)
    return tables.get(table_id, implicit)


def _context(node: Field, asset: str, now: datetime) -> AssetContext | None:
    mark = maybe(node.optional("markPx"), Field.decimal)
    oracle = node.key("oraclePx").decimal()
    funding = node.key("funding").decimal()
    open_interest = maybe(node.optional("openInterest"), Field.decimal)
    mid = maybe(node.optional("midPx"), Field.decimal)
    premium = maybe(node.optional("premium"), Field.decimal)
    day_notional_volume = maybe(node.optional("dayNtlVlm"), Field.decimal)
    previous_day_price = maybe(node.optional("prevDayPx"), Field.decimal)
    if mark is None:
        return None
    return AssetContext(
        asset=asset,
        time=now,
        mark=mark,
        oracle=oracle,
        funding=funding,
        open_interest=open_interest,
        mid=mid,
        premium=premium,
        day_notional_volume=day_notional_volume,
        previous_day_price=previous_day_price,
    )


def _candle(node: Field, asset: str, interval: str) -> tuple[Candle, datetime]:
    node.key("s").matching(asset)
    node.key("i").matching(interval)
    candle = Candle(
        asset=asset,
        interval=interval,
        open_time=node.key("t").millis(),
        open=node.key("o").decimal(),
        high=node.key("h").decimal(),
        low=node.key("l").decimal(),
        close=node.key("c").decimal(),
        volume=node.key("v").decimal(),
        trades=maybe(node.optional("n"), Field.integer),
    )
    return candle, node.key("T").millis()


def _funding(node: Field, asset: str) -> FundingRate:
    node.key("coin").matching(asset)
    return FundingRate(
        asset=asset,
        time=node.key("time").millis(),
        rate=node.key("fundingRate").decimal(),
        premium=maybe(node.optional("premium"), Field.decimal),
    )


def _level(node: Field) -> BookLevel:
    return BookLevel(
        price=node.key("px").decimal(),
        size=node.key("sz").decimal(),
        orders=maybe(node.optional("n"), Field.integer),
    )
