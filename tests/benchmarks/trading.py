"""Trading throughput: one decision in memory, bound accounts on the replay feed, dry runs.

Live trading costs one *tick* per bound account per cadence: a due check, the context
packet read from market memory and the prop ledger, the decision, its row and cursors, and
the orders with their answers. How many accounts one trading worker can keep up with is
that cost, so it is measured end to end on the real stores; the pure decision is measured
apart so the share of the stores can be read off. Every figure uses the EMA-crossover
worked example (``tests.domain.clones.graph_examples.ema_crossover``: long BTC 5m when EMA
12 crosses above EMA 26, flat when it crosses back; size 0.1, leverage 3, stops 2 % / 4 %),
a rules strategy, so the ``rules`` provider answers and no model is called. Three figures
per backend:

- ``trading.decide_rules``: ``decide`` + ``plan_orders`` on prebuilt in-memory packets (a
  golden cross while flat: one entry order; a death cross while long: one close order; no
  cross: a hold), in turn; no IO. One operation is one decision. The same code on both
  backends: the two columns differ by noise only.
- ``trading.ticks``: ``accounts`` sandbox accounts (10,000 USDC each), each bound to a
  version of its own (one clone each), on the replay feed of the bundled candles, driven on
  a simulated service clock as ``tests/workers/test_trading_worker.py`` does. The feed is
  first run alone over ``WARM_UP`` of market time (so both EMAs have values), the accounts
  are bound from that instant, and one untimed trading step decides that first tick (and
  subscribes the two channels, a one-off backfill). Then, for ``hours`` of market time,
  each driver step advances the service clock by one second (5 market minutes at speed
  300), runs the feed's step (untimed: candles, contexts, feature channels), then the
  trading worker's step (timed: bindings catch-up, one leased work item per account, each
  one ``TradingEngine.tick``). One operation is one decision row written during the timed
  steps; seconds = the timed steps' wall time (the runtime's per-item toll included);
  latency = one account's ``perform`` (its tick); ``ticks_seconds`` is their sum (the rest
  of ``seconds`` is the runtime's toll and the bindings catch-up), ``feed_seconds`` the
  excluded feed steps. Verified afterwards, untimed: each account has exactly one row per
  tick of its binding (no skipped, refused or doubled tick), every row's orders are
  answered (``phase = executed``, one outcome per order), and each account's ledger
  stream holds as many fills as its rows report.
- ``trading.dry_run``: ``TradingEngine.dry_run`` of the same spec with no spender (rules
  only) at the feed's final market time on the store the ticks left (channels subscribed),
  ``dry_runs`` times. One operation is one dry run (its context artifact is written each
  time; storing the result in ``trading_dry_runs`` is the route's, not measured).
- ``trading.budget_check``: ``ModelMeter.stop_for``, what a model strategy's tick adds
  before it routes (``docs/model-usage.md``): today's rows of ``budget_clones`` clones with
  two models each are in ``model_usage_daily``; a global and a per-clone budget are set,
  none spent; each check reads one clone's and everyone's spend today (one query summing
  the day). One operation is one check, clones in turn.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4, uuid5

from adapters.bootstrap import REPLAY_DATA_START, Container, bootstrap
from adapters.database import Database, open_database, to_micros
from adapters.market_replay import ReplayMarketClock, ReplayStore
from adapters.model_meter import ModelMeter, Spender
from adapters.settings import Settings
from domain.clock import SimulatedClock
from domain.clones.graph import compile_graph, parse_graph
from domain.market.instruments import Instrument
from domain.prop.account import PropAccount
from domain.prop.rules import Purpose, RuleSet
from domain.trading.budgets import BudgetPolicy
from domain.trading.context import (
    AccountContext,
    ContextPacket,
    PositionContext,
    build_packet,
    flat_account,
)
from domain.trading.decisions import Decision, decide, decision_id_for
from domain.trading.sizing import Plan, PlannedOrder, plan_orders
from domain.trading.spec import ChannelRef, StrategySpec
from domain.trading.usage import PriceBook, UsageLine
from tests.domain.clones.graph_examples import ASSETS, ema_crossover
from tests.domain.prop.test_ledger import FixedMarket
from tests.domain.trading.test_decisions import TableMarket
from workers.market_replay import BundledArchive, MarketReplay
from workers.runtime import Runtime, StepReport, WorkItem
from workers.trading import TradingWorker

# (name, operations, seconds, latencies in seconds[, extra keys]): __main__ makes figures.
Measurement = tuple[str, int, float, list[float]]
ExtendedMeasurement = tuple[str, int, float, list[float], dict[str, Any]]
REAL = datetime(2026, 12, 1, 12, tzinfo=UTC)  # the simulated service clock's start
FIVE = timedelta(minutes=5)
SPEED = 300  # market seconds per service second: one driver step of 1 s is one 5m tick
STEP = timedelta(seconds=1)
# The feed runs alone first: EMA 26 on 5m needs 26 candles for a value; 3 h 30 also puts a
# round trip (golden cross at 04:25, death cross at 04:30) inside the quick run's hour.
WARM_UP = timedelta(hours=3, minutes=30)
COLLATERAL_MICROS = 10_000_000_000  # 10,000 USDC
DRY_RUN_COLLATERAL = Decimal(10_000)  # as the dry-run route
NS = UUID("5b3c1e9a-7d42-4c1b-9f0e-6a1d2c3b4e5f")
# What the replay world starts without: the store is shared with the other benchmarks, and
# ``auth.http``'s ``clash serve`` ran its own replay feed (state, contexts, leases) on it.
REPLAY_TABLES = (
    "market_replay",
    "market_features",
    "market_channels",
    "market_contexts",
    "market_candles",
)


@dataclass(frozen=True)
class Sizes:
    """How much work each trading figure does."""

    decisions: int  # decide_rules
    accounts: int  # ticks: bound accounts
    hours: int  # ticks: timed market hours (12 ticks each)
    dry_runs: int
    budget_clones: int  # budget_check: clones with usage today
    budget_checks: int


FULL = Sizes(
    decisions=20_000, accounts=20, hours=6, dry_runs=50, budget_clones=1000, budget_checks=2000
)
QUICK = Sizes(decisions=300, accounts=5, hours=1, dry_runs=10, budget_clones=20, budget_checks=50)


def run(
    database_url: str, schema: str, *, quick: bool, workdir: Path
) -> Iterator[Measurement | ExtendedMeasurement]:
    """Run every trading figure against one fresh store (artifacts under ``workdir``)."""
    sizes = QUICK if quick else FULL
    spec = ema_spec()
    yield decide_rules(spec, sizes)
    with Replayed(database_url, schema, workdir) as world:
        yield ticks(world, sizes)
        yield dry_runs(world.container, spec, sizes)
        yield budget_checks(world.container, sizes)


def ema_spec() -> StrategySpec:
    """The compiled EMA-crossover worked example."""
    return compile_graph(parse_graph(ema_crossover(), known_assets=ASSETS))


# --- trading.decide_rules ---------------------------------------------------------------


def decide_rules(spec: StrategySpec, sizes: Sizes) -> ExtendedMeasurement:
    """``decide`` + ``plan_orders`` over prebuilt packets, in turn; no IO."""
    cases = _packets(spec)
    instruments = {"BTC": FixedMarket().instruments["BTC"]}
    expected = [_signal_and_orders(spec, packet, instruments) for packet, _ in cases]
    if expected != [signal for _, signal in cases]:
        raise RuntimeError(f"decide_rules: the packets decided {expected}")
    latencies = []
    for n in range(sizes.decisions):
        packet, _ = cases[n % len(cases)]
        started = time.perf_counter()
        _decide_and_plan(spec, packet, instruments)
        latencies.append(time.perf_counter() - started)
    return ("trading.decide_rules", sizes.decisions, sum(latencies), latencies, {"packets": 3})


def _packets(spec: StrategySpec) -> list[tuple[ContextPacket, tuple[str, int]]]:
    """(packet, (expected signal, expected orders)): an entry, a close and a hold."""
    at = REPLAY_DATA_START + WARM_UP
    fast, slow = ChannelRef("BTC", "5m", "ema:12"), ChannelRef("BTC", "5m", "ema:26")

    def market(fast_values: tuple[str, str], slow_values: tuple[str, str]) -> TableMarket:
        return TableMarket(
            {
                fast: [(at - FIVE, Decimal(fast_values[0])), (at, Decimal(fast_values[1]))],
                slow: [(at - FIVE, Decimal(slow_values[0])), (at, Decimal(slow_values[1]))],
            }
        )

    held = PositionContext(
        asset="BTC",
        size=Decimal("0.09"),
        entry_price=Decimal(32_000),
        mark=Decimal(33_000),
        liquidation_price=None,
        unrealized_pnl=Decimal(90),
        leverage=3,
        stop_loss=None,
        take_profit=None,
    )
    long = AccountContext(Decimal(10_090), Decimal(9_100), Decimal(10_000), (held,))
    flat = flat_account(Decimal(10_000))
    cases = [
        (market(("32990", "33010"), ("33000", "33000")), flat, ("open_long", 1)),
        (market(("33010", "32990"), ("33000", "33000")), long, ("close", 1)),
        (market(("32990", "32995"), ("33000", "33000")), flat, ("hold", 0)),
    ]
    return [
        (
            build_packet(
                spec, at=at, assets=spec.asset_names, market=m, account=account, invocation=37
            ),
            signal,
        )
        for m, account, signal in cases
    ]


def _decide_and_plan(
    spec: StrategySpec, packet: ContextPacket, instruments: Mapping[str, Instrument]
) -> tuple[Decision, list[Plan]]:
    decision = decide(
        spec, packet, decision_id=decision_id_for("account:bench", packet.at), router=None
    )
    plans = plan_orders(
        decision.actions.actions,
        decision_id=decision.decision_id,
        equity=packet.account.account_value,
        positions=packet.account.position_sizes(),
        marks=packet.marks(),
        instruments=instruments,
        risk=spec.risk,
    )
    return decision, plans


def _signal_and_orders(
    spec: StrategySpec, packet: ContextPacket, instruments: Mapping[str, Instrument]
) -> tuple[str, int]:
    decision, plans = _decide_and_plan(spec, packet, instruments)
    [action] = decision.actions.actions
    return action.signal, sum(isinstance(p, PlannedOrder) for p in plans)


# --- the replay world -------------------------------------------------------------------


@cache
def bundled_archive() -> BundledArchive:
    """The bundled candles, read once per process (never timed)."""
    return BundledArchive()


@dataclass
class TimedTradingWorker(TradingWorker):
    """The trading worker, noting how long each account's ``perform`` (its tick) took."""

    tick_seconds: list[float] = field(default_factory=list)

    def perform(self, item: WorkItem, now: datetime) -> None:
        """Perform as the trading worker does; record the wall time."""
        started = time.perf_counter()
        super().perform(item, now)
        self.tick_seconds.append(time.perf_counter() - started)


