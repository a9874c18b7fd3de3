"""Audition fees over HTTP on both stores: quote, submit (purchase, refund, rejections),
idempotency keys, nonce replays, 50 concurrent submissions, purchases and refunds lists."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from adapters.bootstrap import Container
from domain.clock import SimulatedClock
from domain.economy.purchases import audition_id_for
from domain.economy.typed_data import VaultDomain, address_of_key
from domain.economy.withdrawals import sign_withdrawal, verify_withdrawal
from tests.api.clones_kit import admin, drafted, user
from tests.api.conftest import START, assert_problem
from tests.domain.economy.vault_kit import (
    CONTRACT,
    OTHER_CONTRACT,
    OTHER_KEY,
    REFUND_KEY,
    REFUND_SIGNER,
    VAULT_KEY,
    a_fee_receipt,
    edited,
    sign,
)
from tests.kit import a_wallet

DOMAIN = VaultDomain(84532, CONTRACT)  # the development deployment of the settings
SUBMIT = "/v1/economy/audition-fee/submit"


def container_of(client: TestClient) -> Container:
    found: Container = client.app.state.container  # type: ignore[attr-defined]
    return found


def a_version(client: TestClient, headers: dict[str, str]) -> tuple[str, str]:
    """A drafted clone with one published version: ``(clone_id, version_id)``."""
    clone_id = drafted(client, headers)
    response = client.post(f"/v1/clones/{clone_id}/versions", headers=headers)
    assert response.status_code == 201, response.text
    return clone_id, response.json()["versionId"]


def quoted(client: TestClient, headers: dict[str, str], tier: str = "starter") -> dict[str, Any]:
    clone_id, version_id = a_version(client, headers)
    return a_quote(client, headers, clone_id, version_id, tier)


def a_quote(
    client: TestClient, headers: dict[str, str], clone_id: str, version_id: str, tier: str
) -> dict[str, Any]:
    body = {"cloneId": clone_id, "versionId": version_id, "tier": tier}
    response = client.post("/v1/economy/audition-fee/quote", headers=headers, json=body)
    assert response.status_code == 201, response.text
    found: dict[str, Any] = response.json()
    return found


def paid(
    quote: dict[str, Any],
    *,
    nonce: int = 7,
    deadline: datetime | None = None,
    key: str = VAULT_KEY,
    domain: VaultDomain = DOMAIN,
    **changes: Any,
) -> dict[str, Any]:
    """The body of a submission: the vault's receipt for ``quote`` (fields overridable)."""
    values: dict[str, Any] = {
        "payer": quote["payer"],
        "amount_wei": int(quote["amountWei"]),
        "audition_id": quote["auditionId"],
        "nonce": nonce,
        "deadline": deadline or START + timedelta(minutes=10),
        **changes,
    }
    document = a_fee_receipt(domain=domain, **values)
    return {"quoteId": quote["id"], "typedData": document, "signature": sign(document, key)}


def submit(
    client: TestClient, headers: dict[str, str], body: dict[str, Any], key: str = "key-1"
) -> Any:
    return client.post(SUBMIT, headers={**headers, "Idempotency-Key": key}, json=body)


# --- quotes ----------------------------------------------------------------------------------


def test_a_quote_reserves_an_audition_and_carries_the_receipt_to_sign(client: TestClient) -> None:
    owner = user(client, "payer")
    quote = quoted(client, owner, "builder")
    assert quote["auditionId"] == str(audition_id_for(UUID(quote["id"])))
    assert (quote["amountWei"], quote["chainId"], quote["vault"]) == (
        str(3 * 10**16),
        84532,
        CONTRACT,
    )
    assert quote["payer"] == a_wallet("payer").address
    assert quote["expiresAt"].startswith("2026-12-01T12:15:00")
    document = quote["typedData"]
    assert document["primaryType"] == "AuditionFeeReceipt"
    assert document["domain"]["verifyingContract"] == CONTRACT
    assert document["message"]["auditionId"] == quote["auditionId"]
    assert document["message"]["amountWei"] == quote["amountWei"]
    assert quote["vaultFills"] == ["nonce", "deadline"]


