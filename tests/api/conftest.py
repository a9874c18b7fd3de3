"""API fixtures: a real app on each store, a simulated service clock, signed-in users."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient

from adapters.bootstrap import Container, bootstrap
from adapters.settings import Settings
from api.app import create_app
from domain.clock import SimulatedClock
from tests.conftest import schema_of
from tests.kit import a_wallet, signed

START = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
ADMIN = a_wallet("admin")


def api_settings(database_url: str, **overrides: Any) -> Settings:
    """Settings for a test app on ``database_url`` (admin = the kit's admin wallet)."""
    values: dict[str, Any] = {
        "env": "development",
        "database_url": database_url.split("?", maxsplit=1)[0],
        "postgres_schema": schema_of(database_url),
        "admin_addresses": [ADMIN.address],
        "db_pool_size": 2,
        "db_pool_max_overflow": 4,
        "auth_rate_limit_per_ip": "10000/minute",
        "auth_rate_limit_per_address": "10000/minute",
        "log_json": False,
    }
    if database_url.startswith("postgresql"):  # SQLite stores keep these beside the file
        values["artifact_dir"] = str(Path(tempfile.gettempdir()) / "clash-test-artifacts")
        values["backup_dir"] = str(Path(tempfile.gettempdir()) / "clash-test-backups")
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def clock() -> SimulatedClock:
    """The service clock of the app under test."""
    return SimulatedClock(START)


@pytest.fixture
def make_client(database_url: str, clock: SimulatedClock) -> Iterator[Callable[..., TestClient]]:
    """Build test clients with settings overrides; all are closed at the end."""
    built: list[Container] = []

    def make(**overrides: Any) -> TestClient:
        container = bootstrap(api_settings(database_url, **overrides), service_clock=clock)
        built.append(container)
        return TestClient(create_app(container), raise_server_exceptions=False)

    yield make
    for container in built:
        container.close()


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    """A client of the default development app."""
    return make_client()


def sign_in(client: TestClient, wallet: LocalAccount, chain_id: int = 1) -> dict[str, Any]:
    """Run the whole SIWE flow and return the session body."""
    challenge = client.post(
        "/v1/auth/siwe/challenge", json={"address": wallet.address, "chainId": chain_id}
    )
    assert challenge.status_code == 200, challenge.text
    message = challenge.json()["message"]
    response = client.post(
        "/v1/auth/siwe/verify", json={"message": message, "signature": signed(message, wallet)}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def bearer(token: str) -> dict[str, str]:
    """Return an Authorization header for ``token``."""
    return {"Authorization": f"Bearer {token}"}


def assert_problem(response: Any, status: int, type_suffix: str) -> dict[str, Any]:
    """Assert a problem+json response of ``status`` whose type ends with ``type_suffix``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["type"].endswith(type_suffix), body
    assert body["status"] == status
    return body
