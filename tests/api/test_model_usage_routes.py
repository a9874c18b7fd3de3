"""Model usage for operators: the admin route, the CLI, the budget alerts, and dry runs.

Spend is simulated through the real read model (``ModelUsageStore.record``) where a test is
about reporting or alerting; the dry-run tests call the fake OpenAI-compatible server on
loopback (1,234 prompt and 567 completion tokens: 525 micro-USD at 0.15/0.60 USD per
million), the only external service here. The service clock reads 2026-12-01 12:00 UTC.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from adapters.bootstrap import Container
from adapters.model_usage import UsageEntry
from api.cli import app
from domain.clock import SimulatedClock
from domain.market.model import FundingRate
from domain.trading.usage import UsageLine
from tests.adapters.fake_chat_completions import (
    FakeChatCompletions,
    completion,
    serve_chat_completions,
)
from tests.api.clones_kit import admin, drafted, user
from tests.api.conftest import START, assert_problem
from tests.api.test_dry_run_routes import GOLDEN_CROSS, dry_run
from tests.api.test_economy_routes import container_of
from tests.api.test_trading_routes import DATA_START, ReplayWorld, replay_worlds
from tests.conftest import schema_of
from tests.domain.clones.graph_examples import llm_strategy
from workers.alerts import AlertWorker
from workers.runtime import Runtime

USAGE = "/v1/admin/model-usage"
TODAY = START.date()
CLONE_A = UUID("00000000-0000-4000-8000-00000000000a")
CLONE_B = UUID("00000000-0000-4000-8000-00000000000b")
PRICES = {"gpt-4o-mini": {"input_per_million_usd": "0.15", "output_per_million_usd": "0.60"}}
BUDGETS = {
    "global": {"daily_usd": "50"},
    "tiers": {"starter": {"daily_usd_per_clone": "0.001"}},
    "soft_ratio": "0.8",
}


def a_call(calls: int = 1, cost: int = 525, errors: int = 0) -> UsageLine:
    """``calls`` answered gpt-4o-mini calls of 1,234 + 567 tokens, ``cost`` micro-USD in all."""
    return UsageLine(
        "openai-compatible", "gpt-4o-mini", calls, errors, calls * 1_234, calls * 567, cost, 0
    )


def spend(container: Container, clone_id: UUID, user_id: str, *lines: UsageLine) -> None:
    """Simulate a clone's model spend today (the starter tier)."""
    day = container.service_clock.now().date()
    container.model_meter.store.record(UsageEntry(day, user_id, clone_id, "starter", lines))


@pytest.fixture
def budgeted(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client(model_prices=PRICES, model_budgets=BUDGETS)


# --- the report ------------------------------------------------------------------------------


def test_the_report_groups_usage_by_clone_with_todays_budgets(budgeted: TestClient) -> None:
    container = container_of(budgeted)
    spend(container, CLONE_A, "ada", a_call(2, 1_050))
    spend(container, CLONE_B, "bob", a_call(1, 525, errors=1))

    response = budgeted.get(USAGE, params={"groupBy": "clone"}, headers=admin(budgeted))

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["fromDay"], body["toDay"], body["groupBy"]) == (
        "2026-12-01",
        "2026-12-01",
        "clone",
    )
    assert [(r["cloneId"], r["userId"], r["calls"], r["costUsd"]) for r in body["data"]] == [
        (str(CLONE_A), "ada", 2, "0.001050"),
        (str(CLONE_B), "bob", 1, "0.000525"),
    ]
    assert body["data"][1]["errors"] == 1
    assert body["totals"] == {
        "calls": 3,
        "errors": 1,
        "tokensIn": 3 * 1_234,
        "tokensOut": 3 * 567,
        "costUsd": "0.001575",
        "unpricedCalls": 0,
    }
    budgets = body["budgets"]
    assert budgets["globalBudget"]["limitUsd"] == "50.000000"
    assert budgets["globalBudget"]["state"] == "ok"
    assert [(c["cloneId"], c["state"], c["ratio"]) for c in budgets["clones"]] == [
        (str(CLONE_A), "exhausted", "1.0500"),
        (str(CLONE_B), "ok", "0.5250"),
    ]