def test_quotes_are_for_the_owners_eligible_clones_and_known_tiers(client: TestClient) -> None:
    owner, other = user(client, "payer"), user(client, "mallory")
    clone_id, version_id = a_version(client, owner)
    body = {"cloneId": clone_id, "versionId": version_id, "tier": "starter"}
    url = "/v1/economy/audition-fee/quote"
    assert_problem(client.post(url, headers=other, json=body), 404, "clones:clone-not-found")
    unknown = {**body, "tier": "diamond"}
    assert_problem(client.post(url, headers=owner, json=unknown), 422, "economy:unknown-tier")
    other_clone, other_version = a_version(client, other)
    foreign_version = {**body, "versionId": other_version}
    found = client.post(url, headers=owner, json=foreign_version)
    assert_problem(found, 404, "clones:version-not-found")
    malformed = {**body, "versionId": "nope"}
    assert_problem(client.post(url, headers=owner, json=malformed), 404, "clones:version-not-found")
    retired = client.post(
        f"/v1/admin/clones/{clone_id}/retire", headers=admin(client), json={"reason": "spam"}
    )
    assert retired.status_code == 200, retired.text
    assert_problem(client.post(url, headers=owner, json=body), 409, "clones:clone-retired")
    assert other_clone


# --- honoured receipts -----------------------------------------------------------------------


def test_an_honoured_receipt_grants_the_tier_and_the_attempts(client: TestClient) -> None:
    owner = user(client, "payer")
    quote = quoted(client, owner, "builder")
    response = submit(client, owner, paid(quote))
    assert response.status_code == 201, response.text
    purchase = response.json()
    assert (purchase["kind"], purchase["tier"], purchase["attempts"]) == ("purchase", "builder", 2)
    assert purchase["auditionId"] == quote["auditionId"]
    assert "Idempotent-Replayed" not in response.headers
    container = container_of(client)
    clone_id = UUID(quote["cloneId"])
    grant = container.economy.effective_tier(clone_id)
    assert grant is not None
    assert (grant.tier, grant.source, grant.reference) == (
        "builder",
        "audition_fee",
        purchase["id"],
    )
    attempts = client.get(f"/v1/economy/clones/{clone_id}/attempts", headers=owner).json()
    assert (attempts["granted"], attempts["remaining"]) == (2, 2)
    listed = client.get("/v1/economy/purchases", headers=owner).json()
    assert [p["id"] for p in listed["data"]] == [purchase["id"]]
    assert client.get("/v1/economy/purchases", headers=user(client, "x")).json()["data"] == []
    other = client.get(f"/v1/economy/clones/{clone_id}/attempts", headers=user(client, "x"))
    assert_problem(other, 404, "clones:clone-not-found")
    # Lifecycle's API: consume an attempt once per audition, release it on abandon.
    assert container.economy.consume_attempt(clone_id, quote["auditionId"]) == 1
    assert container.economy.consume_attempt(clone_id, quote["auditionId"]) == 1
    assert container.economy.release_attempt(clone_id, quote["auditionId"]) == 2


# --- rejected receipts -----------------------------------------------------------------------


def _withdrawal_as_receipt(quote: dict[str, Any]) -> dict[str, Any]:
    signed = sign_withdrawal(
        domain=DOMAIN,
        private_key=VAULT_KEY,
        user=quote["payer"],
        amount_wei=int(quote["amountWei"]),
        audition_id=quote["auditionId"],
        nonce=7,
        deadline=START + timedelta(minutes=10),
    )
    return {"quoteId": quote["id"], "typedData": signed.typed_data, "signature": signed.signature}


def _tampered(quote: dict[str, Any], **changes: Any) -> dict[str, Any]:
    body = paid(quote)
    return {**body, "typedData": edited(body["typedData"], "message", **changes)}


REJECTIONS = {
    "tampered amount": (lambda q: _tampered(q, amountWei="1"), "signer_mismatch"),
    "tampered payer": (
        lambda q: _tampered(q, payer=a_wallet("mallory").address),
        "signer_mismatch",
    ),
    "wrong chain": (lambda q: paid(q, domain=VaultDomain(1, CONTRACT)), "chain_mismatch"),
    "wrong contract": (
        lambda q: paid(q, domain=VaultDomain(84532, OTHER_CONTRACT)),
        "contract_mismatch",
    ),
    "non-vault signer": (lambda q: paid(q, key=OTHER_KEY), "signer_mismatch"),
    "refund key": (lambda q: paid(q, key=REFUND_KEY), "signer_mismatch"),
    "someone else's receipt": (
        lambda q: paid(q, payer=a_wallet("mallory").address),
        "payer_mismatch",
    ),
    "zero signature": (lambda q: {**paid(q), "signature": "0x" + "00" * 65}, "bad_signature"),
    "truncated signature": (
        lambda q: {**paid(q), "signature": paid(q)["signature"][:-10]},
        "bad_signature",
    ),
    "empty signature": (lambda q: {**paid(q), "signature": ""}, "bad_signature"),
    "withdrawal as receipt": (_withdrawal_as_receipt, "wrong_primary_type"),
    "not a document": (lambda q: {**paid(q), "typedData": {"a": 1}}, "malformed_document"),
}


