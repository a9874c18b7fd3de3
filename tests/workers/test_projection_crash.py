"""The projection worker killed mid-batch resumes exactly: its views end equal to a rebuild.

A log of about 1,200 prop events of every kind the projection folds (opens, fills,
rejections, stop-losses, liquidations, funding, adjustments, freezes, closes) is projected
by worker processes that are SIGKILLed twice:

1. paused inside a page, with part of the page applied and not committed (deterministic);
2. resumed and running free, as soon as the tracking row says it is two thirds through.

After each kill the views must hold the log up to the committed position, no more. A third
process then resumes from there and finishes; the views must equal a rebuild from scratch,
with every fill, order and posting exactly once and the postings journal balanced.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from adapters.bootstrap import Container, bootstrap
from adapters.database import Database
from domain.clock import SimulatedClock
from domain.prop.account import PropAccount
from domain.prop.application import PropLedger
from domain.prop.orders import MarketOrder
from domain.prop.positions import Side
from domain.prop.rules import Purpose
from projections.catalog import runners
from projections.prop_ledger import PropLedgerProjection
from projections.runner import ProjectionRunner
from tests.api.conftest import api_settings
from tests.conftest import schema_of
from tests.domain.prop.test_ledger import RULES, T0, FixedMarket

pytestmark = pytest.mark.slow

D = Decimal
ACCOUNTS = 40  # about 30 events each
PAGE = 10  # events per transaction in the killed workers: many commits to land between
SIZES = {"BTC": D("0.01"), "ETH": D("0.5"), "SOL": D("10")}

# The projection worker's work in a process of its own: a catch-up of the prop ledger
# projection, the runner built as ``projections.catalog.runners`` builds it, with small
# pages. Only the lean modules are imported (``bootstrap`` pulls web3 and siwe in, seconds
# per start). Given a pause position, it stops inside the first page past it with half the
# page applied and its transaction open, and says so: the kill then lands mid-batch.
WORKER = """
import sys, time
from adapters.clocks import SystemClock
from adapters.database import open_database
from adapters.event_stores import factory_builder
from domain.prop.application import PropLedger
from projections.prop_ledger import PropLedgerProjection
from projections.runner import ProjectionRunner

url, schema, page, pause_past = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
database, clock = open_database(url, schema=schema), SystemClock()
ledger = PropLedger(clock=clock, factory_builder=factory_builder(database))
projection = PropLedgerProjection()
apply_page = projection.apply_page

def traced(session, events):
    half = len(events) // 2
    apply_page(session, events[:half])
    position = events[half - 1][1] if half else events[0][1]
    if pause_past and events[-1][1] > pause_past and half:
        print(f"crash-test paused position={position} uncommitted={half}", flush=True)
        time.sleep(600)
    apply_page(session, events[half:])

def committed(position, head):
    print(f"crash-test committed position={position} head={head}", flush=True)

