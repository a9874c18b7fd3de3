"""Roles, service-token scopes, the development login, rate limits and problem shapes."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from adapters.settings import Settings
from tests.api.conftest import ADMIN, assert_problem, bearer, sign_in
from tests.kit import a_wallet

ALICE = a_wallet("alice")
SAFE_PRODUCTION = {
    "env": "production",
    "dev_login_enabled": False,
    "jwt_keys": {"p1": {"alg": "HS256", "secret": "production-secret-production-secret-01"}},
    "jwt_signing_kid": "p1",
    "refresh_pepper": "production-pepper-production-pepper-01",
    "mock_entitlements": False,
    "vault_signer": "0x2B5AD5c4795c026514f8317c7a215E218DcCD6cF",
    "refund_private_key": "0x" + "0" * 63 + "3",
    "payout_private_key": "0x" + "0" * 63 + "4",
}


def _service_token(client: TestClient, *scopes: str, name: str = "reporter") -> str:
    admin = sign_in(client, ADMIN)["accessToken"]
    response = client.post(
        "/v1/admin/service-tokens",
        headers=bearer(admin),
        json={"name": name, "scopes": list(scopes)},
    )
    assert response.status_code == 201, response.text
    assert response.json()["serviceToken"]["scopes"] == sorted(scopes)
    token: str = response.json()["token"]
    return token


def test_admin_route_without_token_is_401(client: TestClient) -> None:
    assert_problem(client.get("/v1/admin/service-tokens"), 401, "auth:missing-credentials")


def test_admin_route_for_plain_user_is_403(client: TestClient) -> None:
    token = sign_in(client, ALICE)["accessToken"]
    assert_problem(
        client.get("/v1/admin/service-tokens", headers=bearer(token)), 403, "auth:admin-required"
    )


def test_admin_route_for_admin_is_200(client: TestClient) -> None:
    token = sign_in(client, ADMIN)["accessToken"]
    assert client.get("/v1/admin/service-tokens", headers=bearer(token)).status_code == 200


def test_admin_reads_any_user(client: TestClient) -> None:
    alice = sign_in(client, ALICE)["user"]["id"]
    admin = sign_in(client, ADMIN)["accessToken"]
    response = client.get(f"/v1/admin/users/{alice}", headers=bearer(admin))
    assert response.json()["wallets"][0]["address"] == ALICE.address


def test_service_token_with_scope_reaches_internal_route(client: TestClient) -> None:
    token = _service_token(client, "identity:read")
    sign_in(client, ALICE)
    response = client.get(f"/v1/internal/wallets/{ALICE.address}", headers=bearer(token))
    assert response.status_code == 200
    assert response.json()["address"] == ALICE.address


def test_service_token_without_scope_is_403(client: TestClient) -> None:
    token = _service_token(client, "market:write")
    assert_problem(
        client.get(f"/v1/internal/wallets/{ALICE.address}", headers=bearer(token)),
        403,
        "service-token:scope-missing",
    )


def test_revoked_service_token_is_401(client: TestClient) -> None:
    token = _service_token(client, "identity:read")
    admin = sign_in(client, ADMIN)["accessToken"]
    assert (
        client.delete("/v1/admin/service-tokens/reporter", headers=bearer(admin)).status_code == 204
    )
    assert_problem(
        client.get(f"/v1/internal/wallets/{ALICE.address}", headers=bearer(token)),
        401,
        "service-token:service-token-unknown",
    )


def test_duplicate_service_token_name_is_409(client: TestClient) -> None:
    _service_token(client, "identity:read")
    admin = sign_in(client, ADMIN)["accessToken"]
    response = client.post(
        "/v1/admin/service-tokens",
        headers=bearer(admin),
        json={"name": "reporter", "scopes": ["identity:read"]},
    )
    assert_problem(response, 409, "service-token:service-token-name-taken")


def test_user_token_on_internal_route_is_401(client: TestClient) -> None:
    token = sign_in(client, ADMIN)["accessToken"]
    assert_problem(
        client.get(f"/v1/internal/wallets/{ALICE.address}", headers=bearer(token)),
        401,
        "auth:service-token-required",
    )


def test_service_token_on_user_route_is_401(client: TestClient) -> None:
    token = _service_token(client, "identity:read")
    assert_problem(client.get("/v1/me", headers=bearer(token)), 401, "token:wrong-token-kind")


def test_dev_login_signs_in_without_signature_in_development(client: TestClient) -> None:
    response = client.post("/v1/auth/dev/login", json={"address": ALICE.address})
    assert response.status_code == 200
    me = client.get("/v1/me", headers=bearer(response.json()["accessToken"]))
    assert me.json()["wallets"][0]["address"] == ALICE.address


def test_dev_login_route_does_not_exist_in_production(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(**SAFE_PRODUCTION)
    assert_problem(
        client.post("/v1/auth/dev/login", json={"address": ALICE.address}), 404, "request:not-found"
    )
    assert "/v1/auth/dev/login" not in client.get("/openapi.json").json()["paths"]


def test_production_refuses_dev_login_enabled() -> None:
    with pytest.raises(ValidationError, match="CLASH_DEV_LOGIN_ENABLED"):
        Settings(**{**SAFE_PRODUCTION, "dev_login_enabled": True})


def test_production_refuses_default_secrets() -> None:
    with pytest.raises(ValidationError, match="development secret"):
        Settings(
            env="production",
            dev_login_enabled=False,
            refresh_pepper="production-pepper-production-pepper-01",
        )


def test_challenges_beyond_ip_limit_are_429_with_retry_after(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(auth_rate_limit_per_ip="3/minute")
    statuses = [
        client.post(
            "/v1/auth/siwe/challenge", json={"address": a_wallet(f"w{i}").address, "chainId": 1}
        ).status_code
        for i in range(4)
    ]
    assert statuses == [200, 200, 200, 429]
    limited = client.post("/v1/auth/siwe/challenge", json={"address": ALICE.address, "chainId": 1})
    assert_problem(limited, 429, "rate-limit:exceeded")
    assert 1 <= int(limited.headers["Retry-After"]) <= 60


def test_challenges_beyond_address_limit_are_429(make_client: Callable[..., TestClient]) -> None:
    client = make_client(auth_rate_limit_per_address="2/minute")
    body = {"address": ALICE.address, "chainId": 1}
    assert [client.post("/v1/auth/siwe/challenge", json=body).status_code for _ in range(3)] == [
        200,
        200,
        429,
    ]
    other = {"address": a_wallet("bob").address, "chainId": 1}
    assert client.post("/v1/auth/siwe/challenge", json=other).status_code == 200


def test_validation_error_is_problem_without_echoing_input(client: TestClient) -> None:
    response = client.post("/v1/auth/siwe/verify", json={"message": 1, "signature": "secret-ish"})
    body = assert_problem(response, 422, "request:validation-error")
    assert body["errors"][0]["location"] == ["body", "message"]
    assert "secret-ish" not in response.text


def test_unknown_body_field_is_rejected(client: TestClient) -> None:
    response = client.post("/v1/auth/dev/login", json={"address": ALICE.address, "role": "admin"})
    assert_problem(response, 422, "request:validation-error")


def test_request_id_is_echoed_and_in_problems(client: TestClient) -> None:
    response = client.get("/v1/me", headers={"X-Request-ID": "trace-123"})
    assert response.headers["X-Request-ID"] == "trace-123"
    assert response.json()["requestId"] == "trace-123"


def test_oversized_body_is_413(client: TestClient) -> None:
    response = client.post(
        "/v1/auth/siwe/verify",
        content=b"{" + b" " * 70_000 + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert_problem(response, 413, "request:too-large")


def test_cors_allows_only_configured_origins(client: TestClient) -> None:
    preflight = {"Access-Control-Request-Method": "POST"}
    allowed = client.options(
        "/v1/auth/siwe/challenge", headers={**preflight, "Origin": "http://localhost:3000"}
    )
    evil = client.options(
        "/v1/auth/siwe/challenge", headers={**preflight, "Origin": "https://evil.example"}
    )
    assert allowed.headers.get("access-control-allow-origin") == "http://localhost:3000"
    assert "access-control-allow-origin" not in evil.headers


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "database": "ok", "pendingMigrations": []}


def test_openapi_documents_every_route(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/v1/auth/siwe/challenge",
        "/v1/auth/siwe/verify",
        "/v1/auth/refresh",
        "/v1/auth/logout",
        "/v1/me",
        "/v1/admin/service-tokens",
        "/health/ready",
    ):
        assert path in paths
    assert client.get("/docs").status_code == 200
