"""The web3 vault-chain adapter against a fake JSON-RPC node shaped like a real one.

Why: the adapter's promise is that the chain's word is read exactly (checksummed payer,
amount, confirmations at one head) and that anything else, from a dead node to a hostile
answer, is ``ChainUnavailable``. Only a real HTTP server exercises web3's whole stack, so
the fake node is the only double; ``require_confirmed`` is then checked through it.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from adapters.vault_chain import Web3VaultChain
from domain.economy.confirmations import (
    ChainUnavailable,
    OnChainFee,
    PaymentConfirmations,
    PaymentUnconfirmed,
    require_confirmed,
)
from domain.economy.errors import VaultMisconfigured
from tests.adapters.fake_eth_node import (
    VAULT,
    FakeEthNode,
    Garbage,
    offchain_lookup_revert,
    reason_revert,
    serve_eth_node,
)

PAYER = "0x71C7656EC7ab88b098defB751B7401B5f6d8976F"
FEE_WEI = 10_000_000_000_000_000
HEAD = 100


@pytest.fixture
def node() -> Iterator[FakeEthNode]:
    with serve_eth_node() as fake:
        fake.block_number = HEAD
        fake.fees["aud-1"] = (PAYER.lower(), FEE_WEI, HEAD - 2)
        yield fake


@pytest.fixture
def chain(node: FakeEthNode) -> Iterator[Web3VaultChain]:
    vault_chain = Web3VaultChain(
        node.url, contract=VAULT, chain_id=1, required_confirmations=3, timeout=2.0
    )
    yield vault_chain
    vault_chain.close()


def _closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_vault_chain_is_a_payment_confirmations_port(chain: Web3VaultChain) -> None:
    port: PaymentConfirmations = chain
    assert port.required_confirmations == 3


def test_fee_paid_recorded_fee_reads_back_checksummed_with_confirmations(
    chain: Web3VaultChain,
) -> None:
    # Act
    fee = chain.fee_paid(audition_id="aud-1")
    # Assert: paid in block 98, head 100 -> blocks 98, 99, 100
    assert fee == OnChainFee(payer=PAYER, amount_wei=FEE_WEI, confirmations=3)


@pytest.mark.parametrize(
    ("paid_at_block", "confirmations"), [(HEAD, 1), (HEAD - 9, 10), (HEAD + 1, 0)]
)
def test_fee_paid_confirmations_count_from_the_paying_block(
    node: FakeEthNode, chain: Web3VaultChain, paid_at_block: int, confirmations: int
) -> None:
    # Arrange
    node.fees["aud-2"] = (PAYER, FEE_WEI, paid_at_block)
    # Act
    fee = chain.fee_paid(audition_id="aud-2")
    # Assert
    assert fee is not None
    assert fee.confirmations == confirmations


def test_fee_paid_unknown_audition_is_none(chain: Web3VaultChain) -> None:
    assert chain.fee_paid(audition_id="never-paid") is None


def test_fee_paid_checks_chain_then_head_then_calls_at_that_head(
    node: FakeEthNode, chain: Web3VaultChain
) -> None:
    # Act
    chain.fee_paid(audition_id="aud-1")
    # Assert: what web3 really sends, and the call pinned to the head it read
    assert node.methods() == ["eth_chainId", "eth_blockNumber", "eth_call"]
    transaction, block = node.received[-1]["params"]
    assert transaction["to"].lower() == VAULT.lower()
    assert block == hex(HEAD)


def test_fee_paid_on_another_chain_is_unavailable_without_calling(
    node: FakeEthNode, chain: Web3VaultChain
) -> None:
    # Arrange
    node.chain_id = 11155111
    # Act / Assert
    with pytest.raises(ChainUnavailable, match="chain_id=11155111 expected=1"):
        chain.fee_paid(audition_id="aud-1")
    assert "eth_call" not in node.methods()


def test_fee_paid_with_node_down_is_unavailable_quickly() -> None:
    # Arrange
    chain = Web3VaultChain(_closed_port_url(), contract=VAULT, chain_id=1, timeout=0.5)
    started = time.monotonic()
    # Act / Assert
    with pytest.raises(ChainUnavailable):
        chain.fee_paid(audition_id="aud-1")
    assert time.monotonic() - started < 1.0
    chain.close()


def test_fee_paid_with_stalled_node_times_out_as_unavailable(node: FakeEthNode) -> None:
    # Arrange
    node.stall_seconds = 5.0
    chain = Web3VaultChain(node.url, contract=VAULT, chain_id=1, timeout=0.2)
    started = time.monotonic()
    # Act / Assert
    with pytest.raises(ChainUnavailable, match="Timeout"):
        chain.fee_paid(audition_id="aud-1")
    assert time.monotonic() - started < 1.0
    chain.close()


@pytest.mark.parametrize("garbage", list(Garbage), ids=lambda garbage: garbage.value)
def test_fee_paid_with_garbage_answer_is_unavailable(
    node: FakeEthNode, chain: Web3VaultChain, garbage: Garbage
) -> None:
    # Arrange
    node.garbage = garbage
    # Act / Assert
    with pytest.raises(ChainUnavailable):
        chain.fee_paid(audition_id="aud-1")


def test_fee_paid_with_reverted_call_is_unavailable(
    node: FakeEthNode, chain: Web3VaultChain
) -> None:
    # Arrange
    node.revert_data = reason_revert("vault paused")
    # Act / Assert
    with pytest.raises(ChainUnavailable, match="ContractLogicError"):
        chain.fee_paid(audition_id="aud-1")


def test_fee_paid_with_no_vault_at_the_address_is_unavailable(
    node: FakeEthNode, chain: Web3VaultChain
) -> None:
    # Arrange: the node's vault lives elsewhere, so the configured address has no code
    node.contract = "0x" + "11" * 20
    # Act / Assert
    with pytest.raises(ChainUnavailable, match="BadFunctionCallOutput"):
        chain.fee_paid(audition_id="aud-1")


def test_fee_paid_never_follows_an_offchain_lookup(
    node: FakeEthNode, chain: Web3VaultChain
) -> None:
    # Arrange: a hostile node asks the client to fetch a URL (EIP-3668)
    url = node.url + "/ccip/{sender}/{data}.json"
    node.revert_data = offchain_lookup_revert(sender=VAULT, url=url)
    # Act / Assert
    with pytest.raises(ChainUnavailable, match="OffchainLookup"):
        chain.fee_paid(audition_id="aud-1")
    assert node.fetched == []


def test_fee_paid_error_never_names_the_endpoint(node: FakeEthNode) -> None:
    # Arrange: hosted endpoints carry their API key in the URL
    url = node.url + "/v3/secret-api-key"
    chain = Web3VaultChain(url, contract=VAULT, chain_id=1)
    node.garbage = Garbage.HTTP_502
    # Act
    with pytest.raises(ChainUnavailable) as raised:
        chain.fee_paid(audition_id="aud-1")
    chain.close()
    # Assert
    assert "secret-api-key" not in str(raised.value)


def test_vault_chain_with_malformed_contract_is_misconfigured() -> None:
    with pytest.raises(VaultMisconfigured, match="vault_contract"):
        Web3VaultChain("http://127.0.0.1:8545", contract="0xnot-an-address", chain_id=1)


def test_vault_chain_with_zero_confirmations_is_misconfigured() -> None:
    with pytest.raises(VaultMisconfigured, match="required_confirmations=0"):
        Web3VaultChain(
            "http://127.0.0.1:8545", contract=VAULT, chain_id=1, required_confirmations=0
        )


def test_require_confirmed_matching_fee_returns_it(chain: Web3VaultChain) -> None:
    # Act: the submitted payer in lowercase still matches the checksummed record
    fee = require_confirmed(chain, audition_id="aud-1", payer=PAYER.lower(), amount_wei=FEE_WEI)
    # Assert
    assert fee == OnChainFee(payer=PAYER, amount_wei=FEE_WEI, confirmations=3)


def test_require_confirmed_other_payer_is_unconfirmed(chain: Web3VaultChain) -> None:
    other = "0x" + "22" * 20
    with pytest.raises(PaymentUnconfirmed, match="payer="):
        require_confirmed(chain, audition_id="aud-1", payer=other, amount_wei=FEE_WEI)


def test_require_confirmed_other_amount_is_unconfirmed(chain: Web3VaultChain) -> None:
    with pytest.raises(PaymentUnconfirmed, match=f"amount_wei={FEE_WEI}"):
        require_confirmed(chain, audition_id="aud-1", payer=PAYER, amount_wei=FEE_WEI + 1)


def test_require_confirmed_too_few_confirmations_is_unconfirmed(
    node: FakeEthNode, chain: Web3VaultChain
) -> None:
    # Arrange: paid two blocks ago, three required
    node.fees["aud-1"] = (PAYER, FEE_WEI, HEAD - 1)
    # Act / Assert
    with pytest.raises(PaymentUnconfirmed, match="confirmations=2 required=3"):
        require_confirmed(chain, audition_id="aud-1", payer=PAYER, amount_wei=FEE_WEI)


def test_require_confirmed_enough_blocks_later_returns_fee(
    node: FakeEthNode, chain: Web3VaultChain
) -> None:
    # Arrange: paid at the head, then two more blocks are mined
    node.fees["aud-1"] = (PAYER, FEE_WEI, HEAD)
    node.block_number = HEAD + 2
    # Act
    fee = require_confirmed(chain, audition_id="aud-1", payer=PAYER, amount_wei=FEE_WEI)
    # Assert
    assert fee.confirmations == 3


def test_require_confirmed_without_fee_is_unconfirmed(chain: Web3VaultChain) -> None:
    with pytest.raises(PaymentUnconfirmed, match="no fee on chain"):
        require_confirmed(chain, audition_id="never-paid", payer=PAYER, amount_wei=FEE_WEI)


def test_require_confirmed_with_chain_down_is_unavailable_not_unconfirmed(
    node: FakeEthNode, chain: Web3VaultChain
) -> None:
    node.garbage = Garbage.HTTP_502
    with pytest.raises(ChainUnavailable):
        require_confirmed(chain, audition_id="aud-1", payer=PAYER, amount_wei=FEE_WEI)
