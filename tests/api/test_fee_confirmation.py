"""On-chain fee confirmation over HTTP on both stores: the vault contract must show the fee.

With ``vault_rpc_url`` set, ``submit`` asks the vault contract (a fake JSON-RPC node on
loopback, real HTTP) what it recorded for the receipt's audition before recording anything:
a fee from the receipt's payer, of its amount, at least ``vault_confirmations`` (3) blocks
deep, is a purchase; anything less is ``409 economy:payment-unconfirmed``; a node that
cannot answer is ``503 economy:chain-unavailable``. Neither records anything, burns the
receipt nonce or keeps the Idempotency-Key, so the same receipt succeeds once the chain
shows it. The node's head is block 100, so a fee paid in block 98 is exactly 3 deep.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from tests.adapters.fake_eth_node import FakeEthNode, Garbage, reason_revert, serve_eth_node
from tests.api.clones_kit import user
from tests.api.conftest import START, assert_problem
from tests.api.test_economy_routes import container_of, paid, quoted, submit
from tests.domain.economy.vault_kit import CONTRACT
from tests.kit import a_wallet

CHAIN_ID = 84532  # the development vault deployment of the settings
HEAD = 100
CONFIRMATIONS = 3
DEEP_ENOUGH = HEAD - CONFIRMATIONS + 1  # blocks 98, 99, 100


@pytest.fixture
def node() -> Iterator[FakeEthNode]:
    with serve_eth_node() as fake:
        fake.chain_id, fake.contract, fake.block_number = CHAIN_ID, CONTRACT, HEAD
        yield fake


@pytest.fixture
def client(make_client: Callable[..., TestClient], node: FakeEthNode) -> TestClient:
    return make_client(vault_rpc_url=node.url, vault_confirmations=CONFIRMATIONS)


def _record_fee(
    node: FakeEthNode,
    quote: dict[str, Any],
    *,
    at_block: int = DEEP_ENOUGH,
    payer: str | None = None,
    amount_wei: int | None = None,
) -> None:
    """Make the vault contract show the quote's fee (payer and amount overridable)."""
    fee_payer = payer or quote["payer"]
    amount = int(quote["amountWei"]) if amount_wei is None else amount_wei
    node.fees[quote["auditionId"]] = (fee_payer, amount, at_block)


def _assert_nothing_recorded(
    client: TestClient, owner: dict[str, str], quote: dict[str, Any]
) -> None:
    assert client.get("/v1/economy/purchases", headers=owner).json()["data"] == []
    assert client.get("/v1/economy/refunds", headers=owner).json()["data"] == []
    economy = container_of(client).economy
    clone_id = UUID(quote["cloneId"])
    assert economy.effective_tier(clone_id) is None
    assert economy.attempts(clone_id) == (0, 0)


def _closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# --- confirmed -------------------------------------------------------------------------------


def test_fee_confirmed_deep_enough_is_purchased(client: TestClient, node: FakeEthNode) -> None:
    # Arrange
    owner = user(client, "payer")
    quote = quoted(client, owner, "builder")
    _record_fee(node, quote)
    # Act
    response = submit(client, owner, paid(quote))
    # Assert
    assert response.status_code == 201, response.text
    purchase = response.json()
    assert (purchase["kind"], purchase["auditionId"]) == ("purchase", quote["auditionId"])
    listed = client.get("/v1/economy/purchases", headers=owner).json()["data"]
    assert [p["id"] for p in listed] == [purchase["id"]]
    assert container_of(client).economy.attempts(UUID(quote["cloneId"])) == (2, 2)
    assert node.methods() == ["eth_chainId", "eth_blockNumber", "eth_call"]


def test_fee_confirmed_idempotent_replay_answers_without_asking_the_chain_again(
    client: TestClient, node: FakeEthNode
) -> None:
    # Arrange
    owner = user(client, "payer")
    quote = quoted(client, owner)
    _record_fee(node, quote)
    first = submit(client, owner, paid(quote))
    assert first.status_code == 201, first.text
    asked = len(node.received)
    # Act
    replay = submit(client, owner, paid(quote))
    # Assert
    assert (replay.status_code, replay.json()) == (201, first.json())
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert len(node.received) == asked


