"""The Arena end to end on a simulated clock, on both stores.

Three EMA clones (BTC, ETH, SOL) pass paid auditions on the replay feed; with two slots,
the arena worker admits the best two by audition score, the third waits at the head of the
queue; the members trade their arena accounts through the trading worker; retiring one
admits the third at the next cycle.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from decimal import Decimal
from uuid import UUID

import pytest

from projections.arena_audit import audit_arena
from tests.api.clones_kit import admin
from tests.workers.audition_kit import AuditionWorld, audition_world
from workers.arena import ArenaWorker
from workers.runtime import Runtime

EASY = {"profit_target": "0.0005", "min_trading_days": 1, "deadline_seconds": 3 * 86400}


@pytest.fixture
def world(database_url: str) -> Iterator[AuditionWorld]:
    with audition_world(database_url, settings={"arena_capacity": 2}, starter=EASY) as built:
        yield built


def test_the_best_two_passes_are_admitted_and_a_retirement_admits_the_third(
    world: AuditionWorld,
) -> None:
    ids = {}
    for nonce, asset in enumerate(("BTC", "ETH", "SOL"), 1):
        ids[asset] = world.paid_audition(nonce=nonce, asset=asset, name=f"Ema {asset}")
        world.publish_profile(ids[asset]["clone_id"], f"Ema {asset}")
    for _ in range(24):
        world.run(60)
        states = {world.audition(i["audition_id"]).json()["state"] for i in ids.values()}
        if states == {"passed"}:
            break
    assert states == {"passed"}
    scores = {
        asset: Decimal(world.audition(i["audition_id"]).json()["metrics"]["score"])
        for asset, i in ids.items()
    }
    ranked = sorted(scores, key=lambda asset: -scores[asset])
    container = world.world.container
    runtime = Runtime(container.database, world.world.service, rng=random.Random(3))
    arena = ArenaWorker(container)

    runtime.step(arena)

    members = world.client.get("/v1/arena").json()["members"]
    assert {m["cloneId"] for m in members} == {ids[a]["clone_id"] for a in ranked[:2]}
    assert {m["profile"]["name"] for m in members} == {f"Ema {a}" for a in ranked[:2]}
    waiting = world.client.get("/v1/arena/queue").json()["entries"]
    assert [(w["position"], w["cloneId"], w["gate"]) for w in waiting] == [
        (1, ids[ranked[2]]["clone_id"], None)
    ]
    world.run(60)
    for member in members:
        rows = world.world.rows(UUID(member["accountId"]))
        assert len(rows) >= 12  # decided at every 5-minute tick since admission
    best = next(m for m in members if m["cloneId"] == ids[ranked[0]]["clone_id"])
    retired = world.client.post(
        f"/v1/admin/arena/{best['entryId']}/retire",
        headers=admin(world.client),
        json={"reason": "retirement strikes"},
    )
    assert retired.status_code == 200, retired.text
    world.run(5)

    runtime.step(arena)

    now_in = {m["cloneId"] for m in world.client.get("/v1/arena").json()["members"]}
    assert now_in == {ids[ranked[1]]["clone_id"], ids[ranked[2]]["clone_id"]}
    assert world.client.get("/v1/arena/queue").json()["entries"] == []
    assert audit_arena(container.competition, container.lifecycle).ok
