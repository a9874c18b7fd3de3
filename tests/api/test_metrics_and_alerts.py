"""``/metrics`` scraped, and the alert rules firing on a simulated breach (both stores).

The webhook is an external service: a fake that records what it receives stands for it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import httpx
from fastapi.testclient import TestClient

from adapters.alerts import AlertEvaluator, AlertRule, load_rules
from adapters.leases import LeaseStore
from adapters.model_usage import ModelUsageStore, UsageEntry
from adapters.reconciliation import reconcile
from domain.clock import SimulatedClock
from domain.competition.slots import ArenaSlots
from domain.trading.usage import UsageLine
from tests.api.clones_kit import user
from tests.api.test_economy_routes import container_of
from workers.alerts import AlertWorker
from workers.runtime import Runtime


def test_metrics_are_scraped_in_the_prometheus_format(client: TestClient) -> None:
    user(client, "scraped")  # some requests to count
    client.get("/v1/public/clones")

    response = client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert (
        'clash_http_request_seconds_count{method="GET",route="/v1/public/clones",status="200"}'
        in text
    )
    assert 'clash_projection_lag_events{projection="prop_ledger"}' in text
    assert "clash_auditions_stuck 0.0" in text


def test_a_breach_fires_the_alert_with_its_runbook(
    make_client: Callable[..., TestClient], clock: SimulatedClock
) -> None:
    client = make_client(alert_webhook_url="https://alerts.example/hook")
    container = container_of(client)
    posted: list[dict[str, object]] = []

    def webhook(request: httpx.Request) -> httpx.Response:
        posted.append(json.loads(request.content))
        return httpx.Response(204)

    worker = AlertWorker(container, transport=httpx.MockTransport(webhook))
    runtime = Runtime(container.database, clock)
    reconcile(container)  # clean
    runtime.step(worker)
    assert posted == []
    with container.competition.clocked():  # a seating no pass explains: the audit breaks
        slots = ArenaSlots.open()
        slots.trigger_event(ArenaSlots.Seated, entry_id=uuid4(), clone_id=uuid4(), capacity=1)
        container.competition.save(slots)
    clock.advance(timedelta(minutes=1))  # the breach's run is the newest one
    reconcile(container)

    runtime.step(worker)

    assert [(p["status"], p["alert"]) for p in posted] == [("firing", "ReconciliationBreach")]
    assert "GET /v1/admin/reconciliation" in str(posted[0]["summary"])
    assert "clash_reconciliation_ok 0.0" in client.get("/metrics").text


def test_a_rule_fires_only_after_its_condition_held_long_enough() -> None:
    rule = AlertRule("Lag", "lag", ">", 10, 300, "lagging")
    evaluator = AlertEvaluator([rule])
    series = ("lag", (("projection", "p"),))
    start = SimulatedClock(datetime(2026, 12, 2, tzinfo=UTC))

    first = evaluator.evaluate({series: 50}, start.now())
    start.advance(timedelta(seconds=299))
    early = evaluator.evaluate({series: 50}, start.now())
    start.advance(timedelta(seconds=1))
    fired = evaluator.evaluate({series: 50}, start.now())
    again = evaluator.evaluate({series: 60}, start.now())
    resolved = evaluator.evaluate({series: 5}, start.now())

    assert (first, early, again) == ([], [], [])
    assert [(n.status, n.labels) for n in fired] == [("firing", {"projection": "p"})]
    assert [n.status for n in resolved] == ["resolved"]
    assert {r.name for r in load_rules()} >= {"ReconciliationBreach", "DeadLetters", "WorkerSilent"}


def test_activity_is_exported_per_module_worker_queue_lease_and_model(
    client: TestClient, clock: SimulatedClock
) -> None:
    # Arrange: two clones (events), a worker step, a lease whose holder never released it,
    # and a day of model usage.
    container = container_of(client)
    for name in ("One", "Two"):
        container.clones.create_clone(uuid4(), "owner", name)
    Runtime(container.database, clock).step(AlertWorker(container))
    LeaseStore(container.database).claim("trading:gone", "dead", timedelta(seconds=30), clock.now())
    clock.advance(timedelta(seconds=31))
    line = UsageLine(
        "openai-compatible",
        "gpt-4o-mini",
        calls=3,
        errors=1,
        tokens_in=900,
        tokens_out=120,
        cost_micros=207,
    )
    ModelUsageStore(container.database).record(
        UsageEntry(clock.now().date(), "u1", uuid4(), "starter", (line,))
    )

    text = client.get("/metrics").text

    assert 'clash_events_recorded{module="clones"} 2.0' in text
    assert 'clash_events_recorded{module="prop"} 0.0' in text
    assert 'clash_worker_items{outcome="done",worker="alerts"} 1.0' in text
    assert 'clash_queue_depth{queue="backtests"} 0.0' in text
    assert "clash_leases_expired 1.0" in text
    model = 'model="gpt-4o-mini",provider="openai-compatible"'
    assert f"clash_model_calls_today{{{model}}} 3.0" in text
    assert f"clash_model_errors_today{{{model}}} 1.0" in text
    assert f'clash_model_tokens_today{{direction="out",{model}}} 120.0' in text
