"""The audition routes' contract on both stores: ownership, mismatches, repeats, lists, errors.

The verdicts themselves run in ``tests/workers/test_auditions.py``; here the process is
stepped directly (``audition_process.advance``) where a route needs a started run.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote
from uuid import UUID

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.clones_kit import admin, user
from tests.api.conftest import assert_problem
from tests.api.test_economy_routes import a_quote, a_version, container_of, paid, submit


def purchased(client: TestClient, owner: dict[str, str], nonce: int = 7) -> dict[str, Any]:
    """A published version and a purchase paying its starter audition."""
    clone_id, version_id = a_version(client, owner)
    quote = a_quote(client, owner, clone_id, version_id, "starter")
    response = submit(client, owner, paid(quote, nonce=nonce), key=f"k-{nonce}")
    assert response.status_code == 201, response.text
    return {"cloneId": clone_id, "versionId": version_id, "purchaseId": response.json()["id"]}


def test_a_submission_takes_the_audition_id_its_quote_reserved(client: TestClient) -> None:
    owner = user(client, "owner")
    body = purchased(client, owner)

    first = client.post("/v1/auditions", headers=owner, json=body)
    again = client.post("/v1/auditions", headers=owner, json=body)

    assert first.status_code == 202, first.text
    purchases = client.get("/v1/economy/purchases", headers=owner).json()["data"]
    assert first.json()["id"] == purchases[0]["auditionId"]
    assert (first.json()["state"], first.json()["step"], first.json()["run"]) == (
        "starting",
        "attempt",
        1,
    )
    assert first.json()["rules"]["startingCollateral"] == "10000"
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]


def test_auditions_are_the_owners_only(client: TestClient) -> None:
    owner, other = user(client, "owner"), user(client, "mallory")
    body = purchased(client, owner)
    audition_id = client.post("/v1/auditions", headers=owner, json=body).json()["id"]

    assert_problem(
        client.post("/v1/auditions", headers=other, json=body), 404, "clones:clone-not-found"
    )
    url = f"/v1/auditions/{audition_id}"
    assert_problem(client.get(url, headers=other), 404, "lifecycle:audition-not-found")
    assert_problem(client.post(f"{url}/retry", headers=other), 404, "lifecycle:audition-not-found")
    assert client.get("/v1/auditions", headers=other).json()["data"] == []
    mine = client.get("/v1/auditions", headers=owner).json()["data"]
    assert [a["id"] for a in mine] == [audition_id]
    for bad in ("nope", "00000000-0000-0000-0000-000000000000"):
        found = client.get(f"/v1/auditions/{bad}", headers=owner)
        assert_problem(found, 404, "lifecycle:audition-not-found")


def test_a_purchase_pays_for_its_own_clone_version_only(client: TestClient) -> None:
    owner, other = user(client, "owner"), user(client, "mallory")
    body = purchased(client, owner)
    other_clone, other_version = a_version(client, owner)
    foreign = purchased(client, other, nonce=8)

    mismatch = {**body, "cloneId": other_clone, "versionId": other_version}
    not_mine = {**body, "purchaseId": foreign["purchaseId"]}
    malformed = {**body, "purchaseId": "x"}

    found = client.post("/v1/auditions", headers=owner, json=mismatch)
    assert_problem(found, 422, "lifecycle:audition-purchase-mismatch")
    found = client.post("/v1/auditions", headers=owner, json=not_mine)
    assert_problem(found, 404, "economy:purchase-not-found")
    found = client.post("/v1/auditions", headers=owner, json=malformed)
    assert_problem(found, 404, "economy:purchase-not-found")
    assert client.get("/v1/auditions", headers=owner).json()["data"] == []


def test_the_process_starts_a_run_that_only_a_failure_can_retry(client: TestClient) -> None:
    owner = user(client, "owner")
    body = purchased(client, owner)
    audition_id = client.post("/v1/auditions", headers=owner, json=body).json()["id"]
    container = container_of(client)

    container.audition_process.advance(UUID(audition_id))

    running = client.get(f"/v1/auditions/{audition_id}", headers=owner).json()
    assert (running["state"], running["step"], running["lastError"]) == ("running", None, None)
    account = container.prop.account(UUID(running["accountId"]))
    assert (account.purpose, account.collateral) == ("audition", 10_000)
    binding = container.trading.binding(account.id)
    assert binding is not None
    assert binding.active
    assert binding.version_id == UUID(body["versionId"])
    attempts = client.get(f"/v1/economy/clones/{body['cloneId']}/attempts", headers=owner)
    assert attempts.json()["remaining"] == 0
    retried = client.post(f"/v1/auditions/{audition_id}/retry", headers=owner)
    assert_problem(retried, 409, "lifecycle:audition-conflict")
    listed = client.get("/v1/auditions", headers=owner).json()["data"][0]
    assert (listed["state"], listed["accountId"]) == ("running", running["accountId"])


def test_void_is_for_admins_and_needs_a_reason(client: TestClient) -> None:
    owner = user(client, "owner")
    body = purchased(client, owner)
    audition_id = client.post("/v1/auditions", headers=owner, json=body).json()["id"]
    url = f"/v1/admin/auditions/{audition_id}/void"

    assert_problem(client.post(url, headers=owner, json={"reason": "mine"}), 403, "")
    found = client.post(url, headers=admin(client), json={"reason": ""})
    assert_problem(found, 422, "validation-error")
    unknown = "/v1/admin/auditions/00000000-0000-0000-0000-000000000000/void"
    found = client.post(unknown, headers=admin(client), json={"reason": "gone"})
    assert_problem(found, 404, "lifecycle:audition-not-found")
    voided = client.post(url, headers=admin(client), json={"reason": "operator error"})
    assert voided.status_code == 200, voided.text
    assert (voided.json()["state"], voided.json()["step"]) == ("voided", None)
    refunds = client.get("/v1/economy/refunds", headers=owner).json()["data"]
    assert [r["id"] for r in refunds] == [voided.json()["refundId"]]


def test_a_retry_spends_only_the_attempts_its_own_purchase_paid_for(client: TestClient) -> None:
    owner = user(client, "owner")
    body = purchased(client, owner)
    second = a_quote(client, owner, body["cloneId"], body["versionId"], "starter")
    assert submit(client, owner, paid(second, nonce=9), key="k-9").status_code == 201
    audition_id = UUID(client.post("/v1/auditions", headers=owner, json=body).json()["id"])
    container = container_of(client)
    container.audition_process.advance(audition_id)
    started = container.lifecycle.audition(audition_id).run.started_at
    assert started is not None
    container.lifecycle.record_outcome(
        audition_id, 1, passed=False, at=started, rule="daily_loss", equity="1", limit="2"
    )
    container.audition_process.advance(audition_id)  # closes the failed run

    retried = client.post(f"/v1/auditions/{audition_id}/retry", headers=owner)

    assert_problem(retried, 409, "lifecycle:audition-retries-used")
    attempts = client.get(f"/v1/economy/clones/{body['cloneId']}/attempts", headers=owner)
    assert attempts.json() == {"cloneId": body["cloneId"], "granted": 2, "remaining": 1}


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(clone=st.text(max_size=80), version=st.text(max_size=80), purchase=st.text(max_size=80))
def test_arbitrary_submissions_are_client_problems(
    client: TestClient, clone: str, version: str, purchase: str
) -> None:
    owner = user(client, "fuzz")
    body = {"cloneId": clone, "versionId": version, "purchaseId": purchase}
    response = client.post("/v1/auditions", headers=owner, json=body)
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    found = client.get(f"/v1/auditions/{quote(purchase, safe='') or 'x'}", headers=owner)
    assert 400 <= found.status_code < 500, found.text
