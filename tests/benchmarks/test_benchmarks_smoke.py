"""The benchmark suite still runs: tiny sizes, SQLite only, shape checked, timings never.

Benchmarks are not run by the test suite (their figures are read, not asserted), so without
this test a refactoring could break them unnoticed until someone next wants numbers. It
runs the whole suite in-process (``clash serve`` included) in ``--quick`` mode and checks
that every figure is present, JSON-serialisable and positive.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.benchmarks import backtest
from tests.benchmarks.__main__ import figure, run

pytestmark = pytest.mark.slow

FLOWS = (
    "siwe_client_signing",
    "siwe_challenge",
    "siwe_verify",
    "siwe_sign_in",
    "refresh_rotation",
    "me",
)
EXPECTED = {
    "workers.step_items",
    "workers.lease_claim",
    *(f"auth.{transport}.{flow}" for transport in ("asgi", "http") for flow in FLOWS),
    "market.candles_ingest_batch",
    "market.candles_ingest_replay",
    "market.features_pure",
    "market.features_backfill",
    "market.features_incremental",
    "prop.raw_single_save",
    "prop.fills_1",
    "prop.fills_16",
    "prop.projection_catch_up",
    "prop.projection_rebuild",
    "prop.audit",
    "trading.decide_rules",
    "trading.ticks",
    "trading.dry_run",
    "trading.budget_check",
    "auditions.checks",
    "arena.policy",
    "arena.cycle",
    "races.advance",
    "settlement.pool",
    "settlement.race",
    *(
        f"backtest.{engine}_{assets}_asset"
        for engine in ("replay", "backtesting_py", "backtrader", "bare_loop")
        for assets in (1, 3)
    ),
}
VERIFIED = {"prop.fills_1", "prop.fills_16"}  # fills counted per account after the run
TICKS = "trading.ticks"  # rows, orders and fills checked per account after the run
PEERS = ("backtest.backtesting_py_", "backtest.backtrader_")  # optional: may say skipped


def test_quick_suite_on_sqlite_reports_every_figure() -> None:
    # Act
    document = json.loads(json.dumps(run(["sqlite"], quick=True)))
    # Assert
    results = document["results"]
    assert {r["name"] for r in results} == EXPECTED
    assert len(results) == len(EXPECTED)
    for result in results:
        assert result["backend"] == "sqlite"
        if "skipped" in result:  # a peer not installed (./dev bench installs them)
            assert result["name"].startswith(PEERS), result
            assert result["skipped"] == "install with ./dev bench", result
            continue
        assert result["operations"] > 0, result
        assert result["seconds"] > 0, result
        assert result["ops_per_second"] > 0, result
        assert 0 <= result["p50_ms"] <= result["p95_ms"], result  # rounded: may be 0.0
        if result["name"] in VERIFIED:
            assert result["verified"] is True, result
            assert result["vs_raw_single_save"] > 0, result
        if result["name"].startswith(("arena.", "races.", "settlement.")):
            assert result["verified"] is True, result
        if result["name"] == "auditions.checks":  # every audition checked at every mark
            assert result["verified"] is True, result
            assert result["operations"] == result["auditions"] * result["market_hours"] * 12
        if result["name"] == TICKS:
            assert result["verified"] is True, result
            assert result["rows"] == result["accounts"] * result["ticks_per_account"], result
            assert result["fills"] == result["orders"] > 0, result  # quick hour: a round trip
        if result["name"].startswith("backtest.replay_"):
            assert result["deterministic"] is True, result
            assert result["trades"] > 0, result  # the quick bars still hold round trips
        elif result["name"].startswith("backtest."):  # a peer or the bare loop: compared
            assert result["parity"]["trades"][1] > 0, result
            assert result["parity"]["rejected_orders"] == 0, result
    assert document["machine"]["cpu_count"] >= 1
    assert document["machine"]["python"]


def test_backtest_peers_that_are_not_installed_are_skipped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Arrange
    def not_installed(name: str) -> Any:
        raise ImportError(name)

    monkeypatch.setattr(backtest, "_module", not_installed)
    # Act
    results = [figure("sqlite", measured) for measured in backtest.run("", "", quick=True)]
    # Assert
    skipped = {r["name"] for r in results if "skipped" in r}
    assert skipped == {f"{peer}{n}_asset" for peer in PEERS for n in (1, 3)}
    assert all(r["skipped"] == "install with ./dev bench" for r in results if "skipped" in r)
    assert all(r["ops_per_second"] > 0 for r in results if "skipped" not in r)