@pytest.mark.parametrize("case", list(REJECTIONS))
def test_no_proof_of_payment_is_refused_with_its_reason(client: TestClient, case: str) -> None:
    owner = user(client, "payer")
    quote = quoted(client, owner)
    build, reason = REJECTIONS[case]
    problem = assert_problem(submit(client, owner, build(quote)), 422, "economy:receipt-rejected")
    assert problem["reason"] == reason
    assert client.get("/v1/economy/purchases", headers=owner).json()["data"] == []
    assert client.get("/v1/economy/refunds", headers=owner).json()["data"] == []
    assert container_of(client).economy.effective_tier(UUID(quote["cloneId"])) is None


def test_submissions_need_a_key_an_own_quote_and_a_string_signature(client: TestClient) -> None:
    owner = user(client, "payer")
    quote = quoted(client, owner)
    no_key = client.post(SUBMIT, headers=owner, json=paid(quote))
    assert_problem(no_key, 422, "request:validation-error")
    foreign = submit(client, user(client, "mallory"), paid(quote))
    assert_problem(foreign, 404, "economy:quote-not-found")
    odd = submit(client, owner, {**paid(quote), "signature": 12})
    assert_problem(odd, 422, "request:validation-error")


# --- money received that cannot be honoured --------------------------------------------------


def _refunded(client: TestClient, response: Any, reason: str) -> dict[str, Any]:
    assert response.status_code == 202, response.text
    refund: dict[str, Any] = response.json()
    assert (refund["kind"], refund["reason"]) == ("refund", reason)
    withdrawal = refund["withdrawal"]
    terms = verify_withdrawal(
        withdrawal["typedData"],
        withdrawal["signature"],
        domain=DOMAIN,
        refund_signer=REFUND_SIGNER,
        now=container_of(client).service_clock.now(),
    )
    assert terms.nonce == UUID(refund["id"]).int == int(withdrawal["nonce"])
    assert terms.amount_wei == int(refund["amountWei"])
    assert terms.user == refund["payer"]
    return refund


def test_an_expired_receipt_is_recorded_and_refunded(
    client: TestClient, clock: SimulatedClock
) -> None:
    owner = user(client, "payer")
    quote = quoted(client, owner)
    body = paid(quote, deadline=START - timedelta(seconds=1))
    refund = _refunded(client, submit(client, owner, body), "receipt_expired")
    assert refund["auditionId"] == quote["auditionId"]
    assert container_of(client).economy.effective_tier(UUID(quote["cloneId"])) is None
    listed = client.get("/v1/economy/refunds", headers=owner).json()["data"]
    assert [r["id"] for r in listed] == [refund["id"]]
    # An expired authorisation is re-signed with the same nonce and a later deadline.
    clock.advance(timedelta(days=2))
    owner = user(client, "payer")  # the access token expired meanwhile
    again = client.get("/v1/economy/refunds", headers=owner).json()["data"][0]
    assert again["withdrawal"]["nonce"] == refund["withdrawal"]["nonce"]
    assert again["withdrawal"]["deadline"] > refund["withdrawal"]["deadline"]
    assert again["withdrawal"]["signature"] != refund["withdrawal"]["signature"]
    verify_withdrawal(
        again["withdrawal"]["typedData"],
        again["withdrawal"]["signature"],
        domain=DOMAIN,
        refund_signer=REFUND_SIGNER,
        now=clock.now(),
    )


def test_a_rotated_refund_key_re_signs_live_withdrawals_with_the_same_nonce(
    make_client: Callable[..., TestClient], clock: SimulatedClock
) -> None:
    # Arrange: a refund signed by the old key, still live.
    before = make_client()
    owner = user(before, "payer")
    quote = quoted(before, owner)
    body = paid(quote, deadline=START - timedelta(seconds=1))
    refund = _refunded(before, submit(before, owner, body), "receipt_expired")
    new_key = "0x" + "c3" * 32

    # Act: the next deployment signs with the new refund key (docs/keys.md).
    after = make_client(refund_private_key=new_key)
    again = after.get("/v1/economy/refunds", headers=user(after, "payer")).json()["data"][0]

    # Assert: the new key signed the same terms and nonce; the old signature is gone.
    assert again["withdrawal"]["nonce"] == refund["withdrawal"]["nonce"]
    assert again["withdrawal"]["signature"] != refund["withdrawal"]["signature"]
    terms = verify_withdrawal(
        again["withdrawal"]["typedData"],
        again["withdrawal"]["signature"],
        domain=DOMAIN,
        refund_signer=address_of_key(new_key),
        now=clock.now(),
    )
    assert terms.nonce == UUID(refund["id"]).int


