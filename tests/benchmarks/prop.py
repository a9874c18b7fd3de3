"""Prop ledger throughput: event saves, order fills, projections and the audit.

Six figures per backend, on one store and one log, in this order:

- ``prop.raw_single_save``: the floor to compare the ledger with, measured in the same run
  on the same persistence: a plain :class:`ClashApplication` (:class:`RawSaves`, its own
  ``bench_raw_events`` table, same ``factory_builder``) saving a fresh one-field aggregate,
  one event per save, one thread, through ``run_command`` (clock binding and retry loop
  included, no read before the write). Not ``PropLedger.open_account``: that reads the
  repository first and carries the rule set and postings, which is the ledger's cost, not
  the store's.
- ``prop.fills_1``: ``PropLedger.submit_order`` from one submitter working through
  ``single_accounts`` fresh accounts in turn; every order is 0.001 BTC at leverage 5,
  alternately buy and sell, so each one passes the gates and fills (the position opens and
  closes in turn). One operation is one fill; latency = one ``submit_order``.
- ``prop.fills_16``: 16 submitter threads on one shared ``PropLedger``, each on an account
  of its own (so no optimistic-concurrency conflict is possible), started together; the
  rate is all fills over the wall time until the last thread ends.

  Both fill figures are verified afterwards: every order returned ``filled``, and each
  account's stream holds exactly as many ``OrderFilled`` events as orders were submitted to
  it and no ``OrderRejected`` (no lost, doubled or refused fill); the result then carries
  ``"verified": true`` (a failed check raises instead; the log's length is checked too
  before the projections run), and ``"vs_raw_single_save"``, its rate over
  ``raw_single_save``'s.
- ``prop.projection_catch_up``: every projection of the catalog (today only
  ``PropLedgerProjection``) caught up through ``ProjectionRunner.catch_up`` from an empty
  view over the whole ``prop`` log the fills left; one operation is one event of the log;
  latency = one page (``projections.runner.PAGE`` events, one transaction).
- ``prop.projection_rebuild``: ``ProjectionRunner.rebuild`` (empty the views, project the
  whole log again), ``rounds`` times; operations and latency as above.
- ``prop.audit``: ``projections.prop_audit.audit`` (read the log, check every event's
  postings, fold every account from its stream, compare with the views), ``rounds`` times;
  one operation is one event of the log; latency = one whole audit. The audit must find
  nothing.

Every account holds the same number of orders in both fill figures: an order loads its
account by folding the whole stream (no snapshots), so the fold gets longer as the account
trades, and equal streams keep the two figures comparable.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from adapters.database import Database, open_database
from adapters.event_stores import factory_builder
from adapters.migrations import migrate
from domain.aggregates import ClashAggregate
from domain.application import ClashApplication
from domain.clock import SimulatedClock
from domain.prop.account import PropAccount
from domain.prop.application import PropLedger
from domain.prop.orders import MarketOrder
from domain.prop.positions import Side
from domain.prop.rules import Purpose, RuleSet
from projections.catalog import projections
from projections.prop_audit import audit
from projections.runner import PAGE, ProjectionRunner
from tests.domain.prop.test_ledger import T0, FixedMarket

# (name, operations, seconds, latencies in seconds[, extra keys]): __main__ makes figures.
Measurement = tuple[str, int, float, list[float]]
ExtendedMeasurement = tuple[str, int, float, list[float], dict[str, Any]]
SUBMITTERS = 16
ORDER_ASSET, ORDER_SIZE, ORDER_LEVERAGE = "BTC", Decimal("0.001"), 5
COLLATERAL_MICROS = 10_000_000_000  # 10,000 USDC: fees and slippage never run it dry
REAL = datetime(2026, 12, 1, tzinfo=UTC)  # the projections' service clock


@dataclass(frozen=True)
class Sizes:
    """How much work each prop figure does."""

    raw_saves: int
    orders_per_account: int
    single_accounts: int  # accounts the single submitter of fills_1 works through
    rounds: int  # rebuilds and audits


FULL = Sizes(raw_saves=500, orders_per_account=50, single_accounts=4, rounds=2)
QUICK = Sizes(raw_saves=10, orders_per_account=2, single_accounts=2, rounds=1)


class RawRecord(ClashAggregate):
    """The smallest aggregate: created once, one event."""

    @event("Recorded")
    def __init__(self, seq: int) -> None:
        self.seq = seq


class RawSaves(ClashApplication):
    """A plain eventsourcing application on the same persistence as the ledger."""

    name = "bench_raw"

    def record(self, seq: int) -> UUID:
        """Save one new aggregate: one event, one insert, one commit."""

        def command() -> UUID:
            record = RawRecord(seq)
            self.save(record)
            return record.id

        return self.run_command(command)


def run(
    database_url: str, schema: str, *, quick: bool
) -> Iterator[Measurement | ExtendedMeasurement]:
    """Run every prop figure against one migrated database."""
    sizes = QUICK if quick else FULL
    # A connection per submitter (plus headroom), so the pool is never what they wait on.
    database = open_database(database_url, schema=schema, pool_size=SUBMITTERS + 2, max_overflow=4)
    try:
        migrate(database)
        raw = raw_single_save(database, sizes)
        yield raw
        raw_rate = raw[1] / raw[2]
        ledger = PropLedger(clock=SimulatedClock(T0), factory_builder=factory_builder(database))
        ledger.bind_market(FixedMarket())
        single = [[f"fills_1:{n}" for n in range(sizes.single_accounts)]]
        yield fills(ledger, "prop.fills_1", single, sizes, raw_rate)
        concurrent = [[f"fills_{SUBMITTERS}:{n}"] for n in range(SUBMITTERS)]
        yield fills(ledger, f"prop.fills_{SUBMITTERS}", concurrent, sizes, raw_rate)
        accounts = sizes.single_accounts + SUBMITTERS
        events = _log_length(database)
        if events != accounts * (1 + sizes.orders_per_account):  # an Opened + its fills each
            raise RuntimeError(f"the prop log holds {events} events for {accounts} accounts")
        runners = [
            ProjectionRunner(database, ledger, projection, lambda: REAL)
            for projection in projections("prop").values()
        ]
        yield projection_catch_up(runners, events)
        yield projection_rebuild(runners, events, sizes)
        yield prop_audit(ledger, database, events, sizes)
    finally:
        database.close()


def raw_single_save(database: Database, sizes: Sizes) -> Measurement:
    """One new one-event aggregate per save, sequentially, on a plain application."""
    app = RawSaves(clock=SimulatedClock(T0), factory_builder=factory_builder(database))
    app.record(-1)  # warm-up: creates the table and the first pooled connection
    latencies = []
    for seq in range(sizes.raw_saves):
        started = time.perf_counter()
        app.record(seq)
        latencies.append(time.perf_counter() - started)
    return ("prop.raw_single_save", len(latencies), sum(latencies), latencies)


def fills(
    ledger: PropLedger,
    name: str,
    causes: Sequence[Sequence[str]],
    sizes: Sizes,
    raw_rate: float,
) -> ExtendedMeasurement:
    """Each submitter (one thread per entry of ``causes``) trades its accounts in turn."""
    rules = RuleSet()
    accounts = [
        [
            ledger.open_account(
                cause=cause,
                owner="bench",
                purpose=Purpose.SANDBOX,
                rules=rules,
                collateral_micros=COLLATERAL_MICROS,
            )
            for cause in submitter
        ]
        for submitter in causes
    ]
    latencies: list[list[float]] = [[] for _ in accounts]
    statuses: list[list[str]] = [[] for _ in accounts]

    def submit(index: int) -> None:
        for account_id in accounts[index]:
            for n in range(sizes.orders_per_account):
                side = Side.BUY if n % 2 == 0 else Side.SELL
                order = MarketOrder(f"o{n}", ORDER_ASSET, side, ORDER_SIZE, ORDER_LEVERAGE)
                started = time.perf_counter()
                outcome = ledger.submit_order(account_id, order)
                latencies[index].append(time.perf_counter() - started)
                statuses[index].append(outcome.status)

    seconds = _in_threads(submit, len(accounts))
    orders = sum(len(s) for s in statuses)
    _verify_fills(name, ledger, [a for group in accounts for a in group], statuses, sizes)
    rate = orders / seconds
    extra = {"verified": True, "vs_raw_single_save": round(rate / raw_rate, 3)}
    return (name, orders, seconds, [x for group in latencies for x in group], extra)


def _in_threads(work: Callable[[int], None], count: int) -> float:
    """Run ``work(i)`` on ``count`` threads started together; return the wall time."""
    if count == 1:
        started = time.perf_counter()
        work(0)
        return time.perf_counter() - started
    start = threading.Barrier(count + 1)
    errors: list[BaseException] = []

    def body(index: int) -> None:
        start.wait()
        try:
            work(index)
        except BaseException as exc:  # re-raised on the main thread below
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    start.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    if errors:
        raise errors[0]
    return seconds


def _verify_fills(
    name: str,
    ledger: PropLedger,
    account_ids: Sequence[UUID],
    statuses: Sequence[Sequence[str]],
    sizes: Sizes,
) -> None:
    """Raise unless every order filled exactly once, as an event in its account's stream."""
    refused = [s for group in statuses for s in group if s != "filled"]
    if refused:
        raise RuntimeError(f"{name}: {len(refused)} orders not filled: {sorted(set(refused))}")
    for account_id in account_ids:
        stream = list(ledger.events.get(account_id))
        filled = sum(isinstance(e, PropAccount.OrderFilled) for e in stream)
        rejected = sum(isinstance(e, PropAccount.OrderRejected) for e in stream)
        if (filled, rejected) != (sizes.orders_per_account, 0):
            raise RuntimeError(
                f"{name}: account {account_id} has {filled} fills and {rejected} rejections"
                f" for {sizes.orders_per_account} orders"
            )


