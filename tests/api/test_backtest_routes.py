"""Backtests over HTTP on both stores: preflight, caps and quota per tier, jobs end to end.

The market is the bundled replay (5-minute BTC candles from 2021-07-03), played to 08:00 so
``last_6h`` replays 02:00-08:00; the ``backtests`` worker is stepped by its own runtime on
the simulated service clock (so the quota day is 2026-12-01 UTC). The default development
grant is the mock ``starter`` tier; other tiers are granted by the admin route.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from domain.clones.tiers import DEFAULT_TIERS
from tests.api.backtests_kit import BacktestWorld, grant, versioned
from tests.api.clones_kit import admin, drafted, user
from tests.api.conftest import assert_problem
from tests.api.test_trading_routes import DATA_START, replay_worlds
from tests.workers.trading_kit import ema_graph

MARKET_NOW = DATA_START + timedelta(hours=8)
FIVE = timedelta(minutes=5)
TIERS = {tier.name: tier for tier in DEFAULT_TIERS}


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[BacktestWorld]:
    with replay_worlds(database_url, tmp_path) as make:
        built = BacktestWorld(make())
        built.world.play_until(MARKET_NOW)
        yield built


def steps_window(steps: int, step: timedelta = FIVE) -> dict[str, Any]:
    """A custom window of ``steps`` bars ending at the market's now."""
    return {"start": (MARKET_NOW - steps * step).isoformat(), "end": MARKET_NOW.isoformat()}


def model_graph() -> dict[str, Any]:
    """A basic-model strategy on BTC at 5 minutes (the EMA crossovers as hints)."""
    return ema_graph("BTC", model_tier="basic")


# --- preflight -----------------------------------------------------------------------------


def test_a_preflight_shows_the_user_facing_estimate_and_the_quota(world: BacktestWorld) -> None:
    owner = user(world.client, "owner")
    clone_id = versioned(world.client, owner)

    response = world.preflight(owner, clone_id)

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["cloneId"], body["versionNumber"], body["tier"]) == (clone_id, 1, "starter")
    assert body["window"] == {
        "shape": "last_6h",
        "start": "2021-07-03T02:00:00Z",
        "end": "2021-07-03T08:00:00Z",
    }
    assert body["estimate"] == {"steps": 72, "decisionTicks": 72, "activeAssets": 1}
    assert (body["fits"], body["violations"]) == (True, [])
    assert body["quota"] == {
        "dailyRuns": 3,
        "usedToday": 0,
        "remainingToday": 3,
        "resetsAt": "2026-12-02T00:00:00Z",
    }


def test_an_admin_sees_call_and_token_figures_of_their_own_clone(world: BacktestWorld) -> None:
    operator = admin(world.client)
    clone_id = versioned(world.client, operator, model_graph())

    body = world.preflight(operator, clone_id).json()

    assert body["estimate"]["decisionCalls"] == 72
    assert body["estimate"]["estimatedTokens"] > 0


def test_preflights_use_no_quota(world: BacktestWorld) -> None:
    owner = user(world.client, "owner")
    clone_id = versioned(world.client, owner)
    for _ in range(5):
        assert world.preflight(owner, clone_id).status_code == 200
    for _ in range(3):
        world.started(owner, clone_id)
    assert world.preflight(owner, clone_id).json()["quota"]["remainingToday"] == 0


# --- caps and quota, per tier at the boundary ----------------------------------------------


def granted_clone(world: BacktestWorld, tier: str, graph: Any = None) -> tuple[dict[str, str], str]:
    owner = user(world.client, "owner")
    clone_id = versioned(world.client, owner, graph)
    if tier != "starter":
        grant(world.client, admin(world.client), clone_id, tier)
    return owner, clone_id


