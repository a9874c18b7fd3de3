"""The prop read models on both stores: incremental equals rebuild, views equal the fold."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from adapters.database import Database
from adapters.event_stores import factory_builder
from adapters.migrations import migrate
from domain.clock import SimulatedClock
from domain.prop.application import PropLedger
from domain.prop.orders import MarketOrder
from domain.prop.positions import Side
from domain.prop.rules import Purpose
from projections.prop_ledger import PropLedgerProjection
from projections.runner import ProjectionRunner
from tests.domain.prop.test_ledger import RULES, T0, FixedMarket

D = Decimal
REAL = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture
def ledger(database: Database) -> PropLedger:
    migrate(database)
    app = PropLedger(clock=SimulatedClock(T0), factory_builder=factory_builder(database))
    app.bind_market(FixedMarket())
    return app


def _runner(database: Database, ledger: PropLedger) -> ProjectionRunner:
    return ProjectionRunner(database, ledger, PropLedgerProjection(), lambda: REAL)


def _trade(ledger: PropLedger, runner: ProjectionRunner) -> list:
    ids = []
    for n in range(3):
        account_id = ledger.open_account(
            cause=f"acct:{n}",
            owner=f"u{n}",
            purpose=Purpose.SANDBOX,
            rules=RULES,
            collateral_micros=20_000_000_000,
        )
        ids.append(account_id)
        ledger.submit_order(
            account_id, MarketOrder("a", "BTC", Side.BUY, D("0.1"), 10, stop_loss=D("90000"))
        )
        runner.catch_up(page=2)
        ledger.submit_order(account_id, MarketOrder("b", "ETH", Side.SELL, D("2"), 5))
        ledger.submit_order(account_id, MarketOrder("c", "SOL", Side.BUY, D("0.001"), 5))
        ledger.apply_funding(
            account_id,
            asset="BTC",
            period=T0 + timedelta(hours=n),
            rate=D("0.0001"),
            oracle_price=D("100000"),
        )
        ledger.adjust(account_id, amount=D("12.5"), reason="goodwill", admin="admin")
    ledger.apply_marks(ids[0], {"BTC": D("89000"), "ETH": D("3000")})
    ledger.freeze(ids[1], reason="review", admin="admin")
    return ids


def _snapshot(database: Database) -> dict[str, list[dict]]:
    tables = PropLedgerProjection.tables
    with database.transaction(write=False) as session:
        return {t: session.fetch_all(f"SELECT * FROM {t} ORDER BY 1, 2") for t in tables}


def test_incremental_views_equal_a_rebuild(database: Database, ledger: PropLedger) -> None:
    runner = _runner(database, ledger)
    _trade(ledger, runner)
    runner.catch_up(page=3)
    incremental = _snapshot(database)
    runner.rebuild()
    assert _snapshot(database) == incremental
    assert runner.status().lag == 0


def test_views_equal_the_fold_of_each_account(database: Database, ledger: PropLedger) -> None:
    runner = _runner(database, ledger)
    ids = _trade(ledger, runner)
    runner.catch_up()
    views = _snapshot(database)
    for account_id in ids:
        account = ledger.account(account_id)
        row = next(r for r in views["prop_accounts_view"] if r["account_id"] == str(account_id))
        assert row["collateral_micros"] == account.collateral_micros
        assert row["fees_micros"] == account.fees_micros
        assert row["funding_micros"] == account.funding_micros
        assert row["status"] == account.status
        held = {
            r["asset"]: D(r["size"])
            for r in views["prop_positions_view"]
            if r["account_id"] == str(account_id)
        }
        assert held == {a: p["size"] for a, p in account.positions.items()}


def test_postings_journal_balances_per_event(database: Database, ledger: PropLedger) -> None:
    runner = _runner(database, ledger)
    _trade(ledger, runner)
    runner.catch_up()
    with database.transaction(write=False) as session:
        unbalanced = session.fetch_all(
            "SELECT account_id, version, currency, SUM(amount_micros) AS total"
            " FROM prop_postings_view GROUP BY account_id, version, currency"
            " HAVING SUM(amount_micros) <> 0"
        )
    assert unbalanced == []


def test_version_bump_rebuilds(database: Database, ledger: PropLedger) -> None:
    runner = _runner(database, ledger)
    _trade(ledger, runner)
    runner.catch_up()
    before = _snapshot(database)
    bumped = PropLedgerProjection()
    bumped.version = 2
    ProjectionRunner(database, ledger, bumped, lambda: REAL).catch_up()
    assert _snapshot(database) == before
    assert ProjectionRunner(database, ledger, bumped, lambda: REAL).status().version == 2


def test_concurrent_catch_ups_apply_each_page_once(database: Database, ledger: PropLedger) -> None:
    first = _runner(database, ledger)
    first.catch_up()  # create the views and the tracking row before racing
    _trade(ledger, _runner(database, ledger))
    racers = [_runner(database, ledger) for _ in range(3)]
    errors: list[BaseException] = []

    def race(runner: ProjectionRunner) -> None:
        try:
            runner.catch_up(page=2)
        except BaseException as failed:  # reported below, never swallowed
            errors.append(failed)

    threads = [threading.Thread(target=race, args=(r,)) for r in racers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    raced = _snapshot(database)
    status = first.status()
    assert (status.lag, status.status) == (0, "running")
    first.rebuild()
    assert _snapshot(database) == raced
