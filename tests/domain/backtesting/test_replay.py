"""The replay engine: next-open fills, the bar path for exits, determinism, no look-ahead."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from domain.backtesting.feed import Bar, HistoricalFeed
from domain.backtesting.replay import ReplayCancelled, ReplayConfig, replay
from domain.clones.graph import compile_graph, parse_graph
from domain.trading.spec import ChannelRef, StrategySpec
from tests.domain.backtesting.replay_kit import bundled, feed_of, instrument
from tests.domain.clones.graph_examples import ASSETS, document, edge, node

D = Decimal
T0 = datetime(2021, 7, 3, tzinfo=UTC)
HOUR = timedelta(hours=1)
SIGNAL = ChannelRef("BTC", "1h", "returns:1")


def threshold_graph(op: str = "gt", stop: str | None = None, take: str | None = None) -> dict:
    """Long BTC 1h when returns:1 ``op`` 0, flat on the opposite; optional exits."""
    risk: dict[str, Any] = {"sizeFraction": "0.5", "leverage": 1, "maxOpenPositions": 1}
    if stop:
        risk["stopLossPct"] = stop
    if take:
        risk["takeProfitPct"] = take
    opposite = {"gt": "lt", "lt": "gt"}[op]
    return document(
        [
            node("btc", "market", asset="BTC", interval="1h"),
            node("ret", "feature", channel="returns:1"),
            node("go", "rule", op=op, threshold="0"),
            node("stop", "rule", op=opposite, threshold="0"),
            node("risk", "risk", **risk),
            node("act", "action"),
        ],
        [
            edge("btc", "ret"),
            edge("ret", "go", "left"),
            edge("ret", "stop", "left"),
            edge("go", "act", "open_long"),
            edge("stop", "act", "close"),
            edge("risk", "act", "risk"),
        ],
    )


def spec_of(graph: dict) -> StrategySpec:
    return compile_graph(parse_graph(graph, known_assets=ASSETS))


def bars(prices: list[tuple[str, str, str, str]]) -> list[Bar]:
    """Hourly bars from (open, high, low, close) strings, the first opening at T0."""
    return [
        Bar(T0 + i * HOUR, T0 + (i + 1) * HOUR, D(o), D(h), D(lo), D(c))
        for i, (o, h, lo, c) in enumerate(prices)
    ]


def feed(rows: list[Bar], signal: list[tuple[datetime, Decimal]]) -> HistoricalFeed:
    return HistoricalFeed(
        bars={"BTC": rows}, features={SIGNAL: signal}, instruments={"BTC": instrument("BTC")}
    )


def config(rows: list[Bar], **changes: Any) -> ReplayConfig:
    values: dict[str, Any] = {
        "start": rows[0].open_time,
        "end": rows[-1].close_time,
        "collateral": D(10_000),
        "slippage_bps": D(0),
    }
    values.update(changes)
    return ReplayConfig(**values)


def test_a_decision_at_a_close_fills_at_the_next_open() -> None:
    rows = bars(
        [("100", "101", "99", "100"), ("110", "112", "109", "111"), ("111", "111", "111", "111")]
    )
    signal = [(rows[0].close_time, D("0.01")), (rows[1].close_time, D("0.01"))]
    result = replay(spec_of(threshold_graph()), feed(rows, signal), config(rows))
    [fill] = result.fills
    assert fill["at"] == rows[1].open_time.isoformat()
    assert D(fill["price"]) == D("110")  # bar 2's open, not bar 1's close (100)
    assert D(fill["size"]) == D("50")  # sized at the decision: 10,000 x 0.5 / close 100


def test_slippage_moves_the_fill_adversely_onto_the_grid() -> None:
    rows = bars([("100", "101", "99", "100"), ("110", "112", "109", "111")])
    signal = [(rows[0].close_time, D("0.01"))]
    result = replay(
        spec_of(threshold_graph()), feed(rows, signal), config(rows, slippage_bps=D(10))
    )
    # 110 x (1 + 10 bps) = 110.11, up onto BTC's grid at this magnitude (one decimal)
    assert D(result.fills[0]["price"]) == D("110.2")


@pytest.mark.parametrize(
    ("bar", "origin", "price"),
    [
        # exits decided at close 100: stop 2 % -> 98, take 4 % -> 104
        (("99", "100", "97", "98"), "stop_loss", "98"),  # touched: fills at the level
        (("95", "96", "94", "95"), "stop_loss", "95"),  # gapped through: fills at the open
        (("100", "104.5", "97", "103"), "stop_loss", "98"),  # both inside: the stop first
        (("100", "104.5", "99", "103"), "take_profit", "104"),
    ],
)
def test_exits_follow_the_bar_path(bar: tuple[str, ...], origin: str, price: str) -> None:
    rows = bars([("100", "100", "100", "100"), ("100", "100", "100", "100"), bar])  # type: ignore[list-item]
    signal = [(rows[0].close_time, D("0.01"))]
    graph = threshold_graph(stop="2", take="4")
    result = replay(spec_of(graph), feed(rows, signal), config(rows))
    opened, closed = result.fills
    assert D(opened["price"]) == D("100")
    assert (closed["origin"], D(closed["price"])) == (origin, D(price))
    assert closed["at"] == rows[2].close_time.isoformat()  # booked once the bar is known


def _zigzag(n: int) -> list[Bar]:
    prices, price = [], D(100)
    for i in range(n):
        close = price * (D("1.02") if i % 2 == 0 else D("0.98"))
        prices.append((str(price), str(max(price, close)), str(min(price, close)), str(close)))
        price = close
    return bars(prices)  # type: ignore[arg-type]


def _returns(rows: list[Bar], shift: int) -> list[tuple[datetime, Decimal]]:
    """Each bar's return, stamped at its close (``shift`` -1: one bar early, a cheat)."""
    stamped = []
    for i, bar in enumerate(rows):
        at = i + shift
        if 0 <= at < len(rows):
            stamped.append((rows[at].close_time, bar.close / bar.open - 1))
    return sorted(stamped)


