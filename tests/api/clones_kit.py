"""Helpers of the clone route tests: a signed-in user, a created clone, projections caught up."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from adapters.bootstrap import Container
from projections.catalog import runners
from tests.api.conftest import ADMIN, bearer, sign_in
from tests.domain.clones.graph_examples import ema_crossover
from tests.kit import a_wallet


def user(client: TestClient, name: str) -> dict[str, str]:
    """Sign ``name``'s wallet in; return its Authorization header."""
    return bearer(sign_in(client, a_wallet(name))["accessToken"])


def admin(client: TestClient) -> dict[str, str]:
    """Sign the admin wallet in; return its Authorization header."""
    return bearer(sign_in(client, ADMIN)["accessToken"])


def created(client: TestClient, headers: dict[str, str], name: str = "Alpha") -> str:
    """Create a clone; return its id."""
    response = client.post("/v1/clones", headers=headers, json={"name": name})
    assert response.status_code == 201, response.text
    clone_id: str = response.json()["id"]
    return clone_id


def drafted(client: TestClient, headers: dict[str, str], graph: Any = None) -> str:
    """Create a clone with the EMA crossover (or ``graph``) as its draft."""
    clone_id = created(client, headers)
    body = {"graph": graph or ema_crossover()}
    response = client.put(f"/v1/clones/{clone_id}/draft", headers=headers, json=body)
    assert response.status_code == 200, response.text
    return clone_id


def published(client: TestClient, headers: dict[str, str], name: str = "Alpha") -> str:
    """Create a clone and publish its profile."""
    clone_id = created(client, headers, name)
    body = {"name": name, "bio": "An EMA trader.", "avatarUrl": "https://img.example/a.png"}
    response = client.put(f"/v1/clones/{clone_id}/profile", headers=headers, json=body)
    assert response.status_code == 200, response.text
    return clone_id


def project(container: Container) -> None:
    """Catch the clones read models up with the log."""
    for runner in runners(container, ["clones"]):
        runner.catch_up()
