"""The Arena on both stores: the promotion policy, gates, admissions, departures, races.

Passes are recorded through the lifecycle application (``arena_kit.passed_audition``); a
cycle is ``container.arena.run()`` after the policy and the read model caught up
(``workers.arena.catch_up``), or the sync route with a service token.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from adapters.bootstrap import Container
from adapters.promotion_policy import PromotionPolicy
from domain.competition.slots import ARENA_ID, ArenaSlots
from projections.arena import ArenaProjection, queue
from projections.arena_audit import audit_arena
from projections.runner import ProjectionRunner
from tests.api.arena_kit import a_clone, a_version, passed_audition, publish_profile
from tests.api.clones_kit import admin
from tests.api.conftest import assert_problem
from tests.api.test_economy_routes import container_of
from workers.arena import catch_up


@pytest.fixture
def arena_client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client(arena_capacity=2)


def cycle(container: Container) -> Any:
    """Enqueue new passes, run one admission cycle, catch the read model up."""
    catch_up(container)
    report = container.arena.run()
    catch_up(container)
    return report


def sync_headers(container: Container) -> dict[str, str]:
    token = container.identity.service_tokens.create("arena-sync", ["arena:sync"])
    return {"Authorization": f"Bearer {token.secret}"}


def test_the_best_scores_are_admitted_and_the_rest_wait_in_order(arena_client: TestClient) -> None:
    container = container_of(arena_client)
    scored = {name: a_clone(container, name) for name in ("Low", "High", "Mid")}
    for name, score in (("Low", "0.2"), ("High", "1.5"), ("Mid", "0.9")):
        passed_audition(container, scored[name], score)

    report = cycle(container)

    members = arena_client.get("/v1/arena").json()
    assert members["capacity"] == 2
    admitted = {m["cloneId"] for m in members["members"]}
    assert admitted == {str(scored["High"]), str(scored["Mid"])}
    assert len(report.admitted) == 2
    assert sorted(report.activated) == sorted(report.admitted)
    waiting = arena_client.get("/v1/arena/queue").json()["entries"]
    assert [(e["position"], e["cloneName"], e["gate"]) for e in waiting] == [(1, "Low", None)]
    for member in members["members"]:
        account = container.prop.account(UUID(member["accountId"]))
        assert (account.purpose, member["accountValue"]) == ("arena", "10000.000000")
        assert (member["totalReturn"], member["maxDrawdownPct"]) == ("0.000000", "0.000000")
        binding = container.trading.binding(account.id)
        assert binding is not None
        assert binding.active
        assert binding.version_id == UUID(member["versionId"])
    assert audit_arena(container.competition, container.lifecycle).ok


def test_the_policy_enqueues_each_pass_once_across_restarts_and_rebuilds(
    arena_client: TestClient,
) -> None:
    container = container_of(arena_client)
    clones = [a_clone(container, f"Clone {n}") for n in range(6)]
    audition_ids = [passed_audition(container, c, f"0.{n + 1}") for n, c in enumerate(clones)]
    policy = PromotionPolicy(
        container.database,
        container.lifecycle,
        container.competition,
        container.service_clock.now,
    )
    # A policy killed after enqueueing the next pass but before its position moved:
    first = policy.catch_up(page=7, limit=7)
    dying = container.lifecycle.audition(audition_ids[1])
    container.competition.enqueue(
        dying.id,
        run=1,
        user_id=dying.user_id,
        clone_id=dying.clone_id,
        version_id=dying.version_id,
        score=Decimal(str((dying.metrics or {})["score"])),
        passed_at=container.market_clock.now(),
        metrics=dying.metrics or {},
    )

    restarted = [
        PromotionPolicy(
            container.database,
            container.lifecycle,
            container.competition,
            container.service_clock.now,
        )
        for _ in range(2)
    ]
    threads = [threading.Thread(target=p.catch_up) for p in restarted]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert first == 1
    runner = ProjectionRunner(
        container.database, container.competition, ArenaProjection(), container.service_clock.now
    )
    runner.catch_up()
    rows = queue(container.database)
    assert sorted(r.audition_id for r in rows) == sorted(audition_ids)
    assert [r.score for r in rows] == sorted((r.score for r in rows), reverse=True)
    runner.rebuild()
    assert queue(container.database) == rows
    assert policy.position() == container.lifecycle.recorder.max_notification_id()


def test_an_unpublished_profile_waits_at_its_gate_until_published(
    arena_client: TestClient,
) -> None:
    container = container_of(arena_client)
    shy = a_clone(container, "Shy", profile=False)
    passed_audition(container, shy, "2.0")

    report = cycle(container)

    assert report.admitted == []
    waiting = arena_client.get("/v1/arena/queue").json()["entries"]
    assert [(w["gate"], w["cloneName"]) for w in waiting] == [("profile_unpublished", None)]
    assert "publish" in waiting[0]["gateDetail"]
    publish_profile(container, shy, "Shy")
    assert len(cycle(container).admitted) == 1
    assert arena_client.get("/v1/arena/queue").json()["entries"] == []


def test_a_retired_clone_leaves_the_queue_for_good(arena_client: TestClient) -> None:
    container = container_of(arena_client)
    banned = a_clone(container, "Banned")
    passed_audition(container, banned, "3.0")
    container.clones.retire(banned, reason="spam", admin="admin")

    report = cycle(container)

    assert len(report.withdrawn) == 1
    assert arena_client.get("/v1/arena/queue").json()["entries"] == []
    entry = container.competition.entry(UUID(report.withdrawn[0]))
    assert (entry.state.value, entry.gate) == ("withdrawn", "clone_retired")
    container.clones.reinstate(banned, reason="appeal", admin="admin")
    assert cycle(container).admitted == []  # withdrawn is final: a new audition is needed


def test_one_clone_holds_one_slot_with_the_version_that_passed(arena_client: TestClient) -> None:
    container = container_of(arena_client)
    twice = a_clone(container, "Twice")
    first_version = container.clones.clone(twice).latest_version
    assert first_version is not None
    passed_audition(container, twice, "1.0")
    newer = a_version(container, twice, "ETH")
    passed_audition(container, twice, "0.5", version_id=newer.id)

    report = cycle(container)

    assert len(report.admitted) == 1
    member = arena_client.get("/v1/arena").json()["members"][0]
    assert member["versionId"] == str(first_version["version_id"])
    a_version(container, twice, "SOL")  # a third version changes nothing: no audition
    cycle(container)
    binding = container.trading.binding(UUID(member["accountId"]))
    assert binding is not None
    assert binding.version_id == first_version["version_id"]
    waiting = arena_client.get("/v1/arena/queue").json()["entries"]
    assert [w["gate"] for w in waiting] == ["clone_in_arena"]


@pytest.mark.parametrize("how", ["remove", "retire"])
def test_a_departure_frees_the_slot_for_the_next_in_line(
    arena_client: TestClient, how: str
) -> None:
    container = container_of(arena_client)
    clones = {name: a_clone(container, name) for name in ("A", "B", "C")}
    for name, score in (("A", "3"), ("B", "2"), ("C", "1")):
        passed_audition(container, clones[name], score)
    cycle(container)
    members = {m["cloneId"]: m for m in arena_client.get("/v1/arena").json()["members"]}
    leaving = members[str(clones["A"])]
    url = f"/v1/admin/arena/{leaving['entryId']}/{how}"

    refused = arena_client.post(url, headers=admin(arena_client), json={"reason": "x"})
    left = arena_client.post(url, headers=admin(arena_client), json={"reason": "broke a rule"})

    assert_problem(refused, 422, "validation-error")
    assert left.status_code == 200, left.text
    body = left.json()
    expected = "removed" if how == "remove" else "retired"
    assert (body["state"], body["reason"], body["tradingStopped"]) == (
        expected,
        "broke a rule",
        True,
    )
    binding = container.trading.binding(UUID(leaving["accountId"]))
    assert binding is not None
    assert not binding.active
    assert len(arena_client.get("/v1/arena").json()["members"]) == 1
    assert cycle(container).admitted != []
    now_in = {m["cloneId"] for m in arena_client.get("/v1/arena").json()["members"]}
    assert now_in == {str(clones["B"]), str(clones["C"])}
    again = arena_client.post(url, headers=admin(arena_client), json={"reason": "twice"})
    assert_problem(again, 409, "arena:entry-conflict")
    passed_audition(container, clones["A"], "9")  # a new pass of the departed clone
    report = cycle(container)
    entry_ids = [str(e) for e in queue(container.database)]
    if how == "retire":
        assert len(report.withdrawn) == 1  # retired from the Arena for good
        assert entry_ids == []
    else:
        waiting = arena_client.get("/v1/arena/queue").json()["entries"]
        assert [w["gate"] for w in waiting] == [None]  # full: it waits for a slot
    assert audit_arena(container.competition, container.lifecycle).ok


def test_racing_cycles_and_the_sync_route_never_exceed_capacity(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(arena_capacity=3)
    container = container_of(client)
    clones = [a_clone(container, f"Racer {n}") for n in range(8)]
    for n, clone_id in enumerate(clones):
        passed_audition(container, clone_id, f"{n + 1}")
    catch_up(container)
    headers = sync_headers(container)
    answers: list[int] = []

    def route() -> None:
        answers.append(client.post("/v1/internal/arena/sync", headers=headers).status_code)

    threads = [threading.Thread(target=container.arena.run) for _ in range(2)]
    threads.append(threading.Thread(target=route))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cycle(container)

    assert answers == [200]
    seated = container.competition.membership().members
    assert len(seated) == 3
    assert len(set(seated.values())) == 3
    members = client.get("/v1/arena").json()["members"]
    assert {m["cloneId"] for m in members} == {str(c) for c in clones[-3:]}
    assert audit_arena(container.competition, container.lifecycle).ok


def test_sync_needs_the_arena_scope(arena_client: TestClient) -> None:
    container = container_of(arena_client)
    other = container.identity.service_tokens.create("reader", ["identity:read"])

    missing = arena_client.post("/v1/internal/arena/sync")
    wrong = arena_client.post(
        "/v1/internal/arena/sync", headers={"Authorization": f"Bearer {other.secret}"}
    )
    right = arena_client.post("/v1/internal/arena/sync", headers=sync_headers(container))

    assert missing.status_code == 401
    assert wrong.status_code == 403
    assert right.status_code == 200, right.text
    assert right.json()["admitted"] == []
    unknown = arena_client.post(
        "/v1/admin/arena/nope/remove", headers=admin(arena_client), json={"reason": "gone"}
    )
    assert_problem(unknown, 404, "arena:entry-not-found")


def test_the_audit_names_seatings_the_normal_flow_never_makes(arena_client: TestClient) -> None:
    container = container_of(arena_client)
    clone = a_clone(container, "Real")
    passed_audition(container, clone, "1")
    cycle(container)
    stranger, clone_twice = uuid4(), UUID(str(clone))
    with container.competition.clocked():
        slots = container.competition.repository.get(ARENA_ID)
        for entry_id, clone_id in ((stranger, uuid4()), (uuid4(), clone_twice)):
            slots.trigger_event(ArenaSlots.Seated, entry_id=entry_id, clone_id=clone_id, capacity=2)
        container.competition.save(slots)

    report = audit_arena(container.competition, container.lifecycle)

    kinds = sorted(b.kind for b in report.breaches)
    assert kinds == [
        "arena_capacity",
        "arena_clone_twice",
        "arena_member_origin",
        "arena_member_origin",
    ]
    assert str(stranger) in next(b for b in report.breaches if b.kind == "arena_member_origin").ids
    assert report.seatings == 3
