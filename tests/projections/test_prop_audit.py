"""The audit agrees with caught-up views and names every disagreement otherwise."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapters.database import Database
from adapters.event_stores import factory_builder
from adapters.migrations import migrate
from domain.clock import SimulatedClock
from domain.prop.application import PropLedger
from projections.prop_audit import audit
from projections.prop_ledger import PropLedgerProjection
from projections.runner import ProjectionRunner
from tests.domain.prop.test_ledger import T0, FixedMarket
from tests.projections.test_prop_ledger_projection import _trade

REAL = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture
def ledger(database: Database) -> PropLedger:
    migrate(database)
    app = PropLedger(clock=SimulatedClock(T0), factory_builder=factory_builder(database))
    app.bind_market(FixedMarket())
    return app


def test_caught_up_views_pass_the_audit(database: Database, ledger: PropLedger) -> None:
    runner = ProjectionRunner(database, ledger, PropLedgerProjection(), lambda: REAL)
    _trade(ledger, runner)
    runner.catch_up()
    report = audit(ledger, database)
    assert report.ok, report.findings
    assert report.accounts == 3
    assert report.events > 15


def test_a_tampered_view_is_found(database: Database, ledger: PropLedger) -> None:
    runner = ProjectionRunner(database, ledger, PropLedgerProjection(), lambda: REAL)
    ids = _trade(ledger, runner)
    runner.catch_up()
    with database.transaction() as session:
        session.execute(
            "UPDATE prop_accounts_view SET fees_micros = fees_micros + 1 WHERE account_id = %s",
            (str(ids[2]),),
        )
        session.execute("DELETE FROM prop_positions_view WHERE account_id = %s", (str(ids[1]),))
    findings = audit(ledger, database).findings
    assert {(f.account_id, f.check) for f in findings} == {
        (str(ids[2]), "fees_micros"),
        (str(ids[1]), "positions"),
    }


def test_lagging_views_are_findings_until_caught_up(database: Database, ledger: PropLedger) -> None:
    runner = ProjectionRunner(database, ledger, PropLedgerProjection(), lambda: REAL)
    _trade(ledger, runner)
    assert not audit(ledger, database).ok
    runner.catch_up()
    assert audit(ledger, database).ok
