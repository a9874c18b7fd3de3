"""Clones over HTTP: lifecycle, drafts and versions, profiles, access rules, input rules."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from adapters.bootstrap import Container, bootstrap
from api.app import create_app
from domain.clock import SimulatedClock
from domain.clones.tiers import DEFAULT_TIERS
from tests.api.clones_kit import admin, created, drafted, project, published, user
from tests.api.conftest import api_settings, assert_problem
from tests.domain.clones.graph_examples import ema_crossover

LAYOUT = {"nodes": {"btc": {"x": 12.5, "y": 40}}, "viewport": {"x": 0, "y": 0, "zoom": 1}}


@pytest.fixture
def container(database_url: str, clock: SimulatedClock) -> Iterator[Container]:
    built = bootstrap(api_settings(database_url), service_clock=clock)
    yield built
    built.close()


@pytest.fixture
def client(container: Container) -> TestClient:
    return TestClient(create_app(container), raise_server_exceptions=False)


def _slower() -> dict[str, Any]:
    graph = ema_crossover()
    graph["nodes"][2]["params"]["channel"] = "ema:50"
    return graph


# --- the worked example ---------------------------------------------------------------


def test_clone_lifecycle_create_draft_layout_publish(
    client: TestClient, container: Container
) -> None:
    owner = user(client, "owner")
    clone_id = drafted(client, owner)
    url = f"/v1/clones/{clone_id}"
    before = client.get(url, headers=owner).json()
    laid_out = client.put(f"{url}/layout", headers=owner, json={"layout": LAYOUT}).json()
    v1 = client.post(f"{url}/versions", headers=owner)
    client.put(f"{url}/draft", headers=owner, json={"graph": _slower()})
    v2 = client.post(f"{url}/versions", headers=owner)
    again = client.post(f"{url}/versions", headers=owner)
    versions = client.get(f"{url}/versions", headers=owner).json()["data"]
    assert (laid_out["draft"]["number"], laid_out["layout"]) == (1, LAYOUT)
    assert laid_out["draft"]["graph"] == before["draft"]["graph"]
    assert (v1.status_code, v1.json()["number"], v2.json()["number"]) == (201, 1, 2)
    assert v1.json()["contentHash"].startswith("sha256:")
    assert v1.json()["contentHash"] != v2.json()["contentHash"]
    assert_problem(again, 409, "clones:nothing-to-publish")
    assert [v["number"] for v in versions] == [1, 2]


def test_a_version_returns_graph_spec_and_hash(client: TestClient) -> None:
    owner = user(client, "owner")
    clone_id = drafted(client, owner)
    created_version = client.post(f"/v1/clones/{clone_id}/versions", headers=owner).json()
    version = client.get(f"/v1/clones/{clone_id}/versions/1", headers=owner).json()
    assert version["versionId"] == created_version["versionId"]
    assert version["contentHash"] == created_version["contentHash"]
    assert version["spec"]["risk"]["size_fraction"] == "0.1"
    assert version["graph"]["schema"] == "clash.strategy-graph/1"
    assert_problem(
        client.get(f"/v1/clones/{clone_id}/versions/9", headers=owner),
        404,
        "clones:version-not-found",
    )


def test_publishing_without_a_draft_is_409(client: TestClient) -> None:
    owner = user(client, "owner")
    clone_id = created(client, owner)
    assert_problem(
        client.post(f"/v1/clones/{clone_id}/versions", headers=owner), 409, "clones:no-draft"
    )


def test_json_numbers_in_a_graph_keep_their_decimal_digits(client: TestClient) -> None:
    owner = user(client, "owner")
    clone_id = created(client, owner)
    graph = json.dumps(ema_crossover()).replace('"0.1"', "0.1")  # a JSON number
    raw = '{"graph": ' + graph + ', "layout": {"nodes": {}, "viewport": {"zoom": 0.75}}}'
    response = client.put(
        f"/v1/clones/{clone_id}/draft",
        headers={**owner, "Content-Type": "application/json"},
        content=raw,
    )
    assert response.status_code == 200, response.text
    risk = next(n for n in response.json()["draft"]["graph"]["nodes"] if n["kind"] == "risk")
    assert risk["params"]["sizeFraction"] == "0.1"
    assert response.json()["layout"]["viewport"]["zoom"] == 0.75


def test_the_owner_lists_only_their_clones_after_the_write_is_read(
    client: TestClient, container: Container
) -> None:
    owner, other = user(client, "owner"), user(client, "other")
    mine = [created(client, owner, f"Mine {n}") for n in range(3)]
    created(client, other, "Theirs")
    project(container)
    first = client.get("/v1/clones", headers=owner, params={"limit": 2}).json()
    rest = client.get(
        "/v1/clones", headers=owner, params={"cursor": first["nextCursor"], "limit": 2}
    ).json()
    assert [c["id"] for c in first["data"] + rest["data"]] == mine
    assert rest["nextCursor"] is None


def test_a_list_waiting_for_an_unread_position_answers_503(client: TestClient) -> None:
    owner = user(client, "owner")
    response = client.get("/v1/clones", headers=owner, params={"after": 10_000})
    assert_problem(response, 503, "clones:projection-lagging")
    assert response.headers["Retry-After"] == "1"


# --- drafts refused -------------------------------------------------------------------


def test_an_invalid_graph_answers_422_listing_every_node_error(client: TestClient) -> None:
    owner = user(client, "owner")
    clone_id = created(client, owner)
    graph = ema_crossover()
    graph["nodes"][0]["params"]["asset"] = "DOGE"
    graph["nodes"][5]["params"]["leverage"] = 0
    graph["nodes"][1]["params"]["colour"] = "red"
    body = assert_problem(
        client.put(f"/v1/clones/{clone_id}/draft", headers=owner, json={"graph": graph}),
        422,
        "clones:graph-invalid",
    )
    assert {(e["node"], e["code"]) for e in body["errors"]} >= {
        ("fast", "unknown_param"),
        ("risk", "bad_param"),
    }
    assert "btc" in {e["node"] for e in body["errors"]}
    assert all(set(e) == {"node", "field", "code", "message"} for e in body["errors"])


def test_an_invalid_layout_answers_422(client: TestClient) -> None:
    owner = user(client, "owner")
    clone_id = drafted(client, owner)
    assert_problem(
        client.put(f"/v1/clones/{clone_id}/layout", headers=owner, json={"layout": {"x": []}}),
        422,
        "clones:layout-invalid",
    )


def test_a_graph_beyond_every_tier_is_refused_with_its_violations(
    database_url: str, clock: SimulatedClock
) -> None:
    slow_only = [{**DEFAULT_TIERS[0].to_document(), "min_cadence": "1h"}]
    built = bootstrap(api_settings(database_url, tier_table=slow_only), service_clock=clock)
    try:
        client = TestClient(create_app(built), raise_server_exceptions=False)
        owner = user(client, "owner")
        clone_id = created(client, owner)
        body = assert_problem(
            client.put(
                f"/v1/clones/{clone_id}/draft", headers=owner, json={"graph": ema_crossover()}
            ),
            422,
            "entitlement:topology-beyond-every-tier",
        )
    finally:
        built.close()
    assert body["violations"] == [{"limit": "cadence", "allowed": "1h", "actual": "5m"}]


def test_a_body_that_is_not_json_answers_422(client: TestClient) -> None:
    owner = user(client, "owner")
    clone_id = created(client, owner)
    response = client.put(
        f"/v1/clones/{clone_id}/draft",
        headers={**owner, "Content-Type": "application/json"},
        content=b"{not json",
    )
    assert_problem(response, 422, "request:validation-error")


# --- entitlement shown ----------------------------------------------------------------


def test_development_shows_the_mock_starter_grant_as_mock(client: TestClient) -> None:
    owner = user(client, "owner")
    clone = client.get(f"/v1/clones/{created(client, owner)}", headers=owner).json()
    assert clone["entitlement"] == {
        "tier": "starter",
        "source": "mock",
        "mock": True,
        "reference": None,
    }


def test_without_mock_entitlements_an_ungranted_clone_has_none(
    database_url: str, clock: SimulatedClock
) -> None:
    built = bootstrap(api_settings(database_url, mock_entitlements=False), service_clock=clock)
    try:
        client = TestClient(create_app(built), raise_server_exceptions=False)
        owner = user(client, "owner")
        clone = client.get(f"/v1/clones/{created(client, owner)}", headers=owner).json()
    finally:
        built.close()
    assert clone["entitlement"] is None


# --- profiles -------------------------------------------------------------------------


def test_public_profiles_hide_unpublished_and_retired_clones(
    client: TestClient, container: Container
) -> None:
    owner, operator = user(client, "owner"), admin(client)
    shown = published(client, owner, "Shown")
    hidden = published(client, owner, "Hidden")
    created(client, owner, "Private")
    retired = client.post(
        f"/v1/admin/clones/{hidden}/retire", headers=operator, json={"reason": "scam"}
    ).json()
    project(container)
    listed = client.get("/v1/public/clones", params={"after": retired["position"]}).json()
    assert [(c["cloneId"], c["name"]) for c in listed["data"]] == [(shown, "Shown")]
    assert client.get(f"/v1/public/clones/{shown}").json()["bio"] == "An EMA trader."
    assert_problem(client.get(f"/v1/public/clones/{hidden}"), 404, "clones:clone-not-found")
    assert client.get(f"/v1/clones/{hidden}", headers=owner).json()["status"] == "retired"


def test_an_unpublished_clone_has_no_public_profile(client: TestClient) -> None:
    clone_id = created(client, user(client, "owner"))
    assert_problem(client.get(f"/v1/public/clones/{clone_id}"), 404, "clones:clone-not-found")
    assert_problem(client.get("/v1/public/clones/not-a-uuid"), 404, "clones:clone-not-found")


def test_an_invalid_profile_names_the_field(client: TestClient) -> None:
    owner = user(client, "owner")
    clone_id = created(client, owner)
    body = assert_problem(
        client.put(
            f"/v1/clones/{clone_id}/profile",
            headers=owner,
            json={"name": "ok", "avatarUrl": "http://insecure.example/a.png"},
        ),
        422,
        "clones:invalid-profile",
    )
    assert body["field"] == "avatarUrl"


# --- access: every owner route refuses another user's clone ---------------------------

OWNER_ROUTES: list[tuple[str, str, Any]] = [
    ("GET", "", None),
    ("PUT", "/draft", {"graph": ema_crossover()}),
    ("PUT", "/layout", {"layout": LAYOUT}),
    ("POST", "/versions", None),
    ("GET", "/versions", None),
    ("GET", "/versions/1", None),
    ("PUT", "/profile", {"name": "Stolen", "bio": ""}),
]


@pytest.mark.parametrize(("method", "suffix", "body"), OWNER_ROUTES)
def test_another_users_clone_answers_404_on_every_owner_route(
    client: TestClient, method: str, suffix: str, body: Any
) -> None:
    owner, stranger = user(client, "owner"), user(client, "stranger")
    clone_id = drafted(client, owner)
    client.post(f"/v1/clones/{clone_id}/versions", headers=owner)
    url = f"/v1/clones/{clone_id}{suffix}"
    as_stranger = client.request(method, url, headers=stranger, json=body)
    as_owner = client.request(method, url, headers=owner, json=body)
    assert_problem(as_stranger, 404, "clones:clone-not-found")
    assert as_owner.status_code != 404, as_owner.text


@pytest.mark.parametrize(("method", "suffix", "body"), OWNER_ROUTES)
def test_owner_routes_need_a_signed_in_user(
    client: TestClient, method: str, suffix: str, body: Any
) -> None:
    owner = user(client, "owner")
    clone_id = created(client, owner)
    response = client.request(method, f"/v1/clones/{clone_id}{suffix}", json=body)
    assert_problem(response, 401, "auth:missing-credentials")


def test_an_admin_reads_but_cannot_write_another_users_clone(client: TestClient) -> None:
    owner, operator = user(client, "owner"), admin(client)
    clone_id = drafted(client, owner)
    assert client.get(f"/v1/clones/{clone_id}", headers=operator).status_code == 200
    assert_problem(
        client.put(f"/v1/clones/{clone_id}/profile", headers=operator, json={"name": "x"}),
        404,
        "clones:clone-not-found",
    )


# --- mass assignment: unknown fields are refused on every body ------------------------

BODIES: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/v1/clones", {"name": "A", "owner": "someone-else"}),
    ("PUT", "/v1/clones/{id}/draft", {"graph": ema_crossover(), "draftNumber": 9}),
    ("PUT", "/v1/clones/{id}/layout", {"layout": LAYOUT, "graph": {}}),
    ("PUT", "/v1/clones/{id}/profile", {"name": "A", "status": "active"}),
    ("POST", "/v1/clones/{id}/reports", {"reason": "spam", "reporter": "someone"}),
    ("POST", "/v1/admin/clones/{id}/retire", {"reason": "x", "admin": "someone"}),
    ("POST", "/v1/admin/clones/{id}/reinstate", {"reason": "x", "admin": "someone"}),
    ("POST", "/v1/admin/clones/{id}/dismiss-reports", {"reason": "x", "admin": "someone"}),
    ("POST", "/v1/admin/clones/{id}/grants", {"tier": "pro", "reason": "x", "source": "mock"}),
]


@pytest.mark.parametrize(("method", "path", "body"), BODIES)
def test_unknown_fields_are_refused(
    client: TestClient, method: str, path: str, body: dict[str, Any]
) -> None:
    operator = admin(client)
    clone_id = created(client, operator)
    response = client.request(method, path.format(id=clone_id), headers=operator, json=body)
    problem = assert_problem(response, 422, "request:validation-error")
    assert any(error["code"] == "extra_forbidden" for error in problem["errors"])


def test_the_readme_example_draft_is_accepted_as_written(client: TestClient) -> None:
    headers = user(client, "reader")
    clone_id = created(client, headers)
    body = json.loads((Path(__file__).parents[2] / "docs/examples/ema-crossover.json").read_text())
    response = client.put(f"/v1/clones/{clone_id}/draft", headers=headers, json=body)
    assert response.status_code == 200, response.text
    published_version = client.post(f"/v1/clones/{clone_id}/versions", headers=headers)
    assert published_version.status_code == 201, published_version.text
