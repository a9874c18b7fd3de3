"""EIP-1271 contract-wallet sign-in against a fake JSON-RPC node shaped like the real one."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import httpx
import pytest
from eth_abi import decode
from eth_account import Account
from fastapi.testclient import TestClient

from adapters.bootstrap import bootstrap
from api.app import create_app
from domain.clock import SimulatedClock
from tests.api.conftest import api_settings, assert_problem
from tests.kit import a_wallet, signed

CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
OWNER = a_wallet("safe-owner")
STRANGER = a_wallet("stranger")
MAGIC = "0x1626ba7e" + "00" * 28


def fake_node(*, broken: bool = False) -> httpx.MockTransport:
    """A JSON-RPC node where CONTRACT accepts signatures made by OWNER's key."""

    def handle(request: httpx.Request) -> httpx.Response:
        call = json.loads(request.content)
        if broken:
            return httpx.Response(502, text="bad gateway")
        if call["method"] == "eth_chainId":
            return httpx.Response(200, json={"jsonrpc": "2.0", "id": call["id"], "result": "0x1"})
        params = call["params"][0]
        message_hash, signature = decode(["bytes32", "bytes"], bytes.fromhex(params["data"][10:]))
        try:
            signer = Account._recover_hash(message_hash, signature=signature)
        except Exception:
            signer = None
        valid = params["to"] == CONTRACT and signer == OWNER.address
        result = MAGIC if valid else "0xffffffff" + "00" * 28
        return httpx.Response(200, json={"jsonrpc": "2.0", "id": call["id"], "result": result})

    return httpx.MockTransport(handle)


@pytest.fixture
def contract_client(
    database_url: str, clock: SimulatedClock
) -> Iterator[Callable[..., TestClient]]:
    built = []

    def make(transport: httpx.MockTransport | None, **overrides: object) -> TestClient:
        settings = api_settings(database_url, **overrides)
        container = bootstrap(settings, service_clock=clock, http_transport=transport)
        built.append(container)
        return TestClient(create_app(container), raise_server_exceptions=False)

    yield make
    for container in built:
        container.close()


def _message(client: TestClient) -> str:
    response = client.post("/v1/auth/siwe/challenge", json={"address": CONTRACT, "chainId": 1})
    return str(response.json()["message"])


def test_contract_wallet_signature_accepted_by_contract_signs_in(contract_client) -> None:
    client = contract_client(fake_node(), eip1271_rpc_url="http://rpc.test")
    message = _message(client)
    response = client.post(
        "/v1/auth/siwe/verify", json={"message": message, "signature": signed(message, OWNER)}
    )
    assert response.status_code == 200, response.text
    assert response.json()["user"]["wallets"][0] == {
        "address": CONTRACT,
        "chainId": 1,
        "kind": "contract",
    }


def test_contract_wallet_signature_refused_by_contract_is_bad_signature(contract_client) -> None:
    client = contract_client(fake_node(), eip1271_rpc_url="http://rpc.test")
    message = _message(client)
    response = client.post(
        "/v1/auth/siwe/verify", json={"message": message, "signature": signed(message, STRANGER)}
    )
    assert_problem(response, 401, "sign-in:bad-signature")


def test_contract_wallet_with_failing_node_is_refused(contract_client) -> None:
    client = contract_client(fake_node(broken=True), eip1271_rpc_url="http://rpc.test")
    message = _message(client)
    response = client.post(
        "/v1/auth/siwe/verify", json={"message": message, "signature": signed(message, OWNER)}
    )
    assert_problem(response, 401, "sign-in:bad-signature")


def test_contract_wallet_without_rpc_is_refused_clearly(contract_client) -> None:
    client = contract_client(None)
    message = _message(client)
    long_signature = "0x" + "ab" * 130  # a multisig-style signature, not 65 bytes
    response = client.post(
        "/v1/auth/siwe/verify", json={"message": message, "signature": long_signature}
    )
    body = assert_problem(response, 401, "sign-in:contract-wallet-unsupported")
    assert "CLASH_EIP1271_RPC_URL" in body["detail"]
