"""Reports, the moderation queue, retire/reinstate/dismiss and operator tier grants over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from adapters.bootstrap import Container, bootstrap
from api.app import create_app
from domain.clock import SimulatedClock
from tests.api.clones_kit import admin, created, project, published, user
from tests.api.conftest import api_settings, assert_problem


@pytest.fixture
def container(database_url: str, clock: SimulatedClock) -> Iterator[Container]:
    built = bootstrap(api_settings(database_url), service_clock=clock)
    yield built
    built.close()


@pytest.fixture
def client(container: Container) -> TestClient:
    return TestClient(create_app(container), raise_server_exceptions=False)


def _report(client: TestClient, clone_id: str, headers: dict[str, str], reason: str = "spam"):
    return client.post(
        f"/v1/clones/{clone_id}/reports",
        headers=headers,
        json={"reason": reason, "detail": "promotes a scam"},
    )


def _queue(client: TestClient, container: Container, headers: dict[str, str]) -> list[dict]:
    project(container)
    response = client.get("/v1/admin/moderation/queue", headers=headers)
    assert response.status_code == 200, response.text
    data: list[dict] = response.json()["data"]
    return data


# --- reports --------------------------------------------------------------------------


def test_a_repeated_report_answers_the_same_and_is_recorded_once(
    client: TestClient, container: Container
) -> None:
    owner, reporter, operator = user(client, "owner"), user(client, "reporter"), admin(client)
    clone_id = published(client, owner)
    first, second = _report(client, clone_id, reporter), _report(client, clone_id, reporter)
    queue = _queue(client, container, operator)
    assert (first.status_code, second.status_code) == (202, 202)
    assert first.json() == second.json() == {"cloneId": clone_id, "status": "received"}
    assert [(q["cloneId"], q["reportCount"], q["reportsTotal"]) for q in queue] == [
        (clone_id, 1, 1)
    ]


def test_the_queue_counts_reporters_and_lists_reasons_newest_first(
    client: TestClient, container: Container, clock: SimulatedClock
) -> None:
    owner, operator = user(client, "owner"), admin(client)
    clone_id = published(client, owner)
    _report(client, clone_id, user(client, "r1"), "spam")
    clock.advance(timedelta(minutes=2))
    _report(client, clone_id, user(client, "r2"), "scam")
    [entry] = _queue(client, container, operator)
    assert (entry["reportCount"], entry["reasons"]) == (2, ["scam", "spam"])
    assert entry["profile"]["name"] == "Alpha"
    assert [r["reason"] for r in entry["latestReports"]] == ["scam", "spam"]
    assert entry["firstReportedAt"] < entry["lastReportedAt"]


def test_owners_cannot_report_their_own_clone(client: TestClient) -> None:
    owner = user(client, "owner")
    clone_id = published(client, owner)
    assert_problem(_report(client, clone_id, owner), 422, "clones:own-clone-report")


def test_a_clone_without_a_public_profile_cannot_be_reported(client: TestClient) -> None:
    clone_id = created(client, user(client, "owner"))
    assert_problem(_report(client, clone_id, user(client, "r1")), 404, "clones:clone-not-found")


def test_an_unknown_report_reason_is_a_validation_error(client: TestClient) -> None:
    clone_id = published(client, user(client, "owner"))
    assert_problem(
        _report(client, clone_id, user(client, "r1"), "boring"), 422, "request:validation-error"
    )


def test_reporting_needs_a_signed_in_user(client: TestClient) -> None:
    clone_id = published(client, user(client, "owner"))
    response = client.post(f"/v1/clones/{clone_id}/reports", json={"reason": "spam"})
    assert_problem(response, 401, "auth:missing-credentials")


# --- moderation -----------------------------------------------------------------------


def test_retire_empties_the_queue_hides_the_clone_and_reinstate_restores_it(
    client: TestClient, container: Container
) -> None:
    owner, operator = user(client, "owner"), admin(client)
    clone_id = published(client, owner)
    _report(client, clone_id, user(client, "r1"))
    retired = client.post(
        f"/v1/admin/clones/{clone_id}/retire", headers=operator, json={"reason": "scam"}
    )
    twice = client.post(
        f"/v1/admin/clones/{clone_id}/retire", headers=operator, json={"reason": "again"}
    )
    queue_after = _queue(client, container, operator)
    hidden = client.get(f"/v1/public/clones/{clone_id}")
    reinstated = client.post(
        f"/v1/admin/clones/{clone_id}/reinstate", headers=operator, json={"reason": "appeal"}
    )
    assert retired.json()["status"] == "retired"
    assert_problem(twice, 409, "clones:already-retired")
    assert queue_after == []
    assert hidden.status_code == 404
    assert reinstated.json()["status"] == "active"
    assert client.get(f"/v1/public/clones/{clone_id}").status_code == 200


def test_dismissing_reports_empties_the_queue_and_keeps_the_clone_public(
    client: TestClient, container: Container
) -> None:
    owner, operator = user(client, "owner"), admin(client)
    clone_id = published(client, owner)
    _report(client, clone_id, user(client, "r1"))
    dismissed = client.post(
        f"/v1/admin/clones/{clone_id}/dismiss-reports", headers=operator, json={"reason": "ok"}
    )
    nothing_left = client.post(
        f"/v1/admin/clones/{clone_id}/dismiss-reports", headers=operator, json={"reason": "ok"}
    )
    assert (dismissed.status_code, dismissed.json()["openReports"]) == (200, 0)
    assert_problem(nothing_left, 409, "clones:no-open-reports")
    assert _queue(client, container, operator) == []
    assert client.get(f"/v1/public/clones/{clone_id}").status_code == 200


def test_reinstating_a_clone_that_is_not_retired_is_409(client: TestClient) -> None:
    operator = admin(client)
    clone_id = published(client, user(client, "owner"))
    assert_problem(
        client.post(
            f"/v1/admin/clones/{clone_id}/reinstate", headers=operator, json={"reason": "x"}
        ),
        409,
        "clones:not-retired",
    )


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/admin/moderation/queue"),
        ("POST", "/v1/admin/clones/{id}/retire"),
        ("POST", "/v1/admin/clones/{id}/reinstate"),
        ("POST", "/v1/admin/clones/{id}/dismiss-reports"),
        ("POST", "/v1/admin/clones/{id}/grants"),
    ],
)
def test_admin_routes_refuse_plain_users(client: TestClient, method: str, path: str) -> None:
    owner = user(client, "owner")
    clone_id = published(client, owner)
    body = {"reason": "x", "tier": "pro"} if path.endswith("grants") else {"reason": "x"}
    response = client.request(
        method, path.format(id=clone_id), headers=owner, json=None if method == "GET" else body
    )
    assert_problem(response, 403, "auth:admin-required")


def test_moderating_an_unknown_clone_is_404(client: TestClient) -> None:
    operator = admin(client)
    assert_problem(
        client.post(
            "/v1/admin/clones/00000000-0000-0000-0000-000000000000/retire",
            headers=operator,
            json={"reason": "x"},
        ),
        404,
        "clones:clone-not-found",
    )


# --- grants ---------------------------------------------------------------------------


def test_an_admin_grant_becomes_the_clones_entitlement(client: TestClient) -> None:
    owner, operator = user(client, "owner"), admin(client)
    clone_id = created(client, owner)
    body = {"tier": "builder", "reason": "support ticket", "reference": "ticket-7"}
    granted = client.post(f"/v1/admin/clones/{clone_id}/grants", headers=operator, json=body)
    repeated = client.post(f"/v1/admin/clones/{clone_id}/grants", headers=operator, json=body)
    shown = client.get(f"/v1/clones/{clone_id}", headers=owner).json()["entitlement"]
    expected = {"tier": "builder", "source": "admin", "mock": False, "reference": "ticket-7"}
    assert (granted.status_code, granted.json()["entitlement"]) == (201, expected)
    assert repeated.json() == granted.json()
    assert shown == expected


def test_a_grant_of_an_unknown_tier_is_422(client: TestClient) -> None:
    operator = admin(client)
    clone_id = created(client, user(client, "owner"))
    response = client.post(
        f"/v1/admin/clones/{clone_id}/grants",
        headers=operator,
        json={"tier": "platinum", "reason": "x"},
    )
    assert_problem(response, 422, "economy:unknown-tier")


def test_a_reference_reused_for_another_tier_is_409(client: TestClient) -> None:
    operator = admin(client)
    clone_id = created(client, user(client, "owner"))
    url = f"/v1/admin/clones/{clone_id}/grants"
    client.post(url, headers=operator, json={"tier": "builder", "reason": "x", "reference": "r"})
    response = client.post(
        url, headers=operator, json={"tier": "pro", "reason": "x", "reference": "r"}
    )
    assert_problem(response, 409, "economy:grant-reference-conflict")


def test_a_grant_for_an_unknown_clone_is_404(client: TestClient) -> None:
    response = client.post(
        "/v1/admin/clones/00000000-0000-0000-0000-000000000000/grants",
        headers=admin(client),
        json={"tier": "pro", "reason": "x"},
    )
    assert_problem(response, 404, "clones:clone-not-found")