def test_the_report_covers_a_range_of_days_by_day(
    budgeted: TestClient, clock: SimulatedClock
) -> None:
    container = container_of(budgeted)
    spend(container, CLONE_A, "ada", a_call())
    clock.advance(timedelta(days=1))
    spend(container, CLONE_A, "ada", a_call(2, 1_050))

    body = budgeted.get(
        USAGE, params={"from": "2026-12-01", "to": "2026-12-02"}, headers=admin(budgeted)
    ).json()
    today = budgeted.get(USAGE, headers=admin(budgeted)).json()

    assert [(r["day"], r["calls"], r["costUsd"]) for r in body["data"]] == [
        ("2026-12-01", 1, "0.000525"),
        ("2026-12-02", 2, "0.001050"),
    ]
    assert today["fromDay"] == today["toDay"] == "2026-12-02"
    assert body["budgets"]["clones"][0]["usedUsd"] == "0.001050"  # today's spend only


def test_a_plain_user_is_forbidden_and_a_stranger_must_sign_in(client: TestClient) -> None:
    assert_problem(client.get(USAGE, headers=user(client, "plain")), 403, "auth:admin-required")
    assert_problem(client.get(USAGE), 401, "auth:missing-credentials")


@pytest.mark.parametrize(
    "params",
    [
        {"from": "2026-13-01"},
        {"to": "yesterday"},
        {"groupBy": "week"},
        {"limit": "0"},
        {"limit": "1001"},
    ],
)
def test_bad_query_input_is_a_validation_problem(
    client: TestClient, params: dict[str, str]
) -> None:
    response = client.get(USAGE, params=params, headers=admin(client))

    assert_problem(response, 422, "request:validation-error")


@pytest.mark.parametrize(
    "params",
    [{"from": "2026-12-02", "to": "2026-12-01"}, {"from": "2025-01-01", "to": "2026-01-02"}],
)
def test_a_reversed_or_overlong_range_is_a_bad_usage_range(
    client: TestClient, params: dict[str, str]
) -> None:
    response = client.get(USAGE, params=params, headers=admin(client))

    body = assert_problem(response, 422, "trading:bad-usage-range")
    assert body["detail"].startswith("from=")


# --- soft and hard alerts --------------------------------------------------------------------


def test_spend_past_the_soft_ratio_fires_the_budget_alert_with_its_runbook(
    make_client: Callable[..., TestClient], clock: SimulatedClock
) -> None:
    client = make_client(model_budgets=BUDGETS, alert_webhook_url="https://alerts.example/hook")
    container = container_of(client)
    posted: list[dict[str, Any]] = []

    def webhook(request: httpx.Request) -> httpx.Response:
        posted.append(json.loads(request.content))
        return httpx.Response(204)

    worker = AlertWorker(container, transport=httpx.MockTransport(webhook))
    runtime = Runtime(container.database, clock)
    spend(container, CLONE_A, "ada", a_call(1, 700))  # 70% of the clone's 0.001 USD
    runtime.step(worker)
    quiet = list(posted)

    spend(container, CLONE_A, "ada", a_call(1, 150))  # 85%
    clock.advance(timedelta(minutes=1))
    runtime.step(worker)
    soft = list(posted)
    metrics = client.get("/metrics").text

    spend(container, CLONE_A, "ada", a_call(1, 150))  # 100%: model calls stop
    clock.advance(timedelta(minutes=1))
    runtime.step(worker)

    assert quiet == []
    assert [(p["status"], p["alert"], p["labels"]) for p in soft] == [
        ("firing", "ModelBudgetSoft", {"scope": "clone", "tier": "starter"})
    ]
    assert "clash admin model-usage" in soft[0]["summary"]
    assert "docs/runbooks.md" in soft[0]["summary"]
    assert 'clash_model_budget_state{scope="clone",tier="starter"} 1.0' in metrics
    assert 'clash_model_budget_used_ratio{scope="clone",tier="starter"} 0.85' in metrics
    assert 'clash_model_budget_state{scope="global",tier=""} 0.0' in metrics
    assert [(p["status"], p["alert"]) for p in posted[len(soft) :]] == [
        ("firing", "ModelBudgetExhausted")
    ]