@pytest.mark.parametrize("tier", ["starter", "builder", "pro"])
def test_the_daily_quota_admits_exactly_the_tiers_runs(world: BacktestWorld, tier: str) -> None:
    owner, clone_id = granted_clone(world, tier)
    limit = TIERS[tier].backtest_daily_runs
    for _ in range(limit):
        world.started(owner, clone_id)

    refused = world.start(owner, clone_id)

    body = assert_problem(refused, 429, "backtests:quota-exceeded")
    assert body["type"] == "urn:clash:problem:backtests:quota-exceeded"
    assert (body["tier"], body["dailyRuns"], body["resetsAt"]) == (
        tier,
        limit,
        "2026-12-02T00:00:00Z",
    )
    assert int(refused.headers["Retry-After"]) > 0
    history = world.client.get("/v1/backtests", headers=owner, params={"clone": clone_id})
    assert len(history.json()["data"]) == limit


def test_the_quota_resets_at_the_next_utc_day(world: BacktestWorld) -> None:
    owner, clone_id = granted_clone(world, "starter")
    for _ in range(3):
        world.started(owner, clone_id)
    assert world.start(owner, clone_id).status_code == 429
    clock = world.runtime.clock
    clock.advance(datetime.fromisoformat("2026-12-02T00:00:00+00:00") - clock.now())
    owner = user(world.client, "owner")  # a fresh token on the new day
    assert world.start(owner, clone_id).status_code == 202


@pytest.mark.parametrize("tier", ["starter", "builder", "pro"])
def test_exactly_the_tiers_replay_steps_fit(world: BacktestWorld, tier: str) -> None:
    owner, clone_id = granted_clone(world, tier)
    cap = TIERS[tier].backtest_max_replay_steps

    at_cap = world.preflight(owner, clone_id, window=steps_window(cap)).json()
    started = world.start(owner, clone_id, window=steps_window(cap))

    assert (at_cap["fits"], at_cap["estimate"]["steps"]) == (True, cap)
    assert started.status_code == 202, started.text


@pytest.mark.parametrize("tier", ["starter", "builder", "pro"])
def test_one_step_over_the_tiers_replay_steps_is_refused(world: BacktestWorld, tier: str) -> None:
    owner, clone_id = granted_clone(world, tier)
    cap = TIERS[tier].backtest_max_replay_steps
    over = steps_window(cap + 1)

    checked = world.preflight(owner, clone_id, window=over).json()
    refused = world.start(owner, clone_id, window=over)

    violation = {"cap": "replay_steps", "limit": cap, "value": cap + 1}
    assert (checked["fits"], checked["violations"]) == (False, [violation])
    body = assert_problem(refused, 422, "backtests:cap-exceeded")
    assert body["violations"] == [violation]
    assert body["estimate"] == {"steps": cap + 1, "decisionTicks": cap + 1, "activeAssets": 1}
    assert body["tier"] == tier
    assert world.preflight(owner, clone_id).json()["quota"]["usedToday"] == 0


@pytest.mark.parametrize("tier", ["starter", "builder", "pro"])
def test_the_tiers_decision_calls_bound_a_model_strategy(world: BacktestWorld, tier: str) -> None:
    owner, clone_id = granted_clone(world, tier, model_graph())
    cap = TIERS[tier].backtest_max_decision_calls

    fits = world.start(owner, clone_id, window=steps_window(cap))
    refused = world.start(owner, clone_id, window=steps_window(cap + 1))

    assert fits.status_code == 202, fits.text
    body = assert_problem(refused, 422, "backtests:cap-exceeded")
    assert body["violations"] == [{"cap": "decision_calls"}]  # no figures for users
    assert set(body["estimate"]) == {"steps", "decisionTicks", "activeAssets"}


def test_an_admin_is_told_the_call_and_token_figures_of_a_refusal(world: BacktestWorld) -> None:
    operator = admin(world.client)
    clone_id = versioned(world.client, operator, model_graph())

    refused = world.start(operator, clone_id)  # 72 calls > the starter's 24

    body = assert_problem(refused, 422, "backtests:cap-exceeded")
    assert body["violations"] == [{"cap": "decision_calls", "limit": 24, "value": 72}]
    assert body["estimate"]["decisionCalls"] == 72
    assert body["estimate"]["estimatedTokens"] > 0


