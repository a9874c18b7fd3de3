"""SIWE sign-in through the API, on SQLite and PostgreSQL: every rejection is a 401 problem."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from domain.clock import SimulatedClock
from tests.api.conftest import assert_problem, bearer, sign_in
from tests.kit import a_sign_in_message, a_wallet, signed

ALICE = a_wallet("alice")
BOB = a_wallet("bob")


def _challenge(client: TestClient, wallet=ALICE, chain_id: int = 1) -> dict:
    response = client.post(
        "/v1/auth/siwe/challenge", json={"address": wallet.address, "chainId": chain_id}
    )
    assert response.status_code == 200, response.text
    return response.json()


def _verify(client: TestClient, message: str, signature: str):
    return client.post("/v1/auth/siwe/verify", json={"message": message, "signature": signature})


def _forged(client: TestClient, clock: SimulatedClock, **fields) -> str:
    """A message with a real nonce issued to Alice but some other field changed."""
    nonce = _challenge(client)["nonce"]
    defaults = {
        "wallet": ALICE,
        "domain": "localhost:8000",
        "uri": "http://localhost:8000/login",
        "nonce": nonce,
        "issued_at": clock.now(),
        "expires_at": clock.now() + timedelta(minutes=10),
    }
    return a_sign_in_message(**{**defaults, **fields})


def test_sign_in_first_time_creates_user_and_reaches_me(client: TestClient) -> None:
    # Act
    session = sign_in(client, ALICE)
    me = client.get("/v1/me", headers=bearer(session["accessToken"]))
    # Assert
    assert me.status_code == 200
    assert me.json()["wallets"] == [{"address": ALICE.address, "chainId": 1, "kind": "eoa"}]
    assert me.json()["roles"] == ["user"]
    assert session["tokenType"] == "Bearer"
    assert session["expiresIn"] == 900


def test_sign_in_again_with_same_wallet_keeps_user(client: TestClient) -> None:
    first = sign_in(client, ALICE)
    second = sign_in(client, ALICE)
    assert first["user"]["id"] == second["user"]["id"]


def test_challenge_lowercase_address_is_checksummed(client: TestClient) -> None:
    challenge = _challenge_for(client, ALICE.address.lower())
    assert ALICE.address in challenge["message"]


def _challenge_for(client: TestClient, address: str) -> dict:
    response = client.post("/v1/auth/siwe/challenge", json={"address": address, "chainId": 1})
    assert response.status_code == 200, response.text
    return response.json()


def test_challenge_for_disallowed_chain_is_refused(client: TestClient) -> None:
    response = client.post(
        "/v1/auth/siwe/challenge", json={"address": ALICE.address, "chainId": 137}
    )
    assert_problem(response, 400, "sign-in:chain-not-allowed")


def test_challenge_for_malformed_address_is_refused(client: TestClient) -> None:
    response = client.post("/v1/auth/siwe/challenge", json={"address": "0x123", "chainId": 1})
    assert_problem(response, 400, "sign-in:malformed-address")


def test_verify_twice_with_one_nonce_is_nonce_used(client: TestClient) -> None:
    message = _challenge(client)["message"]
    assert _verify(client, message, signed(message, ALICE)).status_code == 200
    assert_problem(_verify(client, message, signed(message, ALICE)), 401, "sign-in:nonce-used")


def test_verify_with_unissued_nonce_is_nonce_unknown(
    client: TestClient, clock: SimulatedClock
) -> None:
    message = a_sign_in_message(
        wallet=ALICE,
        domain="localhost:8000",
        nonce="f" * 32,
        uri="http://localhost:8000/login",
        issued_at=clock.now(),
    )
    assert_problem(_verify(client, message, signed(message, ALICE)), 401, "sign-in:nonce-unknown")


def test_verify_after_nonce_ttl_is_nonce_expired(client: TestClient, clock: SimulatedClock) -> None:
    message = _challenge(client)["message"]
    clock.advance(timedelta(minutes=10, seconds=1))
    assert_problem(_verify(client, message, signed(message, ALICE)), 401, "sign-in:nonce-expired")


def test_verify_with_other_wallets_signature_is_bad_signature(client: TestClient) -> None:
    message = _challenge(client)["message"]
    assert_problem(_verify(client, message, signed(message, BOB)), 401, "sign-in:bad-signature")


def test_verify_with_nonce_of_other_address_is_address_mismatch(
    client: TestClient, clock: SimulatedClock
) -> None:
    message = _forged(client, clock, wallet=BOB)
    assert_problem(_verify(client, message, signed(message, BOB)), 401, "sign-in:address-mismatch")


def test_verify_wrong_domain_is_domain_mismatch(client: TestClient, clock: SimulatedClock) -> None:
    message = _forged(client, clock, domain="evil.example")
    assert_problem(_verify(client, message, signed(message, ALICE)), 401, "sign-in:domain-mismatch")


def test_verify_wrong_uri_is_uri_mismatch(client: TestClient, clock: SimulatedClock) -> None:
    message = _forged(client, clock, uri="https://evil.example/login")
    assert_problem(_verify(client, message, signed(message, ALICE)), 401, "sign-in:uri-mismatch")


def test_verify_disallowed_chain_is_chain_not_allowed(
    client: TestClient, clock: SimulatedClock
) -> None:
    message = _forged(client, clock, chain_id=137)
    assert_problem(
        _verify(client, message, signed(message, ALICE)), 401, "sign-in:chain-not-allowed"
    )


def test_verify_expired_message_is_message_expired(
    client: TestClient, clock: SimulatedClock
) -> None:
    message = _forged(
        client,
        clock,
        expires_at=clock.now() - timedelta(seconds=1),
        issued_at=clock.now() - timedelta(minutes=1),
    )
    assert_problem(_verify(client, message, signed(message, ALICE)), 401, "sign-in:message-expired")


def test_verify_future_issued_at_is_issued_in_future(
    client: TestClient, clock: SimulatedClock
) -> None:
    message = _forged(client, clock, issued_at=clock.now() + timedelta(minutes=5))
    assert_problem(
        _verify(client, message, signed(message, ALICE)), 401, "sign-in:issued-in-future"
    )


def test_verify_not_yet_valid_message_is_rejected(
    client: TestClient, clock: SimulatedClock
) -> None:
    message = _forged(client, clock, not_before=clock.now() + timedelta(minutes=2))
    assert_problem(
        _verify(client, message, signed(message, ALICE)), 401, "sign-in:message-not-yet-valid"
    )


def test_verify_oversized_message_is_message_too_long(client: TestClient) -> None:
    assert_problem(_verify(client, "x" * 1025, "0x00"), 401, "sign-in:message-too-long")


def test_verify_garbage_message_is_malformed(client: TestClient) -> None:
    assert_problem(_verify(client, "hello", "0x00"), 401, "sign-in:malformed-message")


def test_admin_address_gets_admin_role(client: TestClient) -> None:
    from tests.api.conftest import ADMIN

    session = sign_in(client, ADMIN)
    assert session["user"]["roles"] == ["user", "admin"]