def test_a_recorded_receipt_under_a_new_key_answers_its_purchase_while_the_node_is_down(
    client: TestClient, node: FakeEthNode
) -> None:
    # Arrange
    owner = user(client, "payer")
    quote = quoted(client, owner)
    _record_fee(node, quote)
    first = submit(client, owner, paid(quote), key="k-1")
    assert first.status_code == 201, first.text
    node.garbage = Garbage.HTTP_502
    asked = len(node.received)
    # Act
    again = submit(client, owner, paid(quote), key="k-2")
    # Assert: the spent nonce answers its first record; the chain was asked back then
    assert (again.status_code, again.json()) == (201, first.json())
    assert len(node.received) == asked


def test_rejected_receipt_is_refused_before_the_chain_is_asked(
    client: TestClient, node: FakeEthNode
) -> None:
    # Arrange: a receipt the vault never signed must not cost an RPC round trip
    owner = user(client, "payer")
    quote = quoted(client, owner)
    _record_fee(node, quote)
    forged = {**paid(quote), "signature": "0x" + "00" * 65}
    # Act
    response = submit(client, owner, forged)
    # Assert
    assert_problem(response, 422, "economy:receipt-rejected")
    assert node.received == []


def test_unhonoured_receipt_confirmed_on_chain_is_refunded(
    client: TestClient, node: FakeEthNode
) -> None:
    # Arrange: money the chain shows arrived, on a receipt past its deadline
    owner = user(client, "payer")
    quote = quoted(client, owner)
    _record_fee(node, quote)
    body = paid(quote, deadline=START - timedelta(seconds=1))
    # Act
    response = submit(client, owner, body)
    # Assert
    assert response.status_code == 202, response.text
    assert (response.json()["kind"], response.json()["reason"]) == ("refund", "receipt_expired")


def test_unhonoured_receipt_without_fee_on_chain_is_not_refunded(
    client: TestClient, node: FakeEthNode
) -> None:
    # Arrange: no money arrived, so there is nothing to give back
    owner = user(client, "payer")
    quote = quoted(client, owner)
    body = paid(quote, deadline=START - timedelta(seconds=1))
    # Act
    response = submit(client, owner, body)
    # Assert
    assert_problem(response, 409, "economy:payment-unconfirmed")
    _assert_nothing_recorded(client, owner, quote)


# --- unconfirmed -----------------------------------------------------------------------------


def test_no_fee_on_chain_records_nothing_and_keeps_the_nonce(
    client: TestClient, node: FakeEthNode
) -> None:
    # Arrange
    owner = user(client, "payer")
    quote = quoted(client, owner)
    body = paid(quote)
    # Act
    refused = submit(client, owner, body, "key-1")
    # Assert
    assert_problem(refused, 409, "economy:payment-unconfirmed")
    _assert_nothing_recorded(client, owner, quote)
    # The fee lands on chain: the same receipt (nonce unspent) pays under a new key.
    _record_fee(node, quote)
    accepted = submit(client, owner, body, "key-2")
    assert accepted.status_code == 201, accepted.text
    assert "Idempotent-Replayed" not in accepted.headers
    listed = client.get("/v1/economy/purchases", headers=owner).json()["data"]
    assert [p["id"] for p in listed] == [accepted.json()["id"]]
    assert client.get("/v1/economy/refunds", headers=owner).json()["data"] == []


def test_too_few_confirmations_is_unconfirmed_until_blocks_are_mined(
    client: TestClient, node: FakeEthNode
) -> None:
    # Arrange: paid in block 99, head 100: 2 confirmations of 3
    owner = user(client, "payer")
    quote = quoted(client, owner)
    _record_fee(node, quote, at_block=HEAD - 1)
    body = paid(quote)
    # Act
    shallow = submit(client, owner, body, "key-1")
    # Assert
    problem = assert_problem(shallow, 409, "economy:payment-unconfirmed")
    assert "confirmations=2" in problem["detail"]
    _assert_nothing_recorded(client, owner, quote)
    # One more block: 3 deep. The failed attempt freed its key, so the same key retries.
    node.block_number = HEAD + 1
    deep = submit(client, owner, body, "key-1")
    assert deep.status_code == 201, deep.text
    assert "Idempotent-Replayed" not in deep.headers


