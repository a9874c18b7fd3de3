"""``clash projections status`` and ``rebuild`` against a real store."""

from __future__ import annotations

from decimal import Decimal

from typer.testing import CliRunner

from adapters.bootstrap import bootstrap
from api.cli import app
from domain.prop.rules import Purpose, RuleSet
from tests.api.conftest import api_settings
from tests.conftest import cli_env


def test_status_then_rebuild(database_url: str) -> None:
    # Arrange: one account opened through the container's ledger.
    built = bootstrap(api_settings(database_url))
    built.prop.open_account(
        cause="cli:1",
        owner="u1",
        purpose=Purpose.SANDBOX,
        rules=RuleSet(),
        collateral_micros=int(Decimal("1000") * 10**6),
    )
    built.close()
    env = cli_env(database_url)
    runner = CliRunner()
    # Act
    before = runner.invoke(app, ["projections", "status"], env=env)
    rebuilt = runner.invoke(app, ["projections", "rebuild", "prop_ledger"], env=env)
    after = runner.invoke(app, ["projections", "status"], env=env)
    unknown = runner.invoke(app, ["projections", "rebuild", "nope"], env=env)
    # Assert
    assert before.exit_code == 0, before.output
    assert "not_started" in before.output
    assert "Rebuilt prop_ledger: 1 events." in rebuilt.output
    assert "running" in after.output
    assert unknown.exit_code == 2


def test_audit_exits_zero_when_books_agree_and_one_when_not(database_url: str) -> None:
    built = bootstrap(api_settings(database_url))
    built.prop.open_account(
        cause="cli:2",
        owner="u1",
        purpose=Purpose.SANDBOX,
        rules=RuleSet(),
        collateral_micros=5_000_000,
    )
    built.close()
    env = cli_env(database_url)
    runner = CliRunner()
    lagging = runner.invoke(app, ["audit", "--json"], env=env)
    runner.invoke(app, ["projections", "rebuild"], env=env)
    agreeing = runner.invoke(app, ["audit"], env=env)
    assert lagging.exit_code == 1
    assert '"check": "account_missing_from_view"' in lagging.output
    assert agreeing.exit_code == 0, agreeing.output
    assert "0 findings" in agreeing.output
