"""``clash audit``'s economy reconciliation on both stores: a store built by the real API
audits clean; events the normal flow never writes, saved through the economy application,
are reported as exactly the breach they make."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.cli import app
from domain.clock import SimulatedClock
from domain.economy.grants import GrantSource
from domain.economy.purchases import Refund
from domain.economy.typed_data import epoch_seconds
from domain.economy.withdrawals import sign_withdrawal, withdrawal_nonce_for
from projections.economy_audit import Breach, audit_economy
from tests.api.clones_kit import user
from tests.api.conftest import START
from tests.api.test_economy_routes import DOMAIN, a_version, container_of, paid, quoted, submit
from tests.conftest import cli_env
from tests.domain.economy.vault_kit import REFUND_KEY


def _trade(client: TestClient) -> dict[str, Any]:
    """Two purchases and two refunds (expired receipt, wrong amount) through the API."""
    owner = user(client, "payer")
    builder = submit(client, owner, paid(quoted(client, owner, "builder"), nonce=1), "k1")
    starter = submit(client, owner, paid(quoted(client, owner), nonce=2), "k2")
    expired = paid(quoted(client, owner), nonce=3, deadline=START - timedelta(seconds=1))
    late = submit(client, owner, expired, "k3")
    short = submit(client, owner, paid(quoted(client, owner), nonce=4, amount_wei=5), "k4")
    assert [r.status_code for r in (builder, starter, late, short)] == [201, 201, 202, 202]
    return {
        "owner": owner,
        "purchases": [builder.json(), starter.json()],
        "refunds": [late.json(), short.json()],
    }


def test_purchases_and_refunds_made_through_the_api_audit_clean(
    client: TestClient, clock: SimulatedClock
) -> None:
    made = _trade(client)
    clock.advance(timedelta(days=2))  # reading the refunds re-signs their withdrawals
    listed = client.get("/v1/economy/refunds", headers=user(client, "payer")).json()["data"]
    assert all(
        r["withdrawal"]["deadline"] > made["refunds"][0]["withdrawal"]["deadline"] for r in listed
    )
    report = audit_economy(container_of(client).economy)
    assert report.ok, report.breaches
    assert report.checked["purchases"] == 2
    assert report.checked["refunds"] == 2
    assert report.checked["receipt_nonces"] == 4
    assert report.checked["fee_grants"] == 2
    assert report.checked["attempts_grants"] == 2
    assert report.checked["withdrawal_signatures"] == 4  # opened and re-signed, twice
    assert report.totals["purchases_wei"] == str(3 * 10**16 + 10**16)
    assert report.totals["fees_wei"] == report.totals["purchases_wei"]
    assert report.totals["refunds_wei"] == str(10**16 + 5)


def test_a_second_grant_referencing_a_purchase_is_a_breach(
    client: TestClient, database_url: str
) -> None:
    made = _trade(client)
    purchase_id = made["purchases"][0]["id"]
    other_clone, _ = a_version(client, made["owner"])
    economy = container_of(client).economy
    economy.grant_tier(
        UUID(other_clone),
        "starter",
        source=GrantSource.AUDITION_FEE,
        reference=purchase_id,
        reason="a grant the purchase flow never makes",
        granted_by="test",
    )
    report = audit_economy(economy)
    assert [(b.kind, b.ids[0]) for b in report.breaches] == [("purchase_tier_grants", purchase_id)]
    assert "2 audition_fee tier grants" in report.breaches[0].detail
    # The CLI reports it in its JSON and exits non-zero; the prop part is unchanged.
    env = cli_env(database_url)
    result = CliRunner().invoke(app, ["audit", "--json"], env=env)
    assert result.exit_code == 1, result.output
    body = json.loads(result.output)
    assert (body["accounts"], body["findings"], body["ok"]) == (0, [], False)
    assert body["economy"]["ok"] is False
    assert [b["kind"] for b in body["economy"]["breaches"]] == ["purchase_tier_grants"]
    assert body["economy"]["checked"]["purchases"] == 2


def test_the_cli_exits_zero_on_a_clean_economy(client: TestClient, database_url: str) -> None:
    _trade(client)
    env = cli_env(database_url)
    result = CliRunner().invoke(app, ["audit"], env=env)
    assert result.exit_code == 0, result.output
    assert "0 breaches" in result.output


def test_a_withdrawal_resigned_on_another_nonce_is_a_breach(client: TestClient) -> None:
    made = _trade(client)
    refund_id = UUID(made["refunds"][0]["id"])
    economy = container_of(client).economy
    refund = economy.repository.get(refund_id)
    assert isinstance(refund, Refund)
    deadline = economy.clock.now() + timedelta(days=1)
    wrong = sign_withdrawal(
        domain=DOMAIN,
        private_key=REFUND_KEY,
        user=refund.payer,
        amount_wei=refund.amount_wei,
        audition_id=refund.audition_id,
        nonce=withdrawal_nonce_for(uuid4()),  # a new nonce: both signatures could pay out
        deadline=deadline,
    )
    with economy.clocked():
        refund.resign(epoch_seconds(deadline), wrong.signature)
        economy.save(refund)
    report = audit_economy(economy)
    assert [(b.kind, b.ids) for b in report.breaches] == [("withdrawal_nonce", (str(refund_id),))]


def test_a_refund_above_the_money_received_is_a_breach(client: TestClient) -> None:
    made = _trade(client)
    purchase = made["purchases"][1]
    economy = container_of(client).economy
    refund_id = uuid4()
    amount = int(purchase["amountWei"]) + 1
    deadline = economy.clock.now() + timedelta(days=1)
    signed = sign_withdrawal(
        domain=DOMAIN,
        private_key=REFUND_KEY,
        user=purchase["payer"],
        amount_wei=amount,
        audition_id=purchase["auditionId"],
        nonce=withdrawal_nonce_for(refund_id),
        deadline=deadline,
    )
    with economy.clocked():
        over = Refund.open(
            refund_id,
            user_id="test",
            quote_id=UUID(purchase["quoteId"]),
            clone_id=UUID(purchase["cloneId"]),
            audition_id=purchase["auditionId"],
            amount_wei=str(amount),
            payer=purchase["payer"],
            receipt_nonce="2",  # the purchase's receipt
            reason="over-refund the normal flow never writes",
            deadline=epoch_seconds(deadline),
            signature=signed.signature,
        )
        economy.save(over)
    report = audit_economy(economy)
    ids = {purchase["id"], str(refund_id)}
    assert {(b.kind, frozenset(b.ids)) for b in report.breaches} == {
        ("receipt_nonces_unique", frozenset(ids)),  # today a receipt pays one record only
        ("refund_within_received", frozenset(ids)),
    }
    assert all(isinstance(b, Breach) for b in report.breaches)
