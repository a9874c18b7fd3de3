"""Backtest jobs end to end over HTTP, on both stores: run, read, history, compare, cancel.

A run of the EMA crossover over ``last_6h`` (02:00-08:00 on 2021-07-03 of the bundled BTC
5-minute data) is started through the API and performed by the ``backtests`` worker; the
results are read back through the API. Owner only: everything of another user answers 404.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from tests.api.backtests_kit import BacktestWorld, versioned
from tests.api.clones_kit import admin, user
from tests.api.conftest import assert_problem
from tests.api.test_trading_routes import DATA_START, replay_worlds

MARKET_NOW = DATA_START + timedelta(hours=8)
KINDS = ["chart", "decisions", "equity", "metrics", "summary", "trades"]


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[BacktestWorld]:
    with replay_worlds(database_url, tmp_path) as make:
        built = BacktestWorld(make())
        built.world.play_until(MARKET_NOW)
        yield built


@pytest.fixture
def owner(world: BacktestWorld) -> dict[str, str]:
    return user(world.client, "owner")


@pytest.fixture
def clone_id(world: BacktestWorld, owner: dict[str, str]) -> str:
    return versioned(world.client, owner)


def ran(world: BacktestWorld, owner: dict[str, str], clone_id: str) -> dict[str, Any]:
    """Start a run, let the worker perform it, and return it as the API shows it."""
    job = world.started(owner, clone_id)
    world.work()
    return world.job(owner, job["id"])


def artifact(world: BacktestWorld, job_id: str, kind: str) -> str:
    content = world.container.backtests.artifacts.content(UUID(job_id), kind)
    assert content is not None
    return content


# --- the worked example --------------------------------------------------------------------


def test_a_started_run_is_queued_then_performed_by_the_worker(
    world: BacktestWorld, owner: dict[str, str], clone_id: str
) -> None:
    queued = world.started(owner, clone_id)
    assert (queued["status"], queued["attempts"], queued["artifacts"]) == ("queued", 0, [])

    world.work()
    done = world.job(owner, queued["id"])

    assert (done["status"], done["attempts"], done["error"]) == ("succeeded", 1, None)
    assert done["window"] == queued["window"]
    assert done["summary"]["steps"] == done["estimate"]["steps"] == 72
    assert done["summary"]["decisionCalls"] == 0
    assert done["metrics"]["start_equity"] == "10000.000000"
    assert done["metrics"] == done["summary"]["metrics"]
    assert done["inputHash"].startswith("sha256:")
    assert done["resultHash"] == done["summary"]["resultHash"]
    assert [a["kind"] for a in done["artifacts"]] == KINDS
    lasting = {a["kind"]: (a["durable"], a["expiresAt"]) for a in done["artifacts"]}
    assert lasting["decisions"] == (False, "2026-12-31T12:01:36Z")  # 30 days of service time
    assert all(lasting[k] == (True, None) for k in KINDS if k != "decisions")


def test_a_run_records_its_trades_equity_and_decisions(
    world: BacktestWorld, owner: dict[str, str], clone_id: str
) -> None:
    done = ran(world, owner, clone_id)
    trades = json.loads(artifact(world, done["id"], "trades"))
    curve = json.loads(artifact(world, done["id"], "equity"))
    decisions = json.loads(artifact(world, done["id"], "decisions"))
    assert len(trades["fills"]) == done["summary"]["fills"]
    assert len(trades["trades"]) == done["summary"]["trades"] == done["metrics"]["trades"]
    assert len(curve) == 72
    assert (curve[0][0], curve[-1][0]) == ("2021-07-03T02:05:00+00:00", "2021-07-03T08:00:00+00:00")
    assert len(decisions) == done["summary"]["actingDecisions"]


def test_the_chart_is_served_as_svg(
    world: BacktestWorld, owner: dict[str, str], clone_id: str
) -> None:
    job = world.started(owner, clone_id)
    url = f"/v1/backtests/{job['id']}/chart.svg"
    assert_problem(world.client.get(url, headers=owner), 409, "backtests:results-not-ready")
    world.work()

    response = world.client.get(url, headers=owner)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
    assert response.text.startswith("<?xml")
    assert "<script" not in response.text
    assert response.text == artifact(world, job["id"], "chart")


def test_the_same_backtest_twice_gives_byte_identical_results(
    world: BacktestWorld, owner: dict[str, str], clone_id: str
) -> None:
    first, second = ran(world, owner, clone_id), ran(world, owner, clone_id)
    assert first["id"] != second["id"]
    assert (first["inputHash"], first["resultHash"]) == (second["inputHash"], second["resultHash"])
    for kind in ("metrics", "trades", "equity", "chart"):
        assert artifact(world, first["id"], kind) == artifact(world, second["id"], kind)


def test_a_backtest_writes_nothing_to_the_production_ledger(
    world: BacktestWorld, owner: dict[str, str], clone_id: str
) -> None:
    events_before = world.prop_event_count()
    head_before = world.container.prop.recorder.max_notification_id()
    done = ran(world, owner, clone_id)
    assert done["status"] == "succeeded"
    assert done["summary"]["fills"] > 0  # it traded, on its own isolated ledger
    assert world.prop_event_count() == events_before
    assert world.container.prop.recorder.max_notification_id() == head_before


def test_the_clone_scoped_route_is_the_same_start(
    world: BacktestWorld, owner: dict[str, str], clone_id: str
) -> None:
    response = world.client.post(
        f"/v1/clones/{clone_id}/decision-backtest",
        headers=owner,
        json={"window": {"shape": "last_6h"}},
    )
    assert response.status_code == 202, response.text
    job = response.json()
    assert (job["cloneId"], job["status"], job["estimate"]["steps"]) == (clone_id, "queued", 72)
    defaulted = world.client.post(
        f"/v1/clones/{clone_id}/decision-backtest", headers=owner, json={}
    )
    assert defaulted.json()["window"] == job["window"]  # last_6h by default
    world.started(owner, clone_id)  # the third run of the day
    assert_problem(
        world.client.post(f"/v1/clones/{clone_id}/decision-backtest", headers=owner, json={}),
        429,
        "backtests:quota-exceeded",
    )


# --- history and comparison ----------------------------------------------------------------


def test_history_lists_newest_first_by_cursor(
    world: BacktestWorld, owner: dict[str, str], clone_id: str
) -> None:
    other_clone = versioned(world.client, owner)
    made = [world.started(owner, clone_id)["id"] for _ in range(3)]  # one service instant
    world.started(owner, other_clone)
    seen, cursor = [], None
    while True:
        params: dict[str, Any] = {"clone": clone_id, "limit": 2}
        if cursor is not None:
            params["cursor"] = cursor
        page = world.client.get("/v1/backtests", headers=owner, params=params).json()
        seen += [job["id"] for job in page["data"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    everything = world.client.get("/v1/backtests", headers=owner).json()["data"]
    assert sorted(seen) == sorted(made)
    assert len(everything) == 4
    created = [job["createdAt"] for job in everything]
    assert created == sorted(created, reverse=True)
    assert_problem(
        world.client.get("/v1/backtests", headers=owner, params={"cursor": "nope"}),
        422,
        "request:bad-cursor",
    )


def test_runs_compare_side_by_side(
    world: BacktestWorld, owner: dict[str, str], clone_id: str
) -> None:
    done = ran(world, owner, clone_id)
    queued = world.started(owner, clone_id)
    ids = f"{queued['id']},{done['id']}"

    response = world.client.get("/v1/backtests/compare", headers=owner, params={"ids": ids})

    assert response.status_code == 200, response.text
    rows = response.json()["data"]
    assert [r["id"] for r in rows] == [queued["id"], done["id"]]
    assert (rows[0]["status"], rows[0]["metrics"]) == ("queued", None)
    assert rows[1]["metrics"] == done["metrics"]
    assert rows[1]["resultHash"] == done["resultHash"]


@pytest.mark.parametrize("ids", ["", ",", "a,a", ",".join(["x"] * 11)])
def test_a_comparison_needs_one_to_ten_distinct_ids(
    world: BacktestWorld, owner: dict[str, str], ids: str
) -> None:
    response = world.client.get("/v1/backtests/compare", headers=owner, params={"ids": ids})
    assert_problem(response, 422, "request:validation-error")


# --- cancelling ----------------------------------------------------------------------------


def test_a_queued_run_is_cancelled_at_once_and_never_runs(
    world: BacktestWorld, owner: dict[str, str], clone_id: str
) -> None:
    job = world.started(owner, clone_id)

    response = world.client.delete(f"/v1/backtests/{job['id']}", headers=owner)
    world.work()

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    after = world.job(owner, job["id"])
    assert (after["status"], after["attempts"], after["artifacts"]) == ("cancelled", 0, [])
    again = world.client.delete(f"/v1/backtests/{job['id']}", headers=owner)
    assert again.json()["status"] == "cancelled"  # cancelling twice answers the same


def test_a_run_cancelled_before_its_worker_resumed_it_ends_cancelled(
    world: BacktestWorld, owner: dict[str, str], clone_id: str
) -> None:
    job = world.started(owner, clone_id)
    store = world.container.backtests.store
    store.begin(UUID(job["id"]), world.runtime.clock.now(), world.worker.limits)  # then died

    asked = world.client.delete(f"/v1/backtests/{job['id']}", headers=owner).json()
    world.work()

    assert (asked["status"], asked["cancelRequestedAt"] is not None) == ("running", True)
    after = world.job(owner, job["id"])
    assert (after["status"], after["attempts"], after["artifacts"]) == ("cancelled", 2, [])


def test_a_finished_run_cannot_be_cancelled(
    world: BacktestWorld, owner: dict[str, str], clone_id: str
) -> None:
    done = ran(world, owner, clone_id)
    response = world.client.delete(f"/v1/backtests/{done['id']}", headers=owner)
    assert_problem(response, 409, "backtests:backtest-finished")
    assert world.job(owner, done["id"])["status"] == "succeeded"


# --- access --------------------------------------------------------------------------------


def test_another_users_runs_and_clones_are_not_found(
    world: BacktestWorld, owner: dict[str, str], clone_id: str
) -> None:
    done = ran(world, owner, clone_id)
    stranger, operator = user(world.client, "stranger"), admin(world.client)
    mine = world.started(stranger, versioned(world.client, stranger))
    for caller in (stranger, operator):
        for method, url in (
            ("GET", f"/v1/backtests/{done['id']}"),
            ("DELETE", f"/v1/backtests/{done['id']}"),
            ("GET", f"/v1/backtests/{done['id']}/chart.svg"),
        ):
            response = world.client.request(method, url, headers=caller)
            assert_problem(response, 404, "backtests:backtest-not-found")
    compared = world.client.get(
        "/v1/backtests/compare", headers=stranger, params={"ids": f"{mine['id']},{done['id']}"}
    )
    assert_problem(compared, 404, "backtests:backtest-not-found")
    for response in (
        world.preflight(stranger, clone_id),
        world.start(stranger, clone_id),
        world.client.post(f"/v1/clones/{clone_id}/decision-backtest", headers=stranger, json={}),
        world.client.get("/v1/backtests", headers=stranger, params={"clone": clone_id}),
    ):
        assert_problem(response, 404, "clones:clone-not-found")
    listed = world.client.get("/v1/backtests", headers=stranger).json()["data"]
    assert [job["id"] for job in listed] == [mine["id"]]


@pytest.mark.parametrize("raw", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_an_unknown_or_malformed_run_id_is_not_found(
    world: BacktestWorld, owner: dict[str, str], raw: str
) -> None:
    assert_problem(
        world.client.get(f"/v1/backtests/{raw}", headers=owner), 404, "backtests:backtest-not-found"
    )


def test_backtest_routes_need_a_signed_in_user(world: BacktestWorld, clone_id: str) -> None:
    assert world.client.post("/v1/backtests/preflight", json={}).status_code == 401
    assert world.client.get("/v1/backtests").status_code == 401
