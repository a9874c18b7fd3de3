"""Dry runs over HTTP: one decision now on a draft or a version, touching no prop account.

The market is the bundled replay driven by the real feed (see ``test_trading_routes``);
the dry run subscribes the feature channels it reads, backfilled from the stored candles.
On the bundled BTC 5-minute data EMA 12 first crosses above EMA 26 at 04:25 on 2021-07-03,
so a dry run of the EMA crossover at 04:20 holds and one at 04:25 opens a long.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from domain.market.model import FundingRate
from tests.adapters.fake_chat_completions import (
    MODEL,
    FakeChatCompletions,
    serve_chat_completions,
)
from tests.api.clones_kit import admin, created, drafted, user
from tests.api.conftest import assert_problem
from tests.api.test_trading_routes import DATA_START, ReplayWorld, replay_worlds
from tests.domain.clones.graph_examples import find, llm_strategy

BEFORE_CROSS = DATA_START + timedelta(hours=4, minutes=20)
GOLDEN_CROSS = DATA_START + timedelta(hours=4, minutes=25)


def dry_run(world: ReplayWorld, headers: dict[str, str], clone_id: str, **body: Any) -> Any:
    """Dry-run ``clone_id``; assert 201 and return the answer."""
    response = world.client.post(f"/v1/clones/{clone_id}/dry-run", headers=headers, json=body)
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[ReplayWorld]:
    with replay_worlds(database_url, tmp_path) as make:
        yield make()


@pytest.fixture
def chat() -> Iterator[FakeChatCompletions]:
    with serve_chat_completions() as fake:
        yield fake


@pytest.fixture
def ungranted(
    database_url: str, tmp_path: Path, chat: FakeChatCompletions
) -> Iterator[ReplayWorld]:
    """No mock grant; the ``standard`` model tier is routed to the fake model server."""
    route = {"provider": "openai-compatible", "model": "gpt-4o-mini", "retries": 0}
    with replay_worlds(database_url, tmp_path) as make:
        yield make(
            mock_entitlements=False,
            openai_base_url=chat.base_url,
            model_routes={"standard": [route]},
        )


# --- the worked example -------------------------------------------------------------------


def test_a_draft_dry_run_plans_orders_and_touches_no_account(world: ReplayWorld) -> None:
    owner = user(world.client, "owner")
    clone_id = drafted(world.client, owner)
    world.play_until(GOLDEN_CROSS)

    result = dry_run(world, owner, clone_id, source="draft")

    assert (result["source"], result["provider"], result["model"]) == ("draft", "rules", "rules")
    assert result["hints"] == {"BTC": {"open_long": True, "close": False}}
    assert [(a["asset"], a["signal"]) for a in result["actions"]] == [("BTC", "open_long")]
    [order] = result["orders"]
    assert (order["asset"], order["side"], order["leverage"]) == ("BTC", "buy", 3)
    assert order["clientOrderId"] == f"{result['runId']}:BTC"
    mark = Decimal(result["context"]["assets"][0]["mark"])
    notional = Decimal(order["size"]) * mark  # 10,000 USDC x 0.1 size x 3 leverage, floored
    assert Decimal(2999) < notional <= Decimal(3000)
    assert Decimal(order["stopLoss"]) < mark < Decimal(order["takeProfit"])
    assert result["contextHash"].startswith("sha256:")
    assert result["context"]["at"] == GOLDEN_CROSS.isoformat()
    assert result["context"]["account"]["positions"] == []
    assert (result["tokensIn"], result["tokensOut"], result["promptVersion"]) == (0, 0, None)
    assert world.container.prop.recorder.max_notification_id() in (None, 0)
    assert world.container.trading.recorder.max_notification_id() in (None, 0)


def test_dry_runs_are_listed_newest_first_by_cursor(world: ReplayWorld) -> None:
    owner = user(world.client, "owner")
    clone_id = drafted(world.client, owner)
    world.play_until(BEFORE_CROSS)
    holding = dry_run(world, owner, clone_id)
    world.play_until(GOLDEN_CROSS)
    opening = dry_run(world, owner, clone_id)
    url = f"/v1/clones/{clone_id}/dry-runs"

    listed = world.client.get(url, headers=owner).json()
    first = world.client.get(url, headers=owner, params={"limit": 1}).json()
    second = world.client.get(
        url, headers=owner, params={"limit": 1, "cursor": first["nextCursor"]}
    ).json()

    assert [r["runId"] for r in listed["data"]] == [opening["runId"], holding["runId"]]
    assert listed["nextCursor"] is None
    assert listed["data"][0] == opening
    assert [a["signal"] for a in holding["actions"]] == ["hold"]
    assert holding["orders"] == []
    assert [r["runId"] for r in first["data"] + second["data"]] == [
        opening["runId"],
        holding["runId"],
    ]


def test_a_published_version_dry_runs_like_its_draft(world: ReplayWorld) -> None:
    owner = user(world.client, "owner")
    clone_id = drafted(world.client, owner)
    world.play_until(GOLDEN_CROSS)
    draft = dry_run(world, owner, clone_id, source="draft")
    published = world.client.post(f"/v1/clones/{clone_id}/versions", headers=owner)
    assert published.status_code == 201, published.text

    latest = dry_run(world, owner, clone_id, source="version")
    pinned = dry_run(world, owner, clone_id, source="version", versionNumber=1)

    assert (latest["source"], pinned["source"]) == ("version:1", "version:1")
    assert latest["contextHash"] == draft["contextHash"] == pinned["contextHash"]
    assert latest["orders"][0]["size"] == draft["orders"][0]["size"]


# --- entitlements and providers ------------------------------------------------------------


def test_without_a_grant_a_rules_graph_is_answered_by_rules(ungranted: ReplayWorld) -> None:
    owner = user(ungranted.client, "owner")
    clone_id = drafted(ungranted.client, owner)
    ungranted.play_until(GOLDEN_CROSS)

    result = dry_run(ungranted, owner, clone_id)

    assert result["provider"] == "rules"
    assert [a["signal"] for a in result["actions"]] == ["open_long"]


def test_a_model_graph_calls_no_model_until_the_clone_is_granted(
    ungranted: ReplayWorld, chat: FakeChatCompletions
) -> None:
    owner, operator = user(ungranted.client, "owner"), admin(ungranted.client)
    clone_id = drafted(ungranted.client, owner, llm_strategy())
    ungranted.play_until(GOLDEN_CROSS)
    hourly = [DATA_START + timedelta(hours=h) for h in range(5)]
    rates = [FundingRate("BTC", at, Decimal("0.0001")) for at in hourly]
    ungranted.container.market.upsert_funding("test", rates)  # BTC's funding channel is fresh

    ungated = dry_run(ungranted, owner, clone_id)
    requests_before_grant = len(chat.requests)
    grant = {"tier": "builder", "reason": "pilot"}
    granted = ungranted.client.post(
        f"/v1/admin/clones/{clone_id}/grants", headers=operator, json=grant
    )
    assert granted.status_code == 201, granted.text
    modelled = dry_run(ungranted, owner, clone_id)

    assert (ungated["provider"], ungated["promptVersion"], ungated["attempts"]) == (
        "rules",
        None,
        [],
    )
    assert ungated["errors"] == ["stale_data: asset=ETH"]  # BTC was asked; no 15m candles bundled
    assert requests_before_grant == 0
    assert len(chat.requests) == 1
    assert chat.requests[0].path.endswith("/chat/completions")
    assert (modelled["provider"], modelled["model"]) == ("openai-compatible", MODEL)
    assert (modelled["promptVersion"], modelled["tokensIn"], modelled["tokensOut"]) == (
        "v1",
        812,
        96,
    )
    assert "stale_data: asset=ETH" in modelled["errors"]


def test_a_graph_beyond_the_granted_tier_is_refused_with_its_violations(
    world: ReplayWorld,
) -> None:
    owner = user(world.client, "owner")
    graph = llm_strategy()
    find(graph, "llm")["params"]["modelTier"] = "frontier"  # only Pro runs frontier models
    clone_id = drafted(world.client, owner, graph)

    response = world.client.post(f"/v1/clones/{clone_id}/dry-run", headers=owner, json={})

    body = assert_problem(response, 403, "entitlement:topology-beyond-tier")
    assert body["type"] == "urn:clash:problem:entitlement:topology-beyond-tier"
    assert body["tier"] == "starter"  # the development mock grant
    assert body["violations"] == [{"limit": "model", "allowed": "basic", "actual": "frontier"}]
    listed = world.client.get(f"/v1/clones/{clone_id}/dry-runs", headers=owner).json()
    assert listed["data"] == []


# --- access and input rules ----------------------------------------------------------------


def test_another_users_clone_is_not_found(world: ReplayWorld) -> None:
    owner, stranger = user(world.client, "owner"), user(world.client, "stranger")
    clone_id = drafted(world.client, owner)
    assert_problem(
        world.client.post(f"/v1/clones/{clone_id}/dry-run", headers=stranger, json={}),
        404,
        "clones:clone-not-found",
    )
    assert_problem(
        world.client.get(f"/v1/clones/{clone_id}/dry-runs", headers=stranger),
        404,
        "clones:clone-not-found",
    )


@pytest.mark.parametrize(
    "body",
    [{"source": "draft", "collateral": "1000000"}, {"source": "backtest"}, {"versionNumber": 0}],
)
def test_an_invalid_dry_run_body_is_422(world: ReplayWorld, body: dict[str, Any]) -> None:
    owner = user(world.client, "owner")
    clone_id = drafted(world.client, owner)
    assert_problem(
        world.client.post(f"/v1/clones/{clone_id}/dry-run", headers=owner, json=body),
        422,
        "request:validation-error",
    )


def test_a_missing_draft_or_version_answers_the_clones_problem(world: ReplayWorld) -> None:
    owner = user(world.client, "owner")
    empty, unpublished = created(world.client, owner, "Empty"), drafted(world.client, owner)
    url = "/v1/clones/{}/dry-run"
    assert_problem(
        world.client.post(url.format(empty), headers=owner, json={"source": "draft"}),
        409,
        "clones:no-draft",
    )
    assert_problem(
        world.client.post(url.format(unpublished), headers=owner, json={"source": "version"}),
        404,
        "clones:version-not-found",
    )
    assert_problem(
        world.client.post(
            url.format(unpublished), headers=owner, json={"source": "version", "versionNumber": 2}
        ),
        404,
        "clones:version-not-found",
    )


def test_runs_recorded_in_the_same_instant_all_page_through(world: ReplayWorld) -> None:
    owner = user(world.client, "owner")
    clone_id = drafted(world.client, owner)
    world.play_until(BEFORE_CROSS)
    made = {dry_run(world, owner, clone_id)["runId"] for _ in range(3)}  # the clock stands still
    url, seen, cursor = f"/v1/clones/{clone_id}/dry-runs", [], None
    while True:
        params = {"limit": 1} if cursor is None else {"limit": 1, "cursor": cursor}
        page = world.client.get(url, headers=owner, params=params).json()
        seen += [r["runId"] for r in page["data"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(made)
