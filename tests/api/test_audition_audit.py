"""``clash audit``'s audition reconciliation on both stores: Economy against Lifecycle.

A store built by the real flow (pay over HTTP, submit the audition over HTTP, the audition
process performing its steps, an admin voiding it, the process refunding it) audits clean,
with the auditions, voids and held attempts counted. Then each invariant is broken the way a
bug would break it, through the applications' own commands, and the audit must name exactly
that breach: a voided audition whose refund step has not run, an attempt consumed for no
run of a recorded audition, a voided-audition refund of an audition that was never voided.
Refunds of both kinds (a void, an unhonoured receipt) must never count as more than was
received. The market clock in API tests is the replay clock, so runs start in 2021.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.cli import app
from domain.economy.purchases import voided_refund_id_for
from domain.economy.withdrawals import verify_withdrawal, withdrawal_nonce_for
from domain.lifecycle.audition import AuditionState
from projections.catalog import runners
from projections.economy_audit import EconomyAuditReport, audit_economy
from tests.api.clones_kit import admin, user
from tests.api.conftest import START
from tests.api.test_economy_routes import (
    DOMAIN,
    a_quote,
    container_of,
    paid,
    quoted,
    submit,
)
from tests.conftest import schema_of
from tests.domain.economy.vault_kit import REFUND_SIGNER

NO_AUDITION = "00000000-0000-0000-0000-000000000000#run-1"


def _audit(client: TestClient) -> EconomyAuditReport:
    container = container_of(client)
    return audit_economy(container.economy, container.lifecycle)


def _kinds(report: EconomyAuditReport) -> list[tuple[str, tuple[str, ...]]]:
    return [(b.kind, b.ids) for b in report.breaches]


def _audition(
    client: TestClient,
    owner: dict[str, str],
    quote: dict[str, Any],
    *,
    nonce: int = 7,
) -> dict[str, Any]:
    """Pay ``quote`` and submit its audition over HTTP; the process runs its steps."""
    purchase = submit(client, owner, paid(quote, nonce=nonce), f"key-{nonce}")
    assert purchase.status_code == 201, purchase.text
    body = {
        "cloneId": quote["cloneId"],
        "versionId": quote["versionId"],
        "purchaseId": purchase.json()["id"],
    }
    submitted = client.post("/v1/auditions", headers=owner, json=body)
    assert submitted.status_code == 202, submitted.text
    audition_id = UUID(submitted.json()["id"])
    assert audition_id == UUID(quote["auditionId"])
    return {"id": audition_id, "purchase": purchase.json(), "quote": quote}


def _running(client: TestClient, tier: str = "starter") -> dict[str, Any]:
    """A paid audition of a fresh clone version, its run started."""
    owner = user(client, "payer")
    made = _audition(client, owner, quoted(client, owner, tier))
    audition = container_of(client).audition_process.advance(made["id"])
    assert audition.state is AuditionState.RUNNING, audition.last_error
    return {**made, "owner": owner}


def _voided(client: TestClient, tier: str = "starter") -> dict[str, Any]:
    """A running audition an admin voided over HTTP (the route runs the refund step)."""
    made = _running(client, tier)
    url = f"/v1/admin/auditions/{made['id']}/void"
    response = client.post(url, headers=admin(client), json={"reason": "bad data"})
    assert response.status_code == 200, response.text
    return {**made, "voided": response.json()}


# --- the normal flow audits clean ------------------------------------------------------------


def test_voided_and_refunded_audition_audits_clean(client: TestClient) -> None:
    # Arrange
    made = _voided(client)
    fee = made["purchase"]["amountWei"]
    # Act
    report = _audit(client)
    # Assert
    assert report.ok, report.breaches
    assert made["voided"]["state"] == "voided"
    assert made["voided"]["refundId"] == str(voided_refund_id_for(made["id"]))
    checked = report.checked
    assert (checked["auditions"], checked["voided_auditions"], checked["attempts_held"]) == (
        1,
        1,
        1,
    )
    assert (checked["purchases"], checked["refunds"]) == (1, 1)
    assert report.totals["refunds_wei"] == fee == str(10**16)
    assert report.totals["purchases_wei"] == fee


def test_running_audition_audits_clean_with_its_attempt_held(client: TestClient) -> None:
    # Arrange
    _running(client)
    # Act
    report = _audit(client)
    # Assert
    assert report.ok, report.breaches
    assert report.checked["auditions"] == 1
    assert report.checked["voided_auditions"] == 0
    assert report.checked["attempts_held"] == 1
    assert report.totals["refunds_wei"] == "0"


def test_void_refund_withdrawal_is_signed_by_the_refund_key_for_the_fee(
    client: TestClient,
) -> None:
    # Arrange
    made = _voided(client)
    # Act
    refunds = client.get("/v1/economy/refunds", headers=made["owner"]).json()["data"]
    # Assert
    assert [r["id"] for r in refunds] == [made["voided"]["refundId"]]
    refund = refunds[0]
    assert refund["reason"] == "audition_voided: bad data"
    assert refund["auditionId"] == str(made["id"])
    withdrawal = refund["withdrawal"]
    terms = verify_withdrawal(
        withdrawal["typedData"],
        withdrawal["signature"],
        domain=DOMAIN,
        refund_signer=REFUND_SIGNER,
        now=START,
    )
    assert terms.amount_wei == int(made["purchase"]["amountWei"])
    assert terms.user == made["purchase"]["payer"]
    assert terms.audition_id == str(made["id"])
    assert terms.nonce == withdrawal_nonce_for(UUID(refund["id"])) == int(withdrawal["nonce"])


def test_void_refund_revokes_the_attempts_no_run_used(client: TestClient) -> None:
    # Arrange: a builder fee grants 2 attempts; run 1 used one
    made = _running(client, "builder")
    clone_id = UUID(made["quote"]["cloneId"])
    assert container_of(client).economy.attempts(clone_id) == (2, 1)
    # Act
    url = f"/v1/admin/auditions/{made['id']}/void"
    voided = client.post(url, headers=admin(client), json={"reason": "bad data"})
    # Assert
    assert voided.status_code == 200, voided.text
    assert container_of(client).economy.attempts(clone_id) == (1, 0)
    report = _audit(client)
    assert report.ok, report.breaches
    assert report.totals["refunds_wei"] == str(3 * 10**16)


def test_abandoned_audition_gives_its_attempt_back_and_audits_clean(client: TestClient) -> None:
    # Arrange: two paid auditions of one version; the second cannot bind (already trading)
    owner = user(client, "payer")
    first_quote = quoted(client, owner)
    clone_id, version_id = first_quote["cloneId"], first_quote["versionId"]
    second_quote = a_quote(client, owner, clone_id, version_id, "starter")
    first = _audition(client, owner, first_quote, nonce=1)
    second = _audition(client, owner, second_quote, nonce=2)
    process = container_of(client).audition_process
    assert process.advance(first["id"]).state is AuditionState.RUNNING
    # Act: the failing pass abandons; the release step runs by the next pass at the latest
    process.advance(second["id"])
    abandoned = process.advance(second["id"])
    # Assert
    assert abandoned.state is AuditionState.ABANDONED
    assert abandoned.run.attempt_released
    assert container_of(client).economy.attempts(UUID(clone_id)) == (2, 1)
    report = _audit(client)
    assert report.ok, report.breaches
    assert (report.checked["auditions"], report.checked["attempts_held"]) == (2, 1)


# --- breaches a bug would make ---------------------------------------------------------------


def test_voided_audition_whose_refund_step_has_not_run_is_a_breach(client: TestClient) -> None:
    # Arrange
    made = _running(client)
    container = container_of(client)
    # Act: voided, but the process has not performed the refund step yet
    container.lifecycle.void(made["id"], reason="bad data", voided_by="admin")
    report = _audit(client)
    # Assert
    assert _kinds(report) == [("voided_audition_refunds", (str(made["id"]),))]
    assert "pending" in report.breaches[0].detail
    assert report.checked["voided_auditions"] == 1
    assert report.totals["refunds_wei"] == "0"
    # The refund step runs: the books agree again.
    refunded = container.audition_process.advance(made["id"])
    assert refunded.refund_id == voided_refund_id_for(made["id"])
    assert _audit(client).ok


def test_refund_of_an_audition_never_voided_is_a_breach(client: TestClient) -> None:
    # Arrange
    made = _running(client)
    economy = container_of(client).economy
    # Act: Economy refunds a running audition as if it had been voided
    refund = economy.refund_voided_audition(UUID(made["purchase"]["id"]), reason="bug")
    report = _audit(client)
    # Assert
    assert refund.id == voided_refund_id_for(made["id"])
    assert _kinds(report) == [("voided_audition_refunds", (str(refund.id),))]
    assert "never voided" in report.breaches[0].detail


@pytest.mark.parametrize("run", ["no audition", "a run never started"])
def test_attempt_consumed_for_no_run_of_a_recorded_audition_is_a_breach(
    client: TestClient, run: str
) -> None:
    # Arrange: a builder fee leaves a spare attempt after run 1 took one
    made = _running(client, "builder")
    key = NO_AUDITION if run == "no audition" else f"{made['id']}#run-2"
    economy = container_of(client).economy
    # Act
    remaining = economy.consume_attempt(UUID(made["quote"]["cloneId"]), key)
    report = _audit(client)
    # Assert
    assert remaining == 0
    assert _kinds(report) == [("attempt_audition", (key,))]
    assert report.checked["attempts_held"] == 2


def test_released_stray_attempt_is_no_longer_a_breach(client: TestClient) -> None:
    # Arrange
    made = _running(client, "builder")
    clone_id = UUID(made["quote"]["cloneId"])
    economy = container_of(client).economy
    economy.consume_attempt(clone_id, NO_AUDITION)
    assert _kinds(_audit(client)) == [("attempt_audition", (NO_AUDITION,))]
    # Act
    economy.release_attempt(clone_id, NO_AUDITION)
    report = _audit(client)
    # Assert
    assert report.ok, report.breaches
    assert report.checked["attempts_held"] == 1


def test_an_attempt_spent_again_after_the_audition_released_it_is_a_breach(
    client: TestClient,
) -> None:
    # Arrange: the second audition of one version is abandoned and its attempt released
    owner = user(client, "payer")
    first_quote = quoted(client, owner)
    clone_id, version_id = first_quote["cloneId"], first_quote["versionId"]
    second_quote = a_quote(client, owner, clone_id, version_id, "starter")
    first = _audition(client, owner, first_quote, nonce=1)
    second = _audition(client, owner, second_quote, nonce=2)
    process = container_of(client).audition_process
    process.advance(first["id"])
    assert process.advance(second["id"]).run.attempt_released
    key = f"{second['id']}#run-1"
    # Act: a bug spends the released run's attempt again
    container_of(client).economy.consume_attempt(UUID(clone_id), key)
    report = _audit(client)
    # Assert
    assert _kinds(report) == [("attempt_audition", (key,))]
    assert "release" in report.breaches[0].detail


# --- refunds of both kinds stay within what was received -------------------------------------


def test_void_refund_and_an_unhonoured_receipt_refund_on_another_quote_audit_clean(
    client: TestClient,
) -> None:
    # Arrange
    made = _voided(client, "builder")
    owner = made["owner"]
    other = quoted(client, owner)
    late = paid(other, nonce=8, deadline=START - timedelta(seconds=1))
    refunded = submit(client, owner, late, "key-late")
    assert refunded.status_code == 202, refunded.text
    # Act
    report = _audit(client)
    # Assert
    assert report.ok, report.breaches
    assert "refund_within_received" not in {b.kind for b in report.breaches}
    assert report.checked["refunds"] == 2
    assert report.checked["voided_auditions"] == 1
    assert report.totals["purchases_wei"] == str(3 * 10**16)
    assert report.totals["refunds_wei"] == str(3 * 10**16 + 10**16)


def test_void_refund_and_a_second_receipt_for_the_same_quote_audit_clean(
    client: TestClient,
) -> None:
    # Arrange: the payer paid the audition's quote twice; both payments come back
    made = _voided(client)
    again = submit(client, made["owner"], paid(made["quote"], nonce=8), "key-again")
    assert again.status_code == 202, again.text
    assert (again.json()["reason"], again.json()["auditionId"]) == ("quote_used", str(made["id"]))
    # Act
    report = _audit(client)
    # Assert
    assert report.ok, report.breaches
    assert report.checked["refunds"] == 2
    assert report.totals["refunds_wei"] == str(2 * 10**16)


# --- the CLI ---------------------------------------------------------------------------------


def test_cli_audit_json_counts_the_voided_audition_and_exits_zero(
    client: TestClient, database_url: str
) -> None:
    # Arrange: the prop half of the audit compares the run's account with its read model
    _voided(client)
    for runner in runners(container_of(client)):
        runner.catch_up()
    env = {
        "CLASH_DATABASE_URL": database_url.split("?", maxsplit=1)[0],
        "CLASH_POSTGRES_SCHEMA": schema_of(database_url),
        "CLASH_LOG_LEVEL": "WARNING",
    }
    # Act
    result = CliRunner().invoke(app, ["audit", "--json"], env=env)
    # Assert
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert (body["ok"], body["accounts"], body["findings"]) == (True, 1, [])
    economy = body["economy"]
    assert (economy["ok"], economy["breaches"]) == (True, [])
    assert economy["checked"]["voided_auditions"] == 1
    assert economy["checked"]["auditions"] == 1
    assert economy["totals"]["refunds_wei"] == str(10**16)


def test_cli_audit_exits_one_on_a_pending_void_refund(
    client: TestClient, database_url: str
) -> None:
    # Arrange
    made = _running(client)
    container = container_of(client)
    container.lifecycle.void(made["id"], reason="bad data", voided_by="admin")
    for runner in runners(container):
        runner.catch_up()
    env = {
        "CLASH_DATABASE_URL": database_url.split("?", maxsplit=1)[0],
        "CLASH_POSTGRES_SCHEMA": schema_of(database_url),
        "CLASH_LOG_LEVEL": "WARNING",
    }
    # Act
    result = CliRunner().invoke(app, ["audit", "--json"], env=env)
    # Assert
    assert result.exit_code == 1, result.output
    body = json.loads(result.output)
    assert body["findings"] == []  # the prop books agree: the economy alone fails the audit
    economy = body["economy"]
    assert [(b["kind"], b["ids"]) for b in economy["breaches"]] == [
        ("voided_audition_refunds", [str(made["id"])])
    ]