class Replayed:
    """A container on the run's store, its replay feed, a trading worker and one runtime.

    Set up as ``tests/workers/test_trading_worker.py`` sets up its world: the market clock
    reads the feed's position on a database of its own with no cache, so every step sees
    the market time the feed just reached. The store is shared with the benchmarks that ran
    before, so the replay and market tables and both workers' leases, attempts and dead
    letters are emptied first.
    """

    def __init__(self, database_url: str, schema: str, workdir: Path) -> None:
        self.clock_database = open_database(database_url, schema=schema)
        self.market_clock = ReplayMarketClock(
            ReplayStore(self.clock_database), fallback=REPLAY_DATA_START, cache_seconds=0
        )
        self.service = SimulatedClock(REAL)
        settings = Settings(
            database_url=database_url,
            postgres_schema=schema,
            artifact_dir=str(workdir / "trading-artifacts"),
            log_json=False,
        )
        self.container = bootstrap(
            settings, service_clock=self.service, market_clock=self.market_clock
        )
        self.feed = MarketReplay(
            store=self.container.replay,
            market=self.container.market,
            market_clock=self.market_clock,
            speed=SPEED,
            on_published=self.container.features.on_candles,
            archive_factory=bundled_archive,
        )
        self.worker = TimedTradingWorker(self.container)
        _reset(self.container.database, (self.feed.name, self.worker.name))
        self.runtime = Runtime(
            self.container.database, self.service, holder="bench", rng=random.Random(7)
        )

    def __enter__(self) -> Replayed:
        return self

    def __exit__(self, *exc: object) -> None:
        self.container.close()
        self.clock_database.close()

    def step_feed(self, advance: timedelta) -> None:
        """Advance the service clock, then run the feed's step (untimed work)."""
        self.service.advance(advance)
        _checked(self.runtime.step(self.feed))

    def step_trading(self) -> float:
        """Run the trading worker's step at the current instant; return its wall time."""
        started = time.perf_counter()
        report = self.runtime.step(self.worker)
        seconds = time.perf_counter() - started
        _checked(report)
        return seconds


