"""Backtest throughput: our replay engine next to backtesting.py, backtrader and a bare loop.

A backtest's cost is bars per second of the replay engine, and the only meaningful scale for
that number is other engines running the same strategy on the same data on the same
machine in the same run: machines and loads differ too much between runs (see the other
sections of the README). So every figure here trades one strategy, the EMA 12/26 crossover
of ``tests.workers.trading_kit.ema_graph`` on 1h bars (long when EMA 12 crosses above EMA
26, flat when it crosses back; ``sizeFraction`` 0.2, leverage 1 so margin never binds, no
stops), on the bundled candles, once for BTC and once for BTC, ETH and SOL in one account:

- ``backtest.replay_{1,3}_asset``: our engine (``domain.backtesting.replay``), with no
  slippage (the parity configuration). The feed (market memory's own EMA channel runners
  over the candles, as ``tests.domain.backtesting.replay_kit`` builds it) is built once and
  timed apart (``feed_seconds``); the figure is the replay alone.
- ``backtest.backtesting_py_{1,3}_asset`` and ``backtest.backtrader_{1,3}_asset``: the two
  peers (the ``bench`` extra; ``./dev bench`` installs them), set up to follow our rules:
  0.045 % commission on each fill, a decision at bar t's close filled at bar t+1's open,
  the size computed at t's close as ours (equity x 0.2 / close, floored to the asset's size
  decimals: backtesting.py's ``FractionalBacktest`` with that unit, backtrader with
  fractional sizes), 10,000 starting cash, EMAs seeded with the SMA of the first n closes
  (backtrader's EMA is; backtesting.py gets a pandas series seeded the same way), and the
  crossover tested as our rules do (``prev_fast <= prev_slow and fast > slow``). backtesting.py
  trades one instrument per run, so its three-asset figure is three runs of 10,000 each:
  the trades compare, the equity does not. Building their data frames is not timed
  (``data_seconds``); computing their indicators is part of their run.
- ``backtest.bare_loop_{1,3}_asset``: the ceiling, a plain Decimal loop over the candles doing
  only the strategy's arithmetic (both EMAs, the crossover, fills at the next open with the
  fee, sizing, the equity at each close).

One operation is one asset-bar (an engine step of one asset): ``seconds`` is the p50 of
``repetitions`` runs, latency one whole run; ``vs_replay`` is a figure's rate over ours. Each
peer and the bare loop carry ``parity``: the closed trades and the open position at the end
compared with ours by asset, entry and exit bar, the sizes, and the final equity (marked at
the last close). Our figure carries ``grid_rounding_cost``: what snapping our fills onto the
venue's price grid (a buy rounds up, a sell down) cost against the raw opens the others fill
at. The bare loop's ``parity_with_venue_rounding`` replays its arithmetic once more (untimed)
with that grid and our micro-USDC fee rounding: equal to ours, it accounts for the whole
gap. The peers are optional: when they are not importable their figures say
``"skipped": "install with ./dev bench"``. Nothing here touches the run's store, so
``__main__`` runs this module once per run (with the first backend), not per backend.

``python -m tests.benchmarks.backtest`` profiles the one-asset replay (cProfile) and prints
the top functions, as the README's "where the time goes" reports them.
"""

from __future__ import annotations

import cProfile
import importlib
import io
import math
import pstats
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from functools import cache
from types import ModuleType
from typing import Any

from domain.backtesting.feed import HistoricalFeed
from domain.backtesting.replay import ReplayConfig, ReplayResult, replay
from domain.clones.graph import compile_graph, parse_graph
from domain.market.model import Candle
from domain.prop.positions import Side, fill_price
from domain.trading.spec import StrategySpec
from tests.domain.backtesting.replay_kit import SIZE_DECIMALS, bundled, feed_of, instrument
from tests.domain.clones.graph_examples import ASSETS, edge, node
from tests.workers.trading_kit import ema_graph

