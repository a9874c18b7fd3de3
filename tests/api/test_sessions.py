"""Access tokens, refresh rotation, reuse detection, the concurrent-refresh race, logout."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import jwt
from fastapi.testclient import TestClient

from adapters.settings import DEV_JWT_SECRET
from domain.clock import SimulatedClock
from tests.api.conftest import assert_problem, bearer, sign_in
from tests.kit import a_wallet, b64url_json

ALICE = a_wallet("alice")


def _refresh(client: TestClient, token: str):
    return client.post("/v1/auth/refresh", json={"refreshToken": token})


def _claims(access_token: str) -> dict:
    return jwt.decode(access_token, options={"verify_signature": False})


def _forged(claims: dict, *, key: str = DEV_JWT_SECRET, headers: dict | None = None) -> str:
    return jwt.encode(claims, key, algorithm="HS256", headers=headers or {"kid": "dev"})


def test_access_token_with_alg_none_is_refused(client: TestClient) -> None:
    claims = _claims(sign_in(client, ALICE)["accessToken"])
    token = (
        b64url_json({"alg": "none", "kid": "dev", "typ": "at+jwt"})
        + "."
        + b64url_json(claims)
        + "."
    )
    assert_problem(client.get("/v1/me", headers=bearer(token)), 401, "token:algorithm-not-allowed")


def test_access_token_signed_with_other_key_is_refused(client: TestClient) -> None:
    claims = _claims(sign_in(client, ALICE)["accessToken"])
    token = _forged(claims, key="another-secret-of-at-least-thirty-two-bytes!")
    assert_problem(client.get("/v1/me", headers=bearer(token)), 401, "token:bad-signature")


def test_access_token_with_unknown_kid_is_refused(client: TestClient) -> None:
    claims = _claims(sign_in(client, ALICE)["accessToken"])
    token = _forged(claims, headers={"kid": "retired"})
    assert_problem(client.get("/v1/me", headers=bearer(token)), 401, "token:unknown-key")


def test_access_token_after_expiry_is_refused(client: TestClient, clock: SimulatedClock) -> None:
    token = sign_in(client, ALICE)["accessToken"]
    clock.advance(timedelta(minutes=15, seconds=31))
    assert_problem(client.get("/v1/me", headers=bearer(token)), 401, "token:expired")


def test_access_token_for_other_audience_is_refused(client: TestClient) -> None:
    claims = _claims(sign_in(client, ALICE)["accessToken"])
    token = _forged({**claims, "aud": "another-api"})
    assert_problem(client.get("/v1/me", headers=bearer(token)), 401, "token:wrong-audience")


def test_access_token_still_valid_inside_leeway(client: TestClient, clock: SimulatedClock) -> None:
    token = sign_in(client, ALICE)["accessToken"]
    clock.advance(timedelta(minutes=15, seconds=20))
    assert client.get("/v1/me", headers=bearer(token)).status_code == 200


def test_old_signing_key_verifies_until_removed(make_client: Callable[..., TestClient]) -> None:
    # Arrange: the token is signed by "old"; the next deployment signs with "new".
    old = {"alg": "HS256", "secret": "old-secret-old-secret-old-secret-0001"}
    new = {"alg": "HS256", "secret": "new-secret-new-secret-new-secret-0002"}
    token = sign_in(make_client(jwt_keys={"old": old}, jwt_signing_kid="old"), ALICE)["accessToken"]
    # Act
    rotated = make_client(jwt_keys={"old": old, "new": new}, jwt_signing_kid="new")
    removed = make_client(jwt_keys={"new": new}, jwt_signing_kid="new")
    # Assert
    assert rotated.get("/v1/me", headers=bearer(token)).status_code == 200
    assert_problem(removed.get("/v1/me", headers=bearer(token)), 401, "token:unknown-key")


def test_refresh_rotates_and_new_tokens_work(client: TestClient) -> None:
    session = sign_in(client, ALICE)
    rotated = _refresh(client, session["refreshToken"])
    assert rotated.status_code == 200
    body = rotated.json()
    assert body["refreshToken"] != session["refreshToken"]
    assert client.get("/v1/me", headers=bearer(body["accessToken"])).status_code == 200
    assert _refresh(client, body["refreshToken"]).status_code == 200


def test_reuse_of_rotated_token_revokes_whole_family(
    client: TestClient, clock: SimulatedClock
) -> None:
    # Arrange
    first = sign_in(client, ALICE)["refreshToken"]
    second = _refresh(client, first).json()["refreshToken"]
    clock.advance(timedelta(seconds=11))  # beyond the grace window
    # Act
    reuse = _refresh(client, first)
    # Assert: the reuse is refused and the legitimate successor died with the family.
    assert_problem(reuse, 401, "refresh:token-reused")
    assert_problem(_refresh(client, second), 401, "refresh:family-revoked")


def test_unknown_refresh_token_is_refused(client: TestClient) -> None:
    assert_problem(_refresh(client, "rt_never-issued"), 401, "refresh:token-unknown")


def test_refresh_after_idle_lifetime_is_refused(
    make_client: Callable[..., TestClient], clock: SimulatedClock
) -> None:
    client = make_client(refresh_idle_ttl_seconds=3600)
    token = sign_in(client, ALICE)["refreshToken"]
    clock.advance(timedelta(hours=1, seconds=1))
    assert_problem(_refresh(client, token), 401, "refresh:token-expired")


def test_refresh_after_absolute_lifetime_is_refused(
    make_client: Callable[..., TestClient], clock: SimulatedClock
) -> None:
    client = make_client(refresh_idle_ttl_seconds=3600, refresh_absolute_ttl_seconds=7200)
    token = sign_in(client, ALICE)["refreshToken"]
    for _ in range(3):
        clock.advance(timedelta(minutes=50))
        response = _refresh(client, token)
        if response.status_code != 200:
            break
        token = response.json()["refreshToken"]
    assert_problem(response, 401, "refresh:family-expired")


def _race(client: TestClient, token: str) -> list:
    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(lambda _: _refresh(client, token), range(2)))


def test_concurrent_refresh_within_grace_returns_one_successor(client: TestClient) -> None:
    token = sign_in(client, ALICE)["refreshToken"]
    responses = _race(client, token)
    assert [r.status_code for r in responses] == [200, 200]
    successors = {r.json()["refreshToken"] for r in responses}
    assert len(successors) == 1, "never two live successors"
    assert _refresh(client, successors.pop()).status_code == 200


def test_concurrent_refresh_without_grace_is_reuse(make_client: Callable[..., TestClient]) -> None:
    client = make_client(refresh_grace_seconds=0)
    token = sign_in(client, ALICE)["refreshToken"]
    responses = _race(client, token)
    assert sorted(r.status_code for r in responses) == [200, 401]
    winner = next(r for r in responses if r.status_code == 200).json()["refreshToken"]
    assert_problem(_refresh(client, winner), 401, "refresh:family-revoked")


def test_logout_revokes_family(client: TestClient) -> None:
    session = sign_in(client, ALICE)
    response = client.post("/v1/auth/logout", json={"refreshToken": session["refreshToken"]})
    assert response.status_code == 204
    assert_problem(_refresh(client, session["refreshToken"]), 401, "refresh:family-revoked")


def test_logout_with_bearer_only_revokes_its_session(client: TestClient) -> None:
    session = sign_in(client, ALICE)
    response = client.post("/v1/auth/logout", json={}, headers=bearer(session["accessToken"]))
    assert response.status_code == 204
    assert_problem(_refresh(client, session["refreshToken"]), 401, "refresh:family-revoked")
