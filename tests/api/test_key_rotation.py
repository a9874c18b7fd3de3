"""JWT key rotation with overlap: announced, then signing, the old key verifying until expiry."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import jwt
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from adapters.entropy import SystemEntropy
from adapters.jwt_keyring import Rotation, StoredKeyRing
from adapters.settings import DEV_JWT_SECRET, Settings
from api.cli import app
from domain.clock import SimulatedClock
from domain.identity.keyring import RotationRefused
from tests.api.conftest import assert_problem, bearer, sign_in
from tests.api.test_economy_routes import container_of
from tests.conftest import cli_env
from tests.kit import a_wallet

ALICE = a_wallet("alice")
ANNOUNCE = timedelta(seconds=120)
TOKEN_LIFETIME = timedelta(seconds=900 + 30)


def _rotate(client: TestClient, clock: SimulatedClock, algorithm: str | None = None) -> Rotation:
    return container_of(client).keyring.rotate(
        clock.now(),
        entropy=SystemEntropy(),
        announce=ANNOUNCE,
        token_lifetime=TOKEN_LIFETIME,
        algorithm=algorithm,  # type: ignore[arg-type]
    )


def _kid(access_token: str) -> str:
    return str(jwt.get_unverified_header(access_token)["kid"])


def test_a_rotation_is_announced_then_signs_and_the_old_key_verifies_until_expiry(
    make_client: Callable[..., TestClient], clock: SimulatedClock
) -> None:
    # Arrange: two processes on one store; the second has cached the keyring already.
    first, second = make_client(), make_client()
    before = sign_in(first, ALICE)["accessToken"]
    assert second.get("/v1/me", headers=bearer(before)).status_code == 200

    # Act: rotate; inside the announcement the configured key still signs.
    rotation = _rotate(first, clock)
    announced = sign_in(first, ALICE)["accessToken"]
    clock.advance(ANNOUNCE + timedelta(seconds=1))
    after = sign_in(first, ALICE)["accessToken"]

    # Assert: the other process knows the new key; the old token still works.
    assert (_kid(before), _kid(announced), _kid(after)) == ("dev", "dev", rotation.kid)
    assert rotation.retiring_kid == "dev"
    assert rotation.retiring_verifies_until == rotation.signs_from + TOKEN_LIFETIME
    assert second.get("/v1/me", headers=bearer(after)).status_code == 200
    assert second.get("/v1/me", headers=bearer(announced)).status_code == 200

    # ... and once the last token "dev" signed has expired, "dev" verifies no more.
    clock.set(rotation.retiring_verifies_until + timedelta(seconds=1))
    forged = jwt.encode(
        {**jwt.decode(announced, options={"verify_signature": False}), "exp": 2**40},
        DEV_JWT_SECRET,
        algorithm="HS256",
        headers={"kid": "dev"},
    )
    assert_problem(second.get("/v1/me", headers=bearer(forged)), 401, "token:unknown-key")
    assert (
        second.get("/v1/me", headers=bearer(sign_in(second, ALICE)["accessToken"])).status_code
        == 200
    )


def test_a_second_rotation_waits_for_the_first_and_then_retires_the_rotated_key(
    make_client: Callable[..., TestClient], clock: SimulatedClock
) -> None:
    client = make_client()
    first = _rotate(client, clock)

    with pytest.raises(RotationRefused) as refused:
        _rotate(client, clock)
    clock.advance(ANNOUNCE)
    second = _rotate(client, clock, "EdDSA")
    clock.advance(ANNOUNCE)
    token = sign_in(client, ALICE)["accessToken"]

    assert refused.value.reason == "rotation_pending"
    assert second.retiring_kid == first.kid
    assert jwt.get_unverified_header(token) | {} == {
        "alg": "EdDSA",
        "kid": second.kid,
        "typ": "at+jwt",
    }
    assert client.get("/v1/me", headers=bearer(token)).status_code == 200
    states = {
        k.kid: (k.signing, k.verifying) for k in container_of(client).keyring.statuses(clock.now())
    }
    assert states == {"dev": (False, True), first.kid: (False, True), second.kid: (True, True)}
    clock.set(second.retiring_verifies_until)
    ended = {k.kid: k.verifying for k in container_of(client).keyring.statuses(clock.now())}
    assert ended == {"dev": False, first.kid: False, second.kid: True}


def test_key_material_is_sealed_and_useless_under_another_pepper(
    make_client: Callable[..., TestClient], clock: SimulatedClock
) -> None:
    client = make_client()
    rotation = _rotate(client, clock)
    clock.advance(ANNOUNCE)
    container = container_of(client)
    secret = container.keyring.active(clock.now()).signing_key.signing_key
    with container.database.transaction(write=False) as session:
        row = session.fetch_one("SELECT sealed FROM jwt_keyring WHERE kid = %s", (rotation.kid,))
    other = StoredKeyRing(
        container.database,
        configured=container.keyring.configured,
        configured_signer="dev",
        pepper="another-pepper-another-pepper-another-pepper",
        refresh=timedelta(seconds=30),
    )

    assert row is not None
    assert secret
    assert secret not in str(row["sealed"])
    assert other.active(clock.now()).signing_kid == "dev"
    assert rotation.kid not in other.active(clock.now()).verifying


def test_the_cli_rotates_and_lists_keys(
    make_client: Callable[..., TestClient], monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    for name, value in cli_env(database_url).items():
        monkeypatch.setenv(name, value)
    make_client()  # a migrated store
    runner = CliRunner()

    rotated = runner.invoke(app, ["admin", "keys", "rotate"])
    again = runner.invoke(app, ["admin", "keys", "rotate"])
    listed = runner.invoke(app, ["admin", "keys", "list"])

    assert rotated.exit_code == 0, rotated.output
    assert "verifies until" in rotated.output
    assert "dev" in rotated.output
    assert again.exit_code == 1
    assert "rotation_pending" in again.output
    assert listed.exit_code == 0, listed.output
    assert "configured" in listed.output
    assert "rotated" in listed.output


def test_the_announcement_must_outlast_two_keyring_reloads() -> None:
    with pytest.raises(ValueError, match="at least twice"):
        Settings(jwt_keyring_refresh_seconds=60, jwt_rotation_announce_seconds=90)