# (name, operations, seconds, latencies in seconds, extra keys): __main__ makes figures.
Measurement = tuple[str, int, float, list[float], dict[str, Any]]

ONE, THREE = ("BTC",), ("BTC", "ETH", "SOL")
INTERVAL = "1h"
FAST, SLOW = 12, 26
FRACTION = Decimal("0.2")  # ema_graph's size fraction: three positions use 60 % at most
FEE = Decimal("0.00045")  # the instruments' taker rate, charged on every fill
CASH = Decimal(10_000)
MICRO = Decimal("0.000001")
SKIPPED = {"skipped": "install with ./dev bench"}


@dataclass(frozen=True)
class Sizes:
    """How much each figure does: bars per asset (``None``: all) and timed repetitions."""

    bars: int | None
    repetitions: int


FULL = Sizes(bars=None, repetitions=5)
QUICK = Sizes(bars=400, repetitions=1)


@dataclass(frozen=True)
class Trade:
    """One long round trip, by asset and the open times of its fill bars."""

    asset: str
    opened_at: datetime
    closed_at: datetime | None  # None: still open at the end
    size: Decimal


@dataclass(frozen=True)
class Outcome:
    """What one engine traded: its round trips and its equity marked at the last close."""

    trades: tuple[Trade, ...]
    final_equity: Decimal
    rejected: int = 0  # orders the engine refused (margin): must stay zero for parity


def run(database_url: str, schema: str, *, quick: bool) -> Iterator[Measurement]:
    """Every backtest figure; the store is not used (the engines run in memory)."""
    sizes = QUICK if quick else FULL
    if any(instrument(asset).taker_fee_rate != FEE for asset in THREE):
        raise RuntimeError("the peers' commission must be the instruments' taker rate")
    for assets in (ONE, THREE):
        data = {asset: candles(asset, sizes.bars) for asset in assets}
        ours, outcome = replay_figure(data, sizes)
        yield ours
        rate = ours[1] / ours[2]
        yield peer_figure("backtesting_py", data, sizes, outcome, rate, backtesting_py)
        yield peer_figure("backtrader", data, sizes, outcome, rate, backtrader)
        name, bars, seconds, runs, extra = peer_figure(
            "bare_loop", data, sizes, outcome, rate, lambda: bare_loop
        )
        extra["parity_with_venue_rounding"] = parity(outcome, bare_loop(data, venue=True)())
        yield name, bars, seconds, runs, extra


def candles(asset: str, bars: int | None) -> list[Candle]:
    """The bundled 1h candles of ``asset``, the first ``bars`` of them (read once, untimed)."""
    rows = _bundled(asset)
    return list(rows if bars is None else rows[:bars])


@cache
def _bundled(asset: str) -> tuple[Candle, ...]:
    return tuple(bundled(asset, INTERVAL))


def _suffix(data: Mapping[str, Sequence[Candle]]) -> str:
    return f"{len(data)}_asset"


# --- our engine -------------------------------------------------------------------------


def ema_document(assets: Sequence[str]) -> dict[str, Any]:
    """``ema_graph`` of each asset at 1h in one graph: one risk node (leverage 1), one action.

    Each asset keeps its market node, both EMAs and both crossover rules (ids prefixed by
    the asset); the risk node allows a position per asset.
    """
    nodes: list[dict[str, Any]] = []
    edges: list[dict[str, Any]] = []
    shared = {"risk", "act"}
    for asset in assets:
        graph = ema_graph(asset)
        prefix = f"{asset.lower()}_"

        def named(node_id: str, prefix: str = prefix) -> str:
            return node_id if node_id in shared else prefix + node_id

        for record in graph["nodes"]:
            if record["id"] in shared:
                continue
            params = dict(record["params"])
            if record["kind"] == "market":
                params["interval"] = INTERVAL
            nodes.append({**record, "id": named(record["id"]), "params": params})
        edges += [
            {**e, "from": named(e["from"]), "to": named(e["to"])}
            for e in graph["edges"]
            if e["from"] not in shared
        ]
    risk = {"sizeFraction": str(FRACTION), "leverage": 1, "maxOpenPositions": len(assets)}
    nodes += [node("risk", "risk", **risk), node("act", "action")]
    edges.append(edge("risk", "act", "risk"))
    return {"schema": ema_graph()["schema"], "nodes": nodes, "edges": edges}