def test_no_profit_from_seeing_the_next_bar() -> None:
    rows = _zigzag(48)
    honest = replay(spec_of(threshold_graph()), feed(rows, _returns(rows, 0)), config(rows))
    cheating = replay(spec_of(threshold_graph()), feed(rows, _returns(rows, -1)), config(rows))
    # A feed that stamps bar t+1's return at bar t's close would let momentum profit on a
    # zig-zag; read honestly it can only lose: it buys after up bars, which are followed
    # by down bars.
    assert cheating.metrics.total_return > 0
    assert honest.metrics.total_return < 0


def test_the_same_inputs_give_byte_identical_results() -> None:
    spec = spec_of(threshold_graph(stop="2", take="4"))
    candles = {"BTC": bundled("BTC", "1h")[:1500]}
    feed_one, feed_two = feed_of(spec, candles), feed_of(spec, candles)
    cfg = config(
        [Bar(c.open_time, c.close_time, c.open, c.high, c.low, c.close) for c in candles["BTC"]],
        slippage_bps=D(5),
    )
    first, second = replay(spec, feed_one, cfg), replay(spec, feed_two, cfg)
    assert first.result_hash == second.result_hash
    assert first.input_hash == second.input_hash
    assert first.metrics.to_document() == second.metrics.to_document()
    assert first.fills == second.fills
    assert len(first.trades) > 10


def test_the_curve_has_one_sample_per_bar_and_starts_from_the_collateral() -> None:
    rows = _zigzag(10)
    result = replay(spec_of(threshold_graph()), feed(rows, _returns(rows, 0)), config(rows))
    assert [t for t, _ in result.curve] == [b.close_time for b in rows]
    assert result.steps == 10
    assert result.metrics.start_equity == D(10_000)


def test_a_cancelled_run_stops_between_steps() -> None:
    rows = _zigzag(10)
    calls = iter(range(100))
    with pytest.raises(ReplayCancelled):
        replay(
            spec_of(threshold_graph()),
            feed(rows, _returns(rows, 0)),
            config(rows),
            cancelled=lambda: next(calls) >= 3,
        )


def test_assets_of_different_cadences_interleave_in_time() -> None:
    graph = document(
        [
            node("btc", "market", asset="BTC", interval="5m"),
            node("eth", "market", asset="ETH", interval="1h"),
            node("fast", "feature", channel="ema:12"),
            node("slow", "feature", channel="ema:26"),
            node("hourly", "feature", channel="returns:1"),
            node("golden", "rule", op="crosses_above"),
            node("death", "rule", op="crosses_below"),
            node("eth_up", "rule", op="gt", threshold="0"),
            node("eth_down", "rule", op="lt", threshold="0"),
            node("risk", "risk", sizeFraction="0.2", leverage=1, maxOpenPositions=2),
            node("act", "action"),
        ],
        [
            edge("btc", "fast"),
            edge("btc", "slow"),
            edge("eth", "hourly"),
            edge("fast", "golden", "left"),
            edge("slow", "golden", "right"),
            edge("fast", "death", "left"),
            edge("slow", "death", "right"),
            edge("hourly", "eth_up", "left"),
            edge("hourly", "eth_down", "left"),
            edge("golden", "act", "open_long"),
            edge("death", "act", "close"),
            edge("eth_up", "act", "open_long"),
            edge("eth_down", "act", "close"),
            edge("risk", "act", "risk"),
        ],
    )
    spec = spec_of(graph)
    btc, eth = bundled("BTC", "5m")[:600], bundled("ETH", "1h")
    eth = [c for c in eth if btc[0].open_time <= c.open_time and c.close_time <= btc[-1].close_time]
    result = replay(
        spec,
        feed_of(spec, {"BTC": btc, "ETH": eth}),
        ReplayConfig(btc[0].open_time + 3 * HOUR, btc[-1].close_time, D(10_000)),
    )
    times = [t for t, _ in result.curve]
    assert times == sorted(set(times))  # one sample per 5-minute close, in order
    assert len(times) == 600 - 36
    assets = {fill["asset"] for fill in result.fills}
    assert assets == {"BTC", "ETH"}
    eth_fills = [f for f in result.fills if f["asset"] == "ETH"]
    assert all(datetime.fromisoformat(f["at"]).minute == 0 for f in eth_fills)  # hourly opens