def test_without_budgets_no_budget_series_is_exported(client: TestClient) -> None:
    spend(container_of(client), CLONE_A, "ada", a_call())

    assert "clash_model_budget_state{" not in client.get("/metrics").text


# --- the command line ------------------------------------------------------------------------


def test_the_cli_prints_the_report_and_refuses_a_reversed_range(
    budgeted: TestClient, database_url: str
) -> None:
    spend(container_of(budgeted), CLONE_A, "ada", a_call(2, 1_050))
    env = {
        "CLASH_DATABASE_URL": database_url.split("?", maxsplit=1)[0],
        "CLASH_POSTGRES_SCHEMA": schema_of(database_url),
        "CLASH_LOG_LEVEL": "WARNING",
        "CLASH_MODEL_BUDGETS": json.dumps(BUDGETS),
    }
    runner = CliRunner()
    day = ["--from", "2026-12-01", "--to", "2026-12-01"]

    by_model = ["admin", "model-usage", *day, "--group-by", "model"]

    table = runner.invoke(app, by_model, env=env)
    as_json = runner.invoke(app, [*by_model, "--json"], env=env)
    reversed_ = runner.invoke(
        app, ["admin", "model-usage", "--from", "2026-12-02", "--to", "2026-12-01"], env=env
    )

    assert table.exit_code == 0, table.output
    assert "Model usage 2026-12-01 to 2026-12-01 by model" in table.output
    assert "0.001050" in table.output  # narrow terminals wrap the names, never the figures
    [row] = json.loads(as_json.stdout)["data"]
    assert (row["model"], row["calls"], row["costUsd"]) == ("gpt-4o-mini", 2, "0.001050")
    assert reversed_.exit_code == 2
    assert "bad_usage_range" in reversed_.output


# --- dry runs ----------------------------------------------------------------------------------


@pytest.fixture
def chat() -> Iterator[FakeChatCompletions]:
    with serve_chat_completions() as fake:
        fake.answer(completion('{"actions": []}', prompt_tokens=1_234, completion_tokens=567))
        yield fake


@pytest.fixture
def modelled(database_url: str, tmp_path: Path, chat: FakeChatCompletions) -> Iterator[ReplayWorld]:
    """The ``standard`` tier on the fake model; a builder clone may spend 0.0005 USD a day."""
    route = {"provider": "openai-compatible", "model": "gpt-4o-mini", "retries": 0}
    budgets = {"tiers": {"builder": {"daily_usd_per_clone": "0.0005"}}}
    with replay_worlds(database_url, tmp_path) as make:
        yield make(
            mock_entitlements=False,
            openai_base_url=chat.base_url,
            model_routes={"standard": [route]},
            model_prices=PRICES,
            model_budgets=budgets,
        )


def test_a_dry_runs_model_call_is_counted_then_a_spent_budget_holds_it(
    modelled: ReplayWorld, chat: FakeChatCompletions
) -> None:
    client = modelled.client
    owner, operator = user(client, "owner"), admin(client)
    clone_id = drafted(client, owner, llm_strategy())
    grant = {"tier": "builder", "reason": "pilot"}
    granted = client.post(f"/v1/admin/clones/{clone_id}/grants", headers=operator, json=grant)
    assert granted.status_code == 201, granted.text
    modelled.play_until(GOLDEN_CROSS)
    hourly = [DATA_START + timedelta(hours=h) for h in range(5)]
    funding = [FundingRate("BTC", at, Decimal("0.0001")) for at in hourly]
    modelled.container.market.upsert_funding("test", funding)

    first = dry_run(modelled, owner, clone_id)
    second = dry_run(modelled, owner, clone_id)
    report = client.get(USAGE, params={"groupBy": "clone"}, headers=operator).json()

    assert first["provider"] == "openai-compatible"
    assert len(chat.requests) == 1
    assert second["provider"] == "none"
    assert second["attempts"] == []
    assert (
        "budget_exhausted: scope=clone tier=builder used_usd=0.000525 limit_usd=0.000500"
        in second["errors"]
    )
    assert [(r["cloneId"], r["calls"], r["costUsd"]) for r in report["data"]] == [
        (clone_id, 1, "0.000525")
    ]
    assert report["budgets"]["clones"][0]["state"] == "exhausted"