def ema_spec(assets: Sequence[str]) -> StrategySpec:
    """The compiled crossover strategy on ``assets``."""
    return compile_graph(parse_graph(ema_document(assets), known_assets=ASSETS))


def replay_figure(
    data: Mapping[str, Sequence[Candle]], sizes: Sizes
) -> tuple[Measurement, Outcome]:
    """Our engine over ``data`` (slippage 0), ``repetitions`` times; the feed built once."""
    spec = ema_spec(sorted(data))
    started = time.perf_counter()
    feed = feed_of(spec, {asset: list(rows) for asset, rows in data.items()})
    feed_seconds = time.perf_counter() - started
    config = parity_config(feed)
    results: list[ReplayResult] = []
    runs = _timed(lambda: results.append(replay(spec, feed, config)), sizes.repetitions)
    result = results[-1]
    if {r.result_hash for r in results} != {result.result_hash}:
        raise RuntimeError("two replays of the same inputs gave different results")
    bars = sum(len(rows) for rows in data.values())
    if result.steps * len(data) != bars:
        raise RuntimeError(f"{result.steps} steps for {bars} bars of {len(data)} assets")
    outcome = replay_outcome(result)
    seconds = _p50(runs)
    orders = sum(len(d["orders"]) for d in result.decisions)
    last = result.curve[-1][0].isoformat()  # orders decided at the last close never fill
    unfilled = sum(len(d["orders"]) for d in result.decisions if d["at"] == last)
    if len(result.fills) != orders - unfilled:
        raise RuntimeError(f"{orders} orders, {len(result.fills)} fills: some were refused")
    extra = {
        **_run_keys(runs, bars, sizes),
        "steps": result.steps,
        "feed_seconds": round(feed_seconds, 4),
        "bars_per_second_with_feed": round(bars / (seconds + feed_seconds), 1),
        "trades": sum(t.closed_at is not None for t in outcome.trades),
        "open_at_end": sum(t.closed_at is None for t in outcome.trades),
        "fills": len(result.fills),
        "fees": str(result.metrics.fees),
        "final_equity": _money(outcome.final_equity),
        "grid_rounding_cost": _money(grid_rounding_cost(result.fills)),
        "deterministic": True,
    }
    return (f"backtest.replay_{_suffix(data)}", bars, seconds, runs, extra), outcome


def parity_config(feed: HistoricalFeed) -> ReplayConfig:
    """Every bar of the feed, 10,000 USDC, no slippage."""
    first = min(bars[0].open_time for bars in feed.bars.values())
    last = max(bars[-1].close_time for bars in feed.bars.values())
    return ReplayConfig(start=first, end=last, collateral=CASH, slippage_bps=Decimal(0))


def replay_outcome(result: ReplayResult) -> Outcome:
    """Our round trips (from the ledger's fills) and the last equity sample."""
    fills = [
        (f["asset"], datetime.fromisoformat(f["at"]), Decimal(f["size"])) for f in result.fills
    ]
    return Outcome(trades_of(fills), result.curve[-1][1] if result.curve else CASH)


def grid_rounding_cost(fills: Iterable[Mapping[str, Any]]) -> Decimal:
    """What moving each fill from its reference (the open) onto the price grid cost."""
    return sum(
        (
            abs(Decimal(f["price"]) - Decimal(f["referencePrice"])) * abs(Decimal(f["size"]))
            for f in fills
        ),
        start=Decimal(0),
    )


# --- the peers and the bare loop --------------------------------------------------------

