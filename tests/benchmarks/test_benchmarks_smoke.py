"""The benchmark suite still runs: tiny sizes, SQLite only, shape checked, timings never.

Benchmarks are not run by the test suite (their figures are read, not asserted), so without
this test a refactoring could break them unnoticed until someone next wants numbers. It
runs the whole suite in-process (``clash serve`` included) in ``--quick`` mode and checks
that every figure is present, JSON-serialisable and positive.
"""

from __future__ import annotations

import json

import pytest

from tests.benchmarks.__main__ import run

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
}
VERIFIED = {"prop.fills_1", "prop.fills_16"}  # fills counted per account after the run
TICKS = "trading.ticks"  # rows, orders and fills checked per account after the run


def test_quick_suite_on_sqlite_reports_every_figure() -> None:
    # Act
    document = json.loads(json.dumps(run(["sqlite"], quick=True)))
    # Assert
    results = document["results"]
    assert {r["name"] for r in results} == EXPECTED
    assert len(results) == len(EXPECTED)
    for result in results:
        assert result["backend"] == "sqlite"
        assert result["operations"] > 0, result
        assert result["seconds"] > 0, result
        assert result["ops_per_second"] > 0, result
        assert 0 <= result["p50_ms"] <= result["p95_ms"], result  # rounded: may be 0.0
        if result["name"] in VERIFIED:
            assert result["verified"] is True, result
            assert result["vs_raw_single_save"] > 0, result
        if result["name"] == TICKS:
            assert result["verified"] is True, result
            assert result["rows"] == result["accounts"] * result["ticks_per_account"], result
            assert result["fills"] == result["orders"] > 0, result  # quick hour: a round trip
    assert document["machine"]["cpu_count"] >= 1
    assert document["machine"]["python"]