projection.apply_page = traced
ProjectionRunner(database, ledger, projection, clock.now).catch_up(committed, page=page)
print("crash-test done", flush=True)
"""


class _BatchedLedger(PropLedger):
    """The prop ledger keeping touched accounts in memory until :meth:`flush`.

    Every command runs as on :class:`PropLedger` (same application name, so the same log);
    only the writes are grouped, one transaction per flush instead of a load and a commit
    per event, so a big log takes about a second to write.
    """

    name = "prop"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._held: dict[UUID, PropAccount] = {}

    def account(self, account_id: UUID) -> PropAccount:
        held = self._held.get(account_id)
        return held if held is not None else super().account(account_id)

    def save(self, *objs: Any, **kwargs: Any) -> list[Any]:
        self._held.update((obj.id, obj) for obj in objs)
        return []

    def flush(self) -> None:
        super().save(*self._held.values())
        self._held.clear()


def _trade(ledger: _BatchedLedger, clock: SimulatedClock, market: FixedMarket, n: int) -> None:
    account = ledger.open_account(
        cause=f"crash:{n}",
        owner=f"u{n}",
        purpose=Purpose.SANDBOX,
        rules=RULES,
        collateral_micros=20_000_000_000,
    )
    if n % 5 == 0:  # a long whose stop-loss a drop fires
        stop = MarketOrder("stop", "BTC", Side.BUY, SIZES["BTC"], 5, stop_loss=D("95000"))
        ledger.submit_order(account, stop)
        ledger.apply_marks(account, {"BTC": D("94000")})
    if n % 13 == 0:  # a big long that the same drop liquidates
        ledger.submit_order(account, MarketOrder("big", "BTC", Side.BUY, D("3"), 20))
        ledger.apply_marks(account, {"BTC": D("94000")})
    for k in range(24):  # open, close, and reject a third position, over three assets
        clock.advance(timedelta(minutes=5))
        market.marks["BTC"] = D(100_000 + 50 * ((n + k) % 9))
        asset = ("BTC", "ETH", "SOL")[k % 3]
        side = Side.BUY if (k // 3) % 2 == 0 else Side.SELL
        ledger.submit_order(account, MarketOrder(f"o{k}", asset, side, SIZES[asset], 5))
        if k % 8 == 7:
            ledger.apply_funding(
                account,
                asset="BTC",
                period=clock.now(),
                rate=D("0.0001"),
                oracle_price=market.marks["BTC"],
            )
    ledger.adjust(account, amount=D("12.5"), reason="goodwill", admin="admin")
    if n % 7 == 0:
        ledger.freeze(account, reason="review", admin="admin")
        ledger.unfreeze(account, reason="cleared", admin="admin")
    if n % 11 == 0:
        ledger.close_all(account, admin="admin")
        ledger.close_account(account, reason="done", admin="admin")


def _produce(container: Container) -> None:
    clock, market = SimulatedClock(T0), FixedMarket()
    ledger = _BatchedLedger(clock=clock, factory_builder=container.event_stores)
    ledger.bind_market(market)
    for n in range(ACCOUNTS):
        _trade(ledger, clock, market, n)
        if n % 10 == 9:
            ledger.flush()
    ledger.flush()


def _log(ledger: PropLedger) -> list[tuple[int, Any]]:
    notifications = ledger.recorder.select_notifications(start=None, limit=1_000_000)
    return [(n.id, ledger.mapper.to_domain_event(n)) for n in notifications]


def _postings(event: Any) -> int:
    return len(getattr(event, "postings", ()))


def _expected_counts(log: list[tuple[int, Any]], upto: int) -> dict[str, int]:
    """Rows the count-checked views hold once the log is projected up to ``upto``."""
    events = [event for position, event in log if position <= upto]
    fills = [e for e in events if isinstance(e, PropAccount.OrderFilled)]
    return {
        "prop_accounts_view": sum(isinstance(e, PropAccount.Opened) for e in events),
        "prop_fills_view": len(fills),
        "prop_orders_view": sum(e.origin == "order" for e in fills)
        + sum(isinstance(e, PropAccount.OrderRejected) for e in events),
        "prop_postings_view": sum(_postings(e) for e in events),
    }


def _counts(database: Database) -> dict[str, int]:
    tables = ("prop_accounts_view", "prop_fills_view", "prop_orders_view", "prop_postings_view")
    with database.transaction(write=False) as session:
        rows = {t: session.fetch_one(f"SELECT count(*) AS n FROM {t}") for t in tables}
    return {t: int(row["n"]) if row else 0 for t, row in rows.items()}


def _snapshot(database: Database) -> dict[str, list[dict[str, Any]]]:
    with database.transaction(write=False) as session:
        return {
            t: sorted(session.fetch_all(f"SELECT * FROM {t}"), key=repr)
            for t in PropLedgerProjection.tables
        }


@pytest.fixture
def container(database_url: str) -> Iterator[Container]:
    built = bootstrap(
        api_settings(database_url), service_clock=SimulatedClock(datetime(2026, 12, 1, tzinfo=UTC))
    )
    yield built
    built.close()


@dataclass
class Worker:
    """A started worker process and the file its output goes to."""

    process: subprocess.Popen[bytes]
    output: Path

    def says(self, prefix: str) -> str | None:
        """The first output line starting with ``prefix``."""
        lines = self.output.read_text().splitlines()
        return next((line for line in lines if line.startswith(prefix)), None)

    def wait_for(self, condition: Callable[[], bool], what: str) -> None:
        """Poll ``condition`` until true; fail if the process exits first or 60 s pass."""
        deadline = time.monotonic() + 60
        while not condition():
            if self.process.poll() is not None:
                output = self.output.read_text()
                pytest.fail(f"{what}: exited {self.process.returncode} first:\n{output}")
            if time.monotonic() > deadline:
                pytest.fail(f"{what}: not within 60 s:\n{self.output.read_text()}")
            time.sleep(0.005)

    def kill(self) -> None:
        """SIGKILL it and reap it."""
        self.process.kill()
        assert self.process.wait(timeout=10) == -signal.SIGKILL


@pytest.fixture
def start(database_url: str, tmp_path: Path) -> Iterator[Callable[[str, int], Worker]]:
    """Start a projection worker process (output to a file); kill leftovers at the end."""
    started: list[Worker] = []
    url, schema = database_url.split("?", maxsplit=1)[0], schema_of(database_url)

    def launch(name: str, pause_past: int) -> Worker:
        output = tmp_path / f"{name}.out"
        with output.open("wb") as sink:
            process = subprocess.Popen(
                [sys.executable, "-c", WORKER, url, schema, str(PAGE), str(pause_past)],
                cwd=tmp_path,
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        started.append(Worker(process, output))
        return started[-1]

    yield launch
    for worker in started:
        if worker.process.poll() is None:
            worker.process.kill()
            worker.process.wait(timeout=10)


def test_worker_killed_mid_batch_resumes_to_the_rebuilt_views(
    container: Container, start: Callable[[str, int], Worker]
) -> None:
    # Arrange
    _produce(container)
    runner: ProjectionRunner = runners(container, ["prop_ledger"])[0]
    log = _log(container.prop)
    head = runner.status().head
    assert head == log[-1][0] > 600

    # Act 1: kill it paused inside a page, half the page applied, nothing of it committed
    paused = start("paused", head // 3)
    paused.wait_for(lambda: paused.says("crash-test paused") is not None, "pause")
    paused.kill()
    line = paused.says("crash-test paused") or ""
    in_flight = int(line.split("position=")[1].split()[0])
    first = runner.status().position

    # Assert 1: the commit is all or nothing: views hold the log up to the position, no more
    assert line.endswith(f"uncommitted={PAGE // 2}")
    assert 0 < first < in_flight < head
    assert _counts(container.database) == _expected_counts(log, first)

    # Act 2: restart it; kill it, unpaused, once its commits reach two thirds of the log
    running = start("running", 0)
    running.wait_for(lambda: runner.status().position >= 2 * head // 3, "resume")
    running.kill()
    second = runner.status().position

    # Assert 2: it died mid-way, views still exactly the committed prefix
    assert first < second < head, running.output.read_text()
    assert _counts(container.database) == _expected_counts(log, second)

    # Act 3: restart it and let it finish
    restarted = start("restarted", 0)
    assert restarted.process.wait(timeout=60) == 0, restarted.output.read_text()
    resumed = _snapshot(container.database)

    # Assert 3: every fill, order, posting once; the journal balances; a rebuild agrees
    assert restarted.says("crash-test done") is not None
    status = runner.status()
    assert (status.position, status.status, status.error) == (head, "running", None)
    assert _counts(container.database) == _expected_counts(log, head)
    fills = [e for _, e in log if isinstance(e, PropAccount.OrderFilled)]
    assert sorted((r["account_id"], r["version"]) for r in resumed["prop_fills_view"]) == sorted(
        (str(e.originator_id), e.originator_version) for e in fills
    )
    with container.database.transaction(write=False) as session:
        unbalanced = session.fetch_all(
            "SELECT account_id, version, currency, SUM(amount_micros) AS total"
            " FROM prop_postings_view GROUP BY account_id, version, currency"
            " HAVING SUM(amount_micros) <> 0"
        )
    assert unbalanced == []
    runner.rebuild()
    rebuilt = _snapshot(container.database)
    for table in PropLedgerProjection.tables:
        assert resumed[table] == rebuilt[table], table