Engine = Callable[[Mapping[str, Sequence[Candle]]], Callable[[], Outcome]]


def peer_figure(
    peer: str,
    data: Mapping[str, Sequence[Candle]],
    sizes: Sizes,
    ours: Outcome,
    our_rate: float,
    load: Callable[[], Engine],
) -> Measurement:
    """One peer (or the bare loop) on ``data``; skipped when its package is not installed."""
    name = f"backtest.{peer}_{_suffix(data)}"
    try:
        engine = load()
    except ImportError:
        return (name, 0, 0.0, [], dict(SKIPPED))
    started = time.perf_counter()
    prepared = engine(data)  # data frames, untimed
    data_seconds = time.perf_counter() - started
    outcomes: list[Outcome] = []
    runs = _timed(lambda: outcomes.append(prepared()), sizes.repetitions)
    bars = sum(len(rows) for rows in data.values())
    seconds = _p50(runs)
    together = peer != "backtesting_py" or len(data) == 1  # one account, or one per asset
    extra = {
        **_run_keys(runs, bars, sizes),
        "data_seconds": round(data_seconds, 4),
        "vs_replay": round(bars / seconds / our_rate, 3),  # > 1: faster than ours
        "parity": parity(ours, outcomes[-1], equity_comparable=together),
    }
    return (name, bars, seconds, runs, extra)


def backtesting_py() -> Engine:
    """backtesting.py's ``FractionalBacktest`` per asset (one instrument per run)."""
    pd, lib = _module("pandas"), _module("backtesting.lib")
    strategy = _backtesting_strategy(_module("backtesting"), pd)

    def prepare(data: Mapping[str, Sequence[Candle]]) -> Callable[[], Outcome]:
        frames = {asset: _frame(pd, rows) for asset, rows in data.items()}

        def trade() -> Outcome:
            trades: list[Trade] = []
            equity = Decimal(0)
            for asset, frame in frames.items():
                unit = 10.0 ** -SIZE_DECIMALS[asset]
                backtest = lib.FractionalBacktest(
                    frame,
                    strategy,
                    cash=float(CASH),
                    commission=float(FEE),
                    fractional_unit=unit,
                    finalize_trades=False,
                )
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # open trades at the end are expected
                    stats = backtest.run()
                trades += _backtesting_trades(asset, stats, unit)
                equity += Decimal(repr(float(stats["Equity Final [$]"])))
            return Outcome(tuple(sorted(trades, key=_order)), equity)

        return trade

    return prepare


def _backtesting_strategy(backtesting: Any, pd: Any) -> Any:
    def ema(values: Any, n: int) -> Any:
        return sma_seeded_ema(pd, values, n)

    class EmaCross(backtesting.Strategy):  # type: ignore[misc]
        """Long on EMA 12 crossing above EMA 26, flat on crossing back; sized at the close."""

        def init(self) -> None:
            self.fast = self.I(ema, self.data.Close, FAST)
            self.slow = self.I(ema, self.data.Close, SLOW)

        def next(self) -> None:
            prev_fast, fast = self.fast[-2], self.fast[-1]
            prev_slow, slow = self.slow[-2], self.slow[-1]
            if self.position:
                if prev_fast >= prev_slow and fast < slow:
                    self.position.close()
            elif prev_fast <= prev_slow and fast > slow:
                # FractionalBacktest's prices are per unit of the size grid, so this is the
                # size in grid units, floored
                units = math.floor(self.equity * float(FRACTION) / self.data.Close[-1])
                if units > 0:
                    self.buy(size=units)

    return EmaCross


def sma_seeded_ema(pd: Any, values: Any, n: int) -> Any:
    """EMA ``n`` of ``values`` (weight 2/(n+1)) seeded with the SMA of the first n; NaN before."""
    series = pd.Series(values, dtype=float)
    seeded = series.iloc[n - 1 :].copy()
    if len(seeded):
        seeded.iloc[0] = series.iloc[:n].mean()
    ema = seeded.ewm(alpha=2 / (n + 1), adjust=False).mean()
    return ema.reindex(series.index).to_numpy()