def test_a_wrong_amount_or_audition_is_refunded(client: TestClient) -> None:
    owner = user(client, "payer")
    quote = quoted(client, owner)
    _refunded(client, submit(client, owner, paid(quote, amount_wei=5)), "amount_mismatch")
    other = paid(quote, nonce=8, audition_id="another-audition")
    _refunded(client, submit(client, owner, other, "key-2"), "audition_mismatch")
    assert len(client.get("/v1/economy/refunds", headers=owner).json()["data"]) == 2


def test_an_expired_or_used_quote_is_refunded(client: TestClient, clock: SimulatedClock) -> None:
    owner = user(client, "payer")
    quote = quoted(client, owner)
    assert submit(client, owner, paid(quote)).status_code == 201
    used = submit(client, owner, paid(quote, nonce=8), "key-2")
    _refunded(client, used, "quote_used")
    late = quoted(client, owner)
    clock.advance(timedelta(seconds=901))
    body = paid(late, nonce=9, deadline=clock.now() + timedelta(minutes=5))
    _refunded(client, submit(client, owner, body, "key-3"), "quote_expired")


# --- replays and idempotency -----------------------------------------------------------------


def test_replays_return_the_first_result_and_nonces_pay_once(client: TestClient) -> None:
    owner = user(client, "payer")
    quote = quoted(client, owner)
    body = paid(quote)
    first = submit(client, owner, body)
    assert first.status_code == 201, first.text
    replay = submit(client, owner, body)
    assert (replay.status_code, replay.json()) == (201, first.json())
    assert replay.headers["Idempotent-Replayed"] == "true"
    reused = submit(client, owner, paid(quote, nonce=99))
    assert_problem(reused, 422, "request:idempotency-key-reused")
    # The same receipt under another key: the nonce is spent, the first purchase answers.
    same = submit(client, owner, body, "key-2")
    assert (same.status_code, same.json()["id"]) == (201, first.json()["id"])
    # The same receipt for another quote is a second use of the nonce: refused.
    second = quoted(client, owner)
    stolen = {**body, "quoteId": second["id"]}
    assert_problem(submit(client, owner, stolen, "key-3"), 409, "economy:receipt-nonce-used")
    assert len(client.get("/v1/economy/purchases", headers=owner).json()["data"]) == 1


def test_a_rejected_submission_frees_its_key(client: TestClient) -> None:
    owner = user(client, "payer")
    quote = quoted(client, owner)
    bad = {**paid(quote), "signature": "0x"}
    assert_problem(submit(client, owner, bad), 422, "economy:receipt-rejected")
    assert_problem(submit(client, owner, bad), 422, "economy:receipt-rejected")


@pytest.mark.parametrize("same_key", [False, True])
def test_50_concurrent_submissions_make_one_purchase(client: TestClient, same_key: bool) -> None:
    owner = user(client, "payer")
    quote = quoted(client, owner, "pro")
    body = paid(quote)

    def one(i: int) -> Any:
        return submit(client, owner, body, "same" if same_key else f"key-{i}")

    with ThreadPoolExecutor(max_workers=16) as pool:
        responses = list(pool.map(one, range(50)))
    statuses = {r.status_code for r in responses}
    created = [r.json()["id"] for r in responses if r.status_code == 201]
    if same_key:
        assert statuses <= {201, 409}, [r.text for r in responses if r.status_code not in {201}]
        for r in responses:
            if r.status_code == 409:
                assert r.json()["type"].endswith("request:idempotency-in-progress")
    else:
        assert statuses == {201}, [r.text for r in responses if r.status_code != 201]
    assert created
    assert len(set(created)) == 1
    purchases = client.get("/v1/economy/purchases", headers=owner).json()["data"]
    assert [p["id"] for p in purchases] == created[:1]
    container = container_of(client)
    grants = container.economy.grants(UUID(quote["cloneId"]))
    assert [(g["tier"], g["reference"]) for g in grants] == [("pro", created[0])]
    assert container.economy.attempts(UUID(quote["cloneId"])) == (3, 3)
