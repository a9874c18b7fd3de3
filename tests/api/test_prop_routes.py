"""Prop accounts over HTTP: admin writes, owner reads with read-your-writes, access rules."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from adapters.bootstrap import Container, bootstrap
from api.app import create_app
from domain.clock import SimulatedClock
from domain.market.model import AssetContext
from domain.prop.rules import Purpose, RuleSet
from projections.catalog import runners
from tests.api.conftest import ADMIN, api_settings, assert_problem, bearer, sign_in
from tests.kit import a_wallet

T0 = datetime(2021, 7, 3, tzinfo=UTC)


@pytest.fixture
def container(database_url: str, clock: SimulatedClock) -> Iterator[Container]:
    built = bootstrap(
        api_settings(database_url), service_clock=clock, market_clock=SimulatedClock(T0)
    )
    built.market.upsert_contexts(
        "test", [AssetContext("BTC", T0, Decimal("100000"), Decimal("100000"), Decimal(0))]
    )
    yield built
    built.close()


@pytest.fixture
def client(container: Container) -> TestClient:
    return TestClient(create_app(container), raise_server_exceptions=False)


def _project(container: Container) -> None:
    for runner in runners(container):
        runner.catch_up()


def _opened(client: TestClient, owner_id: str) -> tuple[dict[str, str], str]:
    admin = bearer(sign_in(client, ADMIN)["accessToken"])
    body = {"ownerUserId": owner_id, "collateral": "10000", "cause": "test:acct"}
    created = client.post("/v1/admin/prop-accounts", headers=admin, json=body)
    assert created.status_code == 201, created.text
    return admin, created.json()["accountId"]


def test_admin_opens_and_trades_and_owner_reads(client: TestClient, container: Container) -> None:
    owner = sign_in(client, a_wallet("trader"))
    admin, account_id = _opened(client, owner["user"]["id"])
    order = {
        "clientOrderId": "o1",
        "asset": "BTC",
        "side": "buy",
        "size": "0.1",
        "leverage": 5,
        "stopLoss": "95000",
    }
    written = client.post(
        f"/v1/admin/prop-accounts/{account_id}/orders", headers=admin, json=order
    ).json()
    _project(container)
    view = client.get(
        f"/v1/prop-accounts/{account_id}",
        headers=bearer(owner["accessToken"]),
        params={"after": written["position"]},
    ).json()
    assert written["outcome"] == "filled"
    assert view["collateral"] == "9995.497750"
    assert view["positions"][0]["entryPrice"] == "100050"
    assert view["positions"][0]["stopLoss"] == "95000"
    assert view["accountValue"] == "9990.497750"
    fills = client.get(
        f"/v1/prop-accounts/{account_id}/fills", headers=bearer(owner["accessToken"])
    ).json()
    assert fills["data"][0]["fee"] == "4.502250"


def test_rejection_reason_is_visible_in_orders(client: TestClient, container: Container) -> None:
    owner = sign_in(client, a_wallet("trader"))
    admin, account_id = _opened(client, owner["user"]["id"])
    order = {"clientOrderId": "big", "asset": "BTC", "side": "buy", "size": "5", "leverage": 2}
    written = client.post(
        f"/v1/admin/prop-accounts/{account_id}/orders", headers=admin, json=order
    ).json()
    _project(container)
    orders = client.get(
        f"/v1/prop-accounts/{account_id}/orders", headers=bearer(owner["accessToken"])
    ).json()
    assert (written["outcome"], written["reason"]) == ("rejected", "insufficient_margin")
    assert orders["data"][0]["reason"] == "insufficient_margin"


def test_foreign_private_account_is_404(client: TestClient, container: Container) -> None:
    owner = sign_in(client, a_wallet("trader"))
    _, account_id = _opened(client, owner["user"]["id"])
    _project(container)
    stranger = bearer(sign_in(client, a_wallet("stranger"))["accessToken"])
    assert_problem(
        client.get(f"/v1/prop-accounts/{account_id}", headers=stranger),
        404,
        "prop:account-not-found",
    )


def test_unprojected_write_answers_503_with_retry_after(client: TestClient) -> None:
    owner = sign_in(client, a_wallet("trader"))
    admin, account_id = _opened(client, owner["user"]["id"])
    response = client.get(
        f"/v1/prop-accounts/{account_id}", headers=admin, params={"after": 10_000}
    )
    assert_problem(response, 503, "prop:projection-lagging")
    assert response.headers["Retry-After"] == "1"


def test_plain_user_cannot_use_admin_routes(client: TestClient) -> None:
    user = bearer(sign_in(client, a_wallet("trader"))["accessToken"])
    response = client.post(
        "/v1/admin/prop-accounts", headers=user, json={"ownerUserId": "x", "collateral": "1"}
    )
    assert_problem(response, 403, "auth:admin-required")


def test_reused_client_order_id_with_other_content_is_409(client: TestClient) -> None:
    owner = sign_in(client, a_wallet("trader"))
    admin, account_id = _opened(client, owner["user"]["id"])
    url = f"/v1/admin/prop-accounts/{account_id}/orders"
    first = {"clientOrderId": "o1", "asset": "BTC", "side": "buy", "size": "0.1", "leverage": 5}
    client.post(url, headers=admin, json=first)
    response = client.post(url, headers=admin, json={**first, "size": "0.2"})
    assert_problem(response, 409, "prop:client-order-id-conflict")


def test_concurrent_opens_of_one_cause_all_get_the_one_account(container: Container) -> None:
    def open_it(_: int) -> UUID:
        return container.prop.open_account(
            cause="race:same-cause",
            owner="u1",
            purpose=Purpose.SANDBOX,
            rules=RuleSet(),
            collateral_micros=10_000_000_000,
        )

    with ThreadPoolExecutor(max_workers=6) as pool:
        opened = list(pool.map(open_it, range(12)))

    assert len(set(opened)) == 1
    assert container.prop.account(opened[0]).version == 1