def _reset(database: Database, workers: Sequence[str]) -> None:
    with database.transaction() as session:
        for table in REPLAY_TABLES:
            session.execute(f"DELETE FROM {table}")
        for worker in workers:
            session.execute("DELETE FROM worker_leases WHERE lease_key LIKE %s", (f"{worker}:%",))
            session.execute("DELETE FROM worker_attempts WHERE worker = %s", (worker,))
            session.execute("DELETE FROM dead_letters WHERE worker = %s", (worker,))


def _checked(report: StepReport) -> None:
    """Raise unless every item of the step was done (skipped: leased by someone else)."""
    if report.error or report.failed or report.dead or report.skipped:
        raise RuntimeError(f"step of {report.worker} did not do every item: {report}")


# --- trading.ticks ----------------------------------------------------------------------


def ticks(world: Replayed, sizes: Sizes) -> ExtendedMeasurement:
    """Bound accounts ticked by the trading worker after each feed step, for ``hours``."""
    world.step_feed(timedelta(0))  # the feed's first step publishes history and anchors
    world.step_feed(WARM_UP / SPEED)
    start = world.market_clock.now()
    accounts = [_bound_account(world.container, n, start) for n in range(sizes.accounts)]
    world.step_trading()  # untimed: the first tick of every account, channels subscribed
    world.worker.tick_seconds.clear()
    seconds, feed_seconds = 0.0, 0.0
    for _ in range(sizes.hours * 12):
        started = time.perf_counter()
        world.step_feed(STEP)
        feed_seconds += time.perf_counter() - started
        seconds += world.step_trading()
    end = world.market_clock.now()
    per_account = int((end - start) / FIVE) + 1
    if end - start != sizes.hours * timedelta(hours=1):
        raise RuntimeError(f"the feed reached {end}, not {sizes.hours} h after {start}")
    counts = verify_ticks(world.container, accounts, start, per_account)
    timed = _rows_after(world.container.database, start)
    if timed != sizes.accounts * (per_account - 1):
        raise RuntimeError(f"{timed} rows written in the timed steps")
    extra = {
        "verified": True,
        "accounts": sizes.accounts,
        "ticks_per_account": per_account,
        **counts,
        "ticks_seconds": round(sum(world.worker.tick_seconds), 4),
        "feed_seconds": round(feed_seconds, 4),
    }
    return ("trading.ticks", timed, seconds, list(world.worker.tick_seconds), extra)