def _frame(pd: Any, rows: Sequence[Candle]) -> Any:
    return pd.DataFrame(
        {
            "Open": [float(c.open) for c in rows],
            "High": [float(c.high) for c in rows],
            "Low": [float(c.low) for c in rows],
            "Close": [float(c.close) for c in rows],
            "Volume": [float(c.volume) for c in rows],
        },
        index=pd.DatetimeIndex([c.open_time for c in rows]),
    )


def _backtesting_trades(asset: str, stats: Any, unit: float) -> list[Trade]:
    found = [
        Trade(asset, _utc(row.EntryTime), _utc(row.ExitTime), _size(asset, row.Size))
        for row in stats["_trades"].itertuples()
    ]
    found += [  # still open: FractionalBacktest rescales only the closed trades
        Trade(asset, _utc(t.entry_time), None, _size(asset, t.size * unit))
        for t in stats["_strategy"].trades
    ]
    return found


def backtrader() -> Engine:
    """backtrader: one Cerebro, one broker, a data feed per asset, fractional sizes."""
    bt, pd = _module("backtrader"), _module("pandas")
    strategy = _backtrader_strategy(bt)

    def prepare(data: Mapping[str, Sequence[Candle]]) -> Callable[[], Outcome]:
        frames = {asset: _frame(pd, rows).tz_localize(None) for asset, rows in data.items()}

        def trade() -> Outcome:
            cerebro = bt.Cerebro(stdstats=False)  # no observers: they only feed plots
            for asset, frame in frames.items():
                cerebro.adddata(bt.feeds.PandasData(dataname=frame, name=asset))
            cerebro.addstrategy(strategy)
            cerebro.broker.setcash(float(CASH))
            cerebro.broker.setcommission(commission=float(FEE))  # a rate of the notional
            (ran,) = cerebro.run()
            fills = [(a, _utc(bt.num2date(at)), _size(a, size)) for a, at, size in ran.fills]
            final = Decimal(repr(float(cerebro.broker.getvalue())))
            return Outcome(trades_of(fills), final, ran.rejected)

        return trade

    return prepare


def _backtrader_strategy(bt: Any) -> Any:
    class EmaCross(bt.Strategy):  # type: ignore[misc]
        """Long on EMA 12 crossing above EMA 26, flat on crossing back; sized at the close."""

        def __init__(self) -> None:
            self.lines_of = [
                (
                    d,
                    bt.indicators.EMA(d.close, period=FAST),
                    bt.indicators.EMA(d.close, period=SLOW),
                )
                for d in self.datas
            ]
            self.fills: list[tuple[str, float, float]] = []
            self.rejected = 0

        def notify_order(self, order: Any) -> None:
            if order.status == order.Completed:
                self.fills.append((order.data._name, order.executed.dt, order.executed.size))
            elif order.status in (order.Margin, order.Rejected):
                self.rejected += 1

        def next(self) -> None:
            equity = self.broker.getvalue()
            for data, fast, slow in self.lines_of:
                if self.getposition(data).size:
                    if fast[-1] >= slow[-1] and fast[0] < slow[0]:
                        self.close(data=data)
                elif fast[-1] <= slow[-1] and fast[0] > slow[0]:
                    scale = 10 ** SIZE_DECIMALS[data._name]
                    size = math.floor(equity * float(FRACTION) / data.close[0] * scale) / scale
                    if size > 0:
                        self.buy(data=data, size=size)

    return EmaCross