def test_an_asset_cap_below_the_topology_limit_is_enforced(
    database_url: str, tmp_path: Path
) -> None:
    table = [t.to_document() for t in DEFAULT_TIERS]
    table[0]["backtest_max_assets"] = 0  # a starter may draft one asset but backtest none
    with replay_worlds(database_url, tmp_path) as make:
        world = BacktestWorld(make(tier_table=table))
        world.world.play_until(MARKET_NOW)
        owner = user(world.client, "owner")
        clone_id = versioned(world.client, owner)
        refused = world.start(owner, clone_id)
    body = assert_problem(refused, 422, "backtests:cap-exceeded")
    assert body["violations"] == [{"cap": "active_assets", "limit": 0, "value": 1}]


# --- refusals before any estimate ----------------------------------------------------------


def test_a_clone_without_a_grant_cannot_backtest(database_url: str, tmp_path: Path) -> None:
    with replay_worlds(database_url, tmp_path) as make:
        world = BacktestWorld(make(mock_entitlements=False))
        owner = user(world.client, "owner")
        clone_id = versioned(world.client, owner)
        preflight = world.preflight(owner, clone_id)
        start = world.start(owner, clone_id)
    assert_problem(preflight, 403, "entitlement:no-entitlement")
    assert_problem(start, 403, "entitlement:no-entitlement")


def test_a_retired_clone_cannot_backtest(world: BacktestWorld) -> None:
    owner, operator = user(world.client, "owner"), admin(world.client)
    clone_id = versioned(world.client, owner)
    retired = world.client.post(
        f"/v1/admin/clones/{clone_id}/retire", headers=operator, json={"reason": "spam"}
    )
    assert retired.status_code == 200, retired.text
    assert_problem(world.preflight(owner, clone_id), 409, "clones:clone-retired")
    assert_problem(world.start(owner, clone_id), 409, "clones:clone-retired")


def test_an_unpublished_clone_or_version_has_nothing_to_backtest(world: BacktestWorld) -> None:
    owner = user(world.client, "owner")
    unpublished, published = drafted(world.client, owner), versioned(world.client, owner)
    assert_problem(world.preflight(owner, unpublished), 404, "clones:version-not-found")
    assert_problem(world.start(owner, published, versionNumber=2), 404, "clones:version-not-found")


@pytest.mark.parametrize(
    ("window", "reason"),
    [
        ({"start": "2021-07-03T07:00:00Z", "end": "2021-07-03T08:05:00Z"}, "after the market"),
        ({"start": "2021-07-03T07:00:00Z", "end": "2021-07-03T07:00:00Z"}, "empty"),
        ({"start": "2021-07-03T07:01:00Z", "end": "2021-07-03T07:04:00Z"}, "no whole step"),
    ],
)
def test_a_bad_window_is_refused(world: BacktestWorld, window: dict[str, str], reason: str) -> None:
    owner = user(world.client, "owner")
    clone_id = versioned(world.client, owner)
    assert_problem(world.preflight(owner, clone_id, window=window), 422, "backtests:bad-window")


@pytest.mark.parametrize(
    "body",
    [
        {"status": "succeeded"},
        {"userId": "someone-else"},
        {"tier": "pro"},
        {"estimate": {"steps": 1}},
        {"collateral": "1000000"},
        {"window": {"shape": "last_6h", "start": "2021-07-03T07:00:00Z"}},
        {"window": {"shape": "last_week"}},
        {"window": {"start": "2021-07-03T07:00:00", "end": "2021-07-03T08:00:00"}},
        {"versionNumber": 0},
    ],
)
def test_unknown_or_invalid_fields_are_refused(world: BacktestWorld, body: dict[str, Any]) -> None:
    owner = user(world.client, "owner")
    clone_id = versioned(world.client, owner)
    assert_problem(world.start(owner, clone_id, **body), 422, "request:validation-error")
    assert world.preflight(owner, clone_id).json()["quota"]["usedToday"] == 0
