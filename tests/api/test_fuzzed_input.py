"""Arbitrary bytes and strings as messages, signatures and tokens: always a 4xx problem."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

PROPERTY = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
texts = st.text(max_size=1500)
blobs = st.binary(max_size=2048)


def _assert_client_problem(response) -> None:
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert json.loads(response.text)["status"] == response.status_code


@PROPERTY
@given(message=texts, signature=texts)
def test_verify_with_arbitrary_strings_is_a_client_problem(
    client: TestClient, message: str, signature: str
) -> None:
    response = client.post(
        "/v1/auth/siwe/verify", json={"message": message, "signature": signature}
    )
    _assert_client_problem(response)


@PROPERTY
@given(body=blobs)
def test_verify_with_arbitrary_bytes_is_a_client_problem(client: TestClient, body: bytes) -> None:
    response = client.post(
        "/v1/auth/siwe/verify", content=body, headers={"Content-Type": "application/json"}
    )
    _assert_client_problem(response)


@PROPERTY
@given(token=st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=600))
def test_me_with_arbitrary_bearer_is_a_client_problem(client: TestClient, token: str) -> None:
    _assert_client_problem(client.get("/v1/me", headers={"Authorization": f"Bearer {token}"}))


@PROPERTY
@given(token=texts)
def test_refresh_with_arbitrary_token_is_a_client_problem(client: TestClient, token: str) -> None:
    _assert_client_problem(client.post("/v1/auth/refresh", json={"refreshToken": token}))


@PROPERTY
@given(address=texts, chain_id=st.integers(min_value=-(2**70), max_value=2**70))
def test_challenge_with_arbitrary_input_never_fails_the_server(
    client: TestClient, address: str, chain_id: int
) -> None:
    response = client.post(
        "/v1/auth/siwe/challenge", json={"address": address, "chainId": chain_id}
    )
    assert response.status_code < 500
    if response.status_code != 200:
        _assert_client_problem(response)