def bare_loop(
    data: Mapping[str, Sequence[Candle]], *, venue: bool = False
) -> Callable[[], Outcome]:
    """The ceiling: only the strategy's arithmetic, in Decimal, over aligned candles.

    With ``venue`` (an explanation, never timed) each fill also does what our ledger adds to
    the peers' arithmetic: the price snapped onto the grid (a buy up, a sell down) and the
    fee charged in whole micro-USDC, rounded up. Realized PnL needs no rounding: size
    decimals plus price decimals never exceed 6 on the grid.
    """
    assets = sorted(data)
    rows = [[data[asset][i] for asset in assets] for i in range(len(data[assets[0]]))]
    steps = [10 ** -Decimal(SIZE_DECIMALS[asset]) for asset in assets]
    decimals = [SIZE_DECIMALS[asset] for asset in assets]

    def trade() -> Outcome:
        cash = CASH
        held = [Decimal(0)] * len(assets)
        pending: list[Decimal | None] = [None] * len(assets)
        averages = [[_Ema(FAST), _Ema(SLOW)] for _ in assets]
        fills: list[tuple[str, datetime, Decimal]] = []
        equity = cash
        for bars in rows:
            for k, bar in enumerate(bars):
                size = pending[k]
                if size is not None:
                    price, fee = bar.open, abs(size) * bar.open * FEE
                    if venue:
                        side = Side.BUY if size > 0 else Side.SELL
                        price = fill_price(bar.open, side, Decimal(0), decimals[k])
                        fee = (abs(size) * price * FEE).quantize(MICRO, ROUND_CEILING)
                    cash -= size * price + fee
                    held[k] += size
                    pending[k] = None
                    fills.append((assets[k], bar.open_time, size))
            equity = cash + sum(
                (h * b.close for h, b in zip(held, bars, strict=True)), start=Decimal(0)
            )
            for k, bar in enumerate(bars):
                fast, slow = averages[k]
                prev_fast, prev_slow = fast.value, slow.value
                now_fast, now_slow = fast.update(bar.close), slow.update(bar.close)
                if prev_fast is None or prev_slow is None or now_fast is None or now_slow is None:
                    continue
                if held[k]:
                    if prev_fast >= prev_slow and now_fast < now_slow:
                        pending[k] = -held[k]
                elif prev_fast <= prev_slow and now_fast > now_slow:
                    size = (equity * FRACTION / bar.close).quantize(steps[k], ROUND_FLOOR)
                    if size > 0:
                        pending[k] = size
        return Outcome(trades_of(fills), equity)

    return trade


class _Ema:
    """EMA n seeded with the SMA of the first n inputs, as market memory folds it."""

    def __init__(self, n: int) -> None:
        self.n, self.seen, self.total = n, 0, Decimal(0)
        self.value: Decimal | None = None

    def update(self, x: Decimal) -> Decimal | None:
        if self.value is not None:
            self.value += (x - self.value) * 2 / (self.n + 1)
            return self.value
        self.total += x
        self.seen += 1
        if self.seen == self.n:
            self.value = self.total / self.n
        return self.value


# --- comparing ---------------------------------------------------------------------------


def trades_of(fills: Iterable[tuple[str, datetime, Decimal]]) -> tuple[Trade, ...]:
    """Long round trips from fills in time order: an entry, then the fill that closes it."""
    trades: list[Trade] = []
    opened: dict[str, tuple[datetime, Decimal]] = {}
    for asset, at, size in fills:
        if asset in opened:
            start, held = opened.pop(asset)
            if size != -held:
                raise RuntimeError(f"{asset} at {at}: {size} does not close {held}")
            trades.append(Trade(asset, start, at, held))
        else:
            opened[asset] = (at, size)
    trades += [Trade(asset, at, None, size) for asset, (at, size) in opened.items()]
    return tuple(sorted(trades, key=_order))