def projection_catch_up(runners: Sequence[ProjectionRunner], events: int) -> ExtendedMeasurement:
    """Every projection from an empty view to the head of the log, by ``catch_up``."""
    for runner in runners:  # forget any earlier position: catch_up starts from the first event
        with runner.database.transaction() as session:
            session.execute(
                "DELETE FROM projection_tracking WHERE projection = %s AND application = %s",
                (runner.projection.name, runner.application.name),
            )
    latencies: list[float] = []
    seconds = sum(_paged(runner.catch_up, events, latencies) for runner in runners)
    return ("prop.projection_catch_up", events, seconds, latencies, {"page": PAGE})


def projection_rebuild(
    runners: Sequence[ProjectionRunner], events: int, sizes: Sizes
) -> ExtendedMeasurement:
    """``rebuild`` of every projection, ``rounds`` times."""
    latencies: list[float] = []
    seconds = 0.0
    for _ in range(sizes.rounds):
        seconds += sum(_paged(runner.rebuild, events, latencies) for runner in runners)
    return ("prop.projection_rebuild", events * sizes.rounds, seconds, latencies, {"page": PAGE})


def _paged(call: Callable[..., int], events: int, latencies: list[float]) -> float:
    """Time ``call(progress)``, one latency per page; check it read the whole log."""
    last = started = time.perf_counter()

    def page_done(position: int, head: int) -> None:
        nonlocal last
        now = time.perf_counter()
        latencies.append(now - last)
        last = now

    read = call(page_done)
    seconds = time.perf_counter() - started
    if read != events:
        raise RuntimeError(f"projected {read} events of a {events}-event log")
    return seconds


def prop_audit(ledger: PropLedger, database: Database, events: int, sizes: Sizes) -> Measurement:
    """``audit`` of the whole log against the caught-up views, ``rounds`` times."""
    latencies = []
    for _ in range(sizes.rounds):
        started = time.perf_counter()
        report = audit(ledger, database)
        latencies.append(time.perf_counter() - started)
        if not report.ok or report.events != events:
            raise RuntimeError(
                f"audit read {report.events} of {events} events, findings {report.findings[:3]}"
            )
    return ("prop.audit", events * sizes.rounds, sum(latencies), latencies)


def _log_length(database: Database) -> int:
    with database.transaction(write=False) as session:
        row = session.fetch_one("SELECT COUNT(*) AS n FROM prop_events")
    return int(row["n"]) if row else 0
