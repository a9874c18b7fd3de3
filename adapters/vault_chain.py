"""The vault contract's record of an audition fee, read over JSON-RPC with web3.

Why: a vault receipt is the signer's word; where a deployment sets ``CLASH_VAULT_RPC_URL``
the economy also wants the chain's word (see ``domain/economy/confirmations.py``). This
adapter asks the vault contract one view::

    function auditionFee(string auditionId) view
        returns (address payer, uint256 amountWei, uint256 paidAtBlock)

(:data:`VAULT_ABI`). A zero ``payer`` means no fee is recorded. Confirmations count the
block that recorded the fee: ``head - paidAtBlock + 1``, and 0 when ``paidAtBlock`` is
above the head.

Invariants:

- The endpoint comes from configuration only, never from a user (no SSRF), and never
  appears in an error message (hosted RPC URLs often embed an API key).
- RPC answers are untrusted. Each read checks ``eth_chainId`` first (a node on another
  chain, say a testnet, cannot confirm a mainnet fee), reads the head, then calls the view
  *at that head*, so state and confirmations come from the same block. Any failure
  (refused connection, timeout, HTTP error, non-JSON body, JSON-RPC error, revert,
  undecodable return data) becomes :class:`ChainUnavailable`, never a confirmation and
  never another exception: the submission can be retried and nothing is recorded.
- The node gets no way to send us elsewhere: EIP-3668 offchain lookups (a revert naming
  URLs for the client to fetch) are disabled, so a hostile node cannot make the server
  issue HTTP requests.
- One attempt per RPC call, bounded by ``timeout``: web3's retry-with-backoff is turned
  off, so a dead node fails a request in about ``timeout`` seconds, not several times that.
- No web3 middleware: this read needs no ENS, gas or attribute-dict formatting, and the
  validation middleware would ask ``eth_chainId`` twice more around every ``eth_call``.
  A read is three calls: ``eth_chainId``, ``eth_blockNumber``, ``eth_call``.
- The adapter owns its ``requests.Session`` (passed to ``HTTPProvider``); :meth:`close`
  closes it.
"""

from __future__ import annotations

from typing import Final

import requests
from eth_abi.exceptions import DecodingError
from eth_typing import ABI, BlockNumber
from web3 import Web3
from web3.exceptions import Web3Exception

from domain.economy.confirmations import ChainUnavailable, OnChainFee
from domain.economy.errors import VaultMisconfigured

VAULT_ABI: Final[ABI] = [
    {
        "type": "function",
        "name": "auditionFee",
        "stateMutability": "view",
        "inputs": [{"name": "auditionId", "type": "string"}],
        "outputs": [
            {"name": "payer", "type": "address"},
            {"name": "amountWei", "type": "uint256"},
            {"name": "paidAtBlock", "type": "uint256"},
        ],
    }
]
ZERO_ADDRESS: Final = "0x" + "00" * 20

# What a bad node, proxy or answer can raise through web3 (requests errors are OSErrors;
# malformed JSON or hex surfaces as ValueError, TypeError, KeyError or AttributeError).
_RPC_FAILURES: Final = (
    Web3Exception,
    DecodingError,
    OSError,
    ValueError,
    TypeError,
    KeyError,
    AttributeError,
)


class Web3VaultChain:
    """Read the vault contract's fee records through one configured JSON-RPC endpoint."""

    def __init__(
        self,
        rpc_url: str,
        *,
        contract: str,
        chain_id: int,
        required_confirmations: int = 1,
        timeout: float = 5.0,
    ) -> None:
        if not Web3.is_address(contract):
            raise VaultMisconfigured(f"vault_contract={contract!r} is not an address")
        if chain_id < 1 or required_confirmations < 1 or timeout <= 0:
            raise VaultMisconfigured(
                f"chain_id={chain_id} required_confirmations={required_confirmations}"
                f" timeout={timeout} must all be positive"
            )
        self.chain_id = chain_id
        self.required_confirmations = required_confirmations
        self._session = requests.Session()
        provider = Web3.HTTPProvider(
            rpc_url,
            request_kwargs={"timeout": timeout},
            session=self._session,
            exception_retry_configuration=None,
        )
        self._web3 = Web3(provider, middleware=())
        self._vault = self._web3.eth.contract(
            address=Web3.to_checksum_address(contract), abi=VAULT_ABI
        )

    def fee_paid(self, *, audition_id: str) -> OnChainFee | None:
        """Return the fee recorded for ``audition_id``, or ``None`` when there is none."""
        try:
            head = self._head()
            answer = self._vault.functions.auditionFee(audition_id).call(
                block_identifier=head, ccip_read_enabled=False
            )
            return _fee(answer, head)
        except _RPC_FAILURES as exc:
            raise ChainUnavailable(f"audition={audition_id} error={type(exc).__name__}") from exc

    def close(self) -> None:
        """Close the HTTP session and its pooled connections."""
        self._session.close()

    def _head(self) -> BlockNumber:
        answered = self._web3.eth.chain_id
        if answered != self.chain_id:
            raise ChainUnavailable(f"chain_id={answered} expected={self.chain_id}")
        return self._web3.eth.block_number


def _fee(answer: object, head: int) -> OnChainFee | None:
    match answer:
        case [str() as payer, int() as amount_wei, int() as paid_at_block]:
            if payer.lower() == ZERO_ADDRESS:
                return None
            return OnChainFee(
                payer=Web3.to_checksum_address(payer),
                amount_wei=amount_wei,
                confirmations=max(0, head - paid_at_block + 1),
            )
        case _:
            raise TypeError("auditionFee answered another shape than (address, uint, uint)")