def parity(ours: Outcome, theirs: Outcome, *, equity_comparable: bool = True) -> dict[str, Any]:
    """Trades compared by (asset, entry bar, exit bar), sizes of those, final equity."""
    mine = {(t.asset, t.opened_at, t.closed_at): t for t in ours.trades}
    other = {(t.asset, t.opened_at, t.closed_at): t for t in theirs.trades}
    same = mine.keys() & other.keys()
    sized = [abs(mine[k].size - other[k].size) for k in same if mine[k].size != other[k].size]
    diff = theirs.final_equity - ours.final_equity
    found: dict[str, Any] = {
        "trades": [_closed(ours), _closed(theirs)],  # [ours, theirs]
        "open_at_end": [len(ours.trades) - _closed(ours), len(theirs.trades) - _closed(theirs)],
        "same_entry_and_exit": len(same),
        "only_ours": [_label(k) for k in sorted(mine.keys() - same, key=_key_order)[:5]],
        "only_theirs": [_label(k) for k in sorted(other.keys() - same, key=_key_order)[:5]],
        "sizes_differ": len(sized),
        "size_diff_max": str(max(sized, default=Decimal(0))),
        "rejected_orders": theirs.rejected,
        "final_equity": _money(theirs.final_equity),
    }
    if equity_comparable:
        found["final_equity_diff"] = _money(diff)  # theirs - ours
        found["final_equity_diff_pct"] = float(round(diff / ours.final_equity * 100, 4))
    else:
        found["final_equity_note"] = "one account of 10,000 per asset: not comparable"
    return found


def _closed(outcome: Outcome) -> int:
    return sum(t.closed_at is not None for t in outcome.trades)


def _order(trade: Trade) -> tuple[datetime, str]:
    return trade.opened_at, trade.asset


def _key_order(key: tuple[str, datetime, datetime | None]) -> tuple[datetime, str]:
    return key[1], key[0]


def _label(key: tuple[str, datetime, datetime | None]) -> str:
    asset, opened, closed = key
    return (
        f"{asset} {opened:%Y-%m-%dT%H:%M}..{closed:%Y-%m-%dT%H:%M}"
        if closed
        else (f"{asset} {opened:%Y-%m-%dT%H:%M}..open")
    )


# --- helpers ----------------------------------------------------------------------------


def _module(name: str) -> Any:
    """Import an optional package (raises ImportError when it is not installed)."""
    module: ModuleType = importlib.import_module(name)
    return module


def _timed(work: Callable[[], object], repetitions: int) -> list[float]:
    runs = []
    for _ in range(repetitions):
        started = time.perf_counter()
        work()
        runs.append(time.perf_counter() - started)
    return runs


def _p50(runs: Sequence[float]) -> float:
    """Nearest-rank median, as ``__main__.percentile_ms`` ranks."""
    ordered = sorted(runs)
    return ordered[max(1, math.ceil(len(ordered) / 2)) - 1]


def _run_keys(runs: Sequence[float], bars: int, sizes: Sizes) -> dict[str, Any]:
    return {
        "repetitions": sizes.repetitions,
        "runs_bars_per_second": [round(bars / s, 1) for s in runs],
    }


def _size(asset: str, value: float) -> Decimal:
    return Decimal(repr(round(float(value), SIZE_DECIMALS[asset]))).normalize()


def _utc(value: Any) -> datetime:
    moment: datetime = value.to_pydatetime() if hasattr(value, "to_pydatetime") else value
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _money(value: Decimal) -> str:
    return str(value.quantize(MICRO))


def profile_replay(top: int = 25) -> str:
    """cProfile of one one-asset replay: the ``top`` functions by own time, then cumulative."""
    data: dict[str, Sequence[Candle]] = {asset: candles(asset, None) for asset in ONE}
    spec = ema_spec(ONE)
    feed = feed_of(spec, data)
    config = parity_config(feed)
    replay(spec, feed, config)  # warm-up: imports, caches
    profiler = cProfile.Profile()
    profiler.enable()
    replay(spec, feed, config)
    profiler.disable()
    out = io.StringIO()
    for order in ("tottime", "cumulative"):
        pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(top)
    return out.getvalue()


if __name__ == "__main__":
    sys.stdout.write(profile_replay())
