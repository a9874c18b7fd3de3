"""Background reconciliation on both stores: each run recorded, breaches shown to operators."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

from fastapi.testclient import TestClient

from adapters.reconciliation import recent_runs
from domain.clock import SimulatedClock
from domain.competition.slots import ArenaSlots
from tests.api.clones_kit import admin, user
from tests.api.test_economy_routes import container_of, paid, quoted, submit
from workers.reconciliation import ReconciliationWorker
from workers.runtime import Runtime


def test_the_worker_records_a_run_per_period_and_breaches_show(
    client: TestClient, clock: SimulatedClock
) -> None:
    container = container_of(client)
    payer = user(client, "payer")
    assert submit(client, payer, paid(quoted(client, payer))).status_code == 201
    worker = ReconciliationWorker(container)
    runtime = Runtime(container.database, clock)

    runtime.step(worker)
    runtime.step(worker)  # the same period: nothing more
    clean = client.get("/v1/admin/reconciliation", headers=admin(client)).json()

    assert clean["ok"] is True
    assert len(clean["data"]) == 1
    assert clean["data"][0]["checked"]["purchases"] == 1
    with container.competition.clocked():  # a seating no pass explains
        slots = ArenaSlots.open()
        slots.trigger_event(ArenaSlots.Seated, entry_id=uuid4(), clone_id=uuid4(), capacity=1)
        container.competition.save(slots)
    clock.advance(timedelta(hours=1))
    runtime.step(worker)
    broken = client.get("/v1/admin/reconciliation", headers=admin(client)).json()
    assert broken["ok"] is False
    assert [b["kind"] for b in broken["data"][0]["breaches"]] == ["arena_member_origin"]
    assert len(recent_runs(container.database)) == 2
    stranger = user(client, "stranger")  # the payer's token expired with the hour
    assert client.get("/v1/admin/reconciliation", headers=stranger).status_code == 403
