"""Market time series: idempotent upserts and look-ahead-proof reads, on both stores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from adapters.asset_registry import BUNDLED_DATA_START, AssetRegistry, FeeSchedule
from adapters.bundled_candles import ArchiveError, bundled_path, read_candles
from adapters.database import Database
from adapters.market_store import MarketStore
from domain.market.model import AssetContext, Candle, MarginTier, PerpSpec

T0 = datetime(2021, 7, 3, tzinfo=UTC)
FEES = FeeSchedule(Decimal("0.00045"), Decimal("0.00015"), Decimal("10"))


def _candle(minutes: int, close: str = "100") -> Candle:
    price = Decimal(close)
    return Candle(
        "BTC", "5m", T0 + timedelta(minutes=minutes), price, price, price, price, Decimal("1")
    )


def test_candle_upsert_is_idempotent(database: Database) -> None:
    store = MarketStore(database)
    store.upsert_candles("bundled", [_candle(0), _candle(5)])
    store.upsert_candles("bundled", [_candle(0), _candle(5, close="101")])
    candles = store.candles(
        "BTC", "5m", start=T0, end=T0 + timedelta(hours=1), known_at=T0 + timedelta(hours=1)
    )
    assert [c.close for c in candles] == [Decimal("100"), Decimal("101")]


def test_candles_not_closed_by_known_at_are_invisible(database: Database) -> None:
    store = MarketStore(database)
    store.upsert_candles("bundled", [_candle(0), _candle(5)])
    visible = store.candles(
        "BTC", "5m", start=T0, end=T0 + timedelta(hours=1), known_at=T0 + timedelta(minutes=9)
    )
    assert [c.open_time for c in visible] == [T0]
    assert store.latest_candle("BTC", "5m", T0 + timedelta(minutes=9)) == _candle(0)


def test_decimal_text_survives_exactly(database: Database) -> None:
    store = MarketStore(database)
    store.upsert_candles("bundled", [_candle(0, close="33776.600000001")])
    (candle,) = store.candles(
        "BTC", "5m", start=T0, end=T0 + timedelta(minutes=5), known_at=T0 + timedelta(minutes=5)
    )
    assert candle.close == Decimal("33776.600000001")


def test_context_at_returns_latest_snapshot_not_after(database: Database) -> None:
    store = MarketStore(database)
    snapshots = [
        AssetContext(
            "BTC", T0 + timedelta(minutes=m), Decimal(m + 1), Decimal(m + 2), Decimal("0.0000125")
        )
        for m in (0, 5, 10)
    ]
    store.upsert_contexts("hyperliquid", snapshots)
    context = store.context_at("BTC", T0 + timedelta(minutes=7))
    assert context is not None
    assert context.mark == Decimal(6)
    assert store.context_at("BTC", T0 - timedelta(seconds=1)) is None


def test_registry_seed_is_in_force_from_bundled_start(database: Database) -> None:
    registry = AssetRegistry(database, FEES)
    assert registry.seed(T0) == ["BTC", "ETH", "SOL"]
    assert registry.seed(T0) == []
    btc = registry.instrument("BTC", BUNDLED_DATA_START)
    assert btc is not None
    assert (btc.spec.size_decimals, btc.spec.max_leverage, btc.version) == (5, 40, 1)
    assert btc.taker_fee_rate == Decimal("0.00045")
    assert registry.instrument("BTC", BUNDLED_DATA_START - timedelta(seconds=1)) is None


def test_registry_versions_only_on_change_and_pins_by_time(database: Database) -> None:
    registry = AssetRegistry(database, FEES)
    registry.seed(T0)
    later = T0 + timedelta(days=30)
    changed = PerpSpec("BTC", 0, 5, 50, (MarginTier(Decimal("0"), 50),))
    same_eth = registry.instrument("ETH", T0)
    assert same_eth is not None
    assert registry.record(
        [changed, same_eth.spec], valid_from=later, source="hyperliquid", now=later
    ) == ["BTC"]
    before, after = (
        registry.instrument("BTC", later - timedelta(seconds=1)),
        registry.instrument("BTC", later),
    )
    assert before is not None
    assert after is not None
    assert (before.spec.max_leverage, after.spec.max_leverage) == (40, 50)
    assert after.version == 2
    assert [i.name for i in registry.instruments(later)] == ["BTC", "ETH", "SOL"]


def test_bundled_archive_parses_exactly() -> None:
    candles = read_candles(bundled_path("BTC", "5m"), "BTC", "5m")
    assert len(candles) == 4032
    assert candles[0].open_time == T0
    assert candles[0].close == Decimal("33776.6")


def test_malformed_archive_names_the_line(tmp_path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "ts_ms,open,high,low,close,volume\n1625270400000,1,2,0.5,1.5,10\n"
        "1625270700000,1,abc,0.5,1.5,10\n"
    )
    with pytest.raises(ArchiveError, match="line=3"):
        read_candles(path, "BTC", "5m")


def test_quote_prefers_settled_funding_and_never_looks_ahead(database: Database) -> None:
    from adapters.market_quotes import NoMarketData, quote
    from domain.market.model import FundingRate

    store = MarketStore(database)
    store.upsert_contexts(
        "hyperliquid",
        [
            AssetContext("BTC", T0, Decimal("100"), Decimal("99"), Decimal("0.0000125")),
            AssetContext(
                "BTC",
                T0 + timedelta(minutes=1),
                Decimal("200"),
                Decimal("199"),
                Decimal("0.0000125"),
            ),
        ],
    )
    store.upsert_funding(
        "hyperliquid", [FundingRate("BTC", T0 - timedelta(minutes=30), Decimal("-0.0001"))]
    )
    at = T0 + timedelta(seconds=30)
    result = quote(store, "BTC", at)
    assert (result.mark, result.oracle, result.funding_rate) == (
        Decimal("100"),
        Decimal("99"),
        Decimal("-0.0001"),
    )
    assert result.as_of == T0
    with pytest.raises(NoMarketData):
        quote(store, "BTC", T0 - timedelta(seconds=1))