def test_fee_in_a_block_above_the_head_is_unconfirmed(
    client: TestClient, node: FakeEthNode
) -> None:
    # Arrange: the node reports a fee in a block beyond its own head (0 confirmations)
    owner = user(client, "payer")
    quote = quoted(client, owner)
    _record_fee(node, quote, at_block=HEAD + 5)
    # Act
    response = submit(client, owner, paid(quote))
    # Assert
    assert_problem(response, 409, "economy:payment-unconfirmed")
    _assert_nothing_recorded(client, owner, quote)


MISMATCHES: dict[str, dict[str, Any]] = {
    "another payer": {"payer": a_wallet("mallory").address},
    "a smaller amount": {"amount_wei": 10**16 - 1},
    "a larger amount": {"amount_wei": 10**16 + 1},
}


@pytest.mark.parametrize("case", list(MISMATCHES))
def test_fee_on_chain_from_another_payer_or_amount_is_unconfirmed(
    client: TestClient, node: FakeEthNode, case: str
) -> None:
    # Arrange
    owner = user(client, "payer")
    quote = quoted(client, owner)
    assert int(quote["amountWei"]) == 10**16
    _record_fee(node, quote, **MISMATCHES[case])
    # Act
    response = submit(client, owner, paid(quote))
    # Assert
    assert_problem(response, 409, "economy:payment-unconfirmed")
    _assert_nothing_recorded(client, owner, quote)


def test_fee_of_another_audition_on_chain_does_not_confirm(
    client: TestClient, node: FakeEthNode
) -> None:
    # Arrange: the payer paid for their other quote, not this one
    owner = user(client, "payer")
    quote, other = quoted(client, owner), quoted(client, owner)
    _record_fee(node, other)
    # Act
    response = submit(client, owner, paid(quote))
    # Assert
    assert_problem(response, 409, "economy:payment-unconfirmed")
    _assert_nothing_recorded(client, owner, quote)


# --- chain unavailable -----------------------------------------------------------------------


def test_node_down_is_unavailable_and_records_nothing(
    make_client: Callable[..., TestClient],
) -> None:
    # Arrange
    url = _closed_port_url()
    client = make_client(vault_rpc_url=url, vault_confirmations=CONFIRMATIONS)
    owner = user(client, "payer")
    quote = quoted(client, owner)
    # Act
    response = submit(client, owner, paid(quote))
    # Assert
    problem = assert_problem(response, 503, "economy:chain-unavailable")
    assert url not in response.text
    assert "127.0.0.1" not in problem.get("detail", "")
    _assert_nothing_recorded(client, owner, quote)


def _answering(mode: Garbage) -> Callable[[FakeEthNode], None]:
    return lambda node: setattr(node, "garbage", mode)


BROKEN: dict[str, Callable[[FakeEthNode], None]] = {
    **{f"garbage {mode.value}": _answering(mode) for mode in Garbage},
    "another chain": lambda n: setattr(n, "chain_id", 1),
    "no vault at the address": lambda n: setattr(n, "contract", "0x" + "11" * 20),
    "reverted call": lambda n: setattr(n, "revert_data", reason_revert("paused")),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_node_is_unavailable_then_recovers(
    client: TestClient, node: FakeEthNode, case: str
) -> None:
    # Arrange: the fee is on chain, but the node cannot be believed
    owner = user(client, "payer")
    quote = quoted(client, owner)
    _record_fee(node, quote)
    healthy = (node.garbage, node.chain_id, node.contract, node.revert_data)
    BROKEN[case](node)
    body = paid(quote)
    # Act
    response = submit(client, owner, body, "key-1")
    # Assert
    assert_problem(response, 503, "economy:chain-unavailable")
    assert node.url not in response.text
    _assert_nothing_recorded(client, owner, quote)
    # The node heals: the same receipt under the same (freed) key pays.
    node.garbage, node.chain_id, node.contract, node.revert_data = healthy
    recovered = submit(client, owner, body, "key-1")
    assert recovered.status_code == 201, recovered.text
