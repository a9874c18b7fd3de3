"""Source health: states from poll outcomes, and a history that answers window questions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from adapters.database import Database
from adapters.source_health_store import SourceHealthStore
from domain.market.health import HealthState

T0 = datetime(2026, 12, 1, 12, tzinfo=UTC)


def test_success_then_failures_go_degraded_then_down(database: Database) -> None:
    store = SourceHealthStore(database)
    ok = store.record_success("hyperliquid", "contexts", now=T0, data_at=T0)
    first = store.record_failure(
        "hyperliquid", "contexts", now=T0 + timedelta(minutes=1), error="SourceUnavailable: 502"
    )
    store.record_failure("hyperliquid", "contexts", now=T0 + timedelta(minutes=2), error="timeout")
    third = store.record_failure(
        "hyperliquid", "contexts", now=T0 + timedelta(minutes=3), error="timeout"
    )
    assert [ok.state, first.state, third.state] == [
        HealthState.HEALTHY,
        HealthState.DEGRADED,
        HealthState.DOWN,
    ]
    assert third.consecutive_failures == 3
    assert third.last_error == "timeout"
    changes = store.changes("hyperliquid", "contexts")
    assert [(c.from_state, c.to_state) for c in changes] == [
        (None, HealthState.HEALTHY),
        (HealthState.HEALTHY, HealthState.DEGRADED),
        (HealthState.DEGRADED, HealthState.DOWN),
    ]


def test_stale_data_is_degraded(database: Database) -> None:
    store = SourceHealthStore(database)
    health = store.record_success("defillama", "tvl", now=T0, data_at=T0 - timedelta(hours=2))
    assert health.state is HealthState.DEGRADED
    assert health.lag(T0) == timedelta(hours=2)


def test_healthy_throughout_a_window_uses_history(database: Database) -> None:
    store = SourceHealthStore(database)
    store.record_success("hyperliquid", "candles:BTC:5m", now=T0, data_at=T0)
    store.record_failure("hyperliquid", "candles:BTC:5m", now=T0 + timedelta(hours=2), error="x")
    store.record_success(
        "hyperliquid",
        "candles:BTC:5m",
        now=T0 + timedelta(hours=3),
        data_at=T0 + timedelta(hours=3),
    )
    assert store.healthy_throughout(
        "hyperliquid", "candles:BTC:5m", T0 + timedelta(minutes=1), T0 + timedelta(hours=1)
    )
    assert not store.healthy_throughout(
        "hyperliquid", "candles:BTC:5m", T0 + timedelta(hours=1), T0 + timedelta(hours=4)
    )
    assert not store.healthy_throughout("hyperliquid", "never", T0, T0 + timedelta(hours=1))