def _bound_account(container: Container, n: int, start: datetime) -> UUID:
    """A sandbox account bound from ``start`` to the first version of a clone of its own."""
    owner, clone_id = f"bench-{n}", uuid5(NS, f"clone:{n}")
    container.clones.create_clone(clone_id, owner, f"EMA {n}")
    container.clones.save_draft(
        clone_id, ema_crossover(), known_assets=ASSETS, table=container.tiers
    )
    version = container.clones.publish_version(
        clone_id, known_assets=ASSETS, table=container.tiers
    ).value
    account_id = container.prop.open_account(
        cause=f"bench-trading:{n}",
        owner=owner,
        purpose=Purpose.SANDBOX,
        rules=RuleSet(),
        collateral_micros=COLLATERAL_MICROS,
    )
    container.trading.bind(account_id, version, version.id, purpose="sandbox", starts_at=start)
    return account_id


def verify_ticks(
    container: Container, accounts: Sequence[UUID], start: datetime, per_account: int
) -> dict[str, int]:
    """Raise unless every account has one answered row per tick; return the counts."""
    database = container.database
    doubled = _fetch(
        database,
        "SELECT account_id, tick_at FROM trading_decisions"
        " GROUP BY account_id, tick_at HAVING COUNT(*) > 1",
    )
    if doubled:
        raise RuntimeError(f"{len(doubled)} ticks have more than one row: {doubled[:3]}")
    totals = {"rows": 0, "acts": 0, "holds": 0, "orders": 0, "fills": 0}
    for account_id in accounts:
        rows = container.decisions.page(account_id, before=None, limit=per_account + 10)
        ticks_seen = {r["tick_at"] for r in rows}
        expected = {start + n * FIVE for n in range(per_account)}
        statuses = {r["status"] for r in rows}
        if ticks_seen != expected or len(rows) != per_account or not statuses <= {"act", "hold"}:
            raise RuntimeError(
                f"account {account_id}: {len(rows)} rows over {len(ticks_seen)} ticks, "
                f"statuses {sorted(statuses)}, expected one act/hold row per {per_account} ticks"
            )
        errors = [(r["tick_at"], r["errors"]) for r in rows if r["errors"]]
        if errors:  # stale data would mean a tick was decided before its data was published
            raise RuntimeError(f"account {account_id}: rows with errors {errors[:3]}")
        filled = sum(_answered(account_id, r) for r in rows)
        stream = container.prop.repository.event_store.get(account_id)
        in_ledger = sum(isinstance(e, PropAccount.OrderFilled) for e in stream)
        if filled != in_ledger:
            raise RuntimeError(f"account {account_id}: {filled} fills in rows, {in_ledger} booked")
        totals["rows"] += len(rows)
        totals["acts"] += sum(r["status"] == "act" for r in rows)
        totals["holds"] += sum(r["status"] == "hold" for r in rows)
        totals["orders"] += sum(len(r["orders"] or ()) for r in rows)
        totals["fills"] += filled
    if totals["rows"] != len(accounts) * per_account:
        raise RuntimeError(f"{totals['rows']} rows for {len(accounts)} x {per_account} ticks")
    return totals


def _answered(account_id: UUID, row: dict[str, Any]) -> int:
    """Raise unless every order of ``row`` has the ledger's answer; return its fills."""
    orders = row["orders"] or []
    if row["phase"] != "executed":
        raise RuntimeError(f"account {account_id}: row at {row['tick_at']} still {row['phase']}")
    if row["status"] == "hold" and orders:
        raise RuntimeError(f"account {account_id}: a hold at {row['tick_at']} has orders")
    answers = {o.get("clientOrderId"): o["status"] for o in row["outcomes"] or []}
    missing = [o["clientOrderId"] for o in orders if o["clientOrderId"] not in answers]
    if missing:
        raise RuntimeError(f"account {account_id}: orders {missing} have no answer")
    return sum(answers[o["clientOrderId"]] == "filled" for o in orders)


def _rows_after(database: Database, start: datetime) -> int:
    rows = _fetch(
        database,
        "SELECT COUNT(*) AS n FROM trading_decisions WHERE tick_at > %s",
        (to_micros(start),),
    )
    return int(rows[0]["n"])


def _fetch(database: Database, query: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    with database.transaction(write=False) as session:
        return session.fetch_all(query, tuple(params))


# --- trading.dry_run --------------------------------------------------------------------


def dry_runs(container: Container, spec: StrategySpec, sizes: Sizes) -> ExtendedMeasurement:
    """``TradingEngine.dry_run`` (rules only) at the market clock's now, ``dry_runs`` times."""
    at = container.market_clock.now()
    latencies = []
    providers = set()
    for _ in range(sizes.dry_runs):
        started = time.perf_counter()
        result = container.trading_engine.dry_run(
            spec, run_id=uuid4(), at=at, collateral=DRY_RUN_COLLATERAL, spender=None
        ).document
        latencies.append(time.perf_counter() - started)
        providers.add(result["provider"])
        if result["errors"]:
            raise RuntimeError(f"dry run at {at} reported {result['errors']}")
    if providers != {"rules"}:
        raise RuntimeError(f"dry runs answered by {sorted(providers)}")
    return ("trading.dry_run", sizes.dry_runs, sum(latencies), latencies, {"at": at.isoformat()})


# --- trading.budget_check ---------------------------------------------------------------


def budget_checks(container: Container, sizes: Sizes) -> ExtendedMeasurement:
    """``ModelMeter.stop_for`` against a day of ``budget_clones`` clones' usage."""
    budgets = BudgetPolicy(10**9, {"starter": 10**8})
    meter = ModelMeter(container.model_meter.store, PriceBook({}), budgets, container.service_clock)
    spenders = [
        Spender(f"bench-user-{n}", uuid5(NS, f"budget:{n}"), "starter")
        for n in range(sizes.budget_clones)
    ]
    lines = (
        UsageLine("openai-compatible", "gpt-4o-mini", 3, 0, 3_702, 1_701, 1_575, 0),
        UsageLine("rules", "rules", 1, 0, 0, 0, 0, 0),
    )
    for spender in spenders:
        meter.record(spender, lines)
    latencies = []
    for n in range(sizes.budget_checks):
        started = time.perf_counter()
        stopped = meter.stop_for(spenders[n % len(spenders)])
        latencies.append(time.perf_counter() - started)
        if stopped is not None:
            raise RuntimeError(f"an unspent budget stopped a call: {stopped.reason()}")
    extra = {"clones": len(spenders), "rows": 2 * len(spenders)}
    return ("trading.budget_check", len(latencies), sum(latencies), latencies, extra)
