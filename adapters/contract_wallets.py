"""EIP-1271 contract-wallet signature checks over JSON-RPC (``eth_call``).

Used only when ``CLASH_EIP1271_RPC_URL`` is set. The endpoint comes from configuration,
never from the user (no SSRF). RPC answers are untrusted: anything but the exact magic
value ``0x1626ba7e`` in the first word of the result (errors, timeouts, garbage) counts as
"not accepted", so a flaky node can refuse a sign-in but never grant one.
"""

from __future__ import annotations

import httpx
from eth_abi.abi import encode

IS_VALID_SIGNATURE_SELECTOR = "1626ba7e"
MAGIC_VALUE = bytes.fromhex(IS_VALID_SIGNATURE_SELECTOR)


class JsonRpcContractWallets:
    """Ask a contract wallet, through a JSON-RPC node, whether it accepts a signature."""

    def __init__(
        self, rpc_url: str, *, timeout: float = 5.0, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.rpc_url = rpc_url
        self._client = httpx.Client(timeout=timeout, transport=transport)

    def is_valid_signature(
        self, *, address: str, chain_id: int, message_hash: bytes, signature: str
    ) -> bool:
        """Return whether ``address`` answers ``isValidSignature`` with the magic value."""
        try:
            signature_bytes = bytes.fromhex(signature.removeprefix("0x"))
        except ValueError:
            return False
        call_data = (
            "0x"
            + IS_VALID_SIGNATURE_SELECTOR
            + encode(["bytes32", "bytes"], [message_hash, signature_bytes]).hex()
        )
        try:
            if self._rpc("eth_chainId", []) != hex(chain_id):
                return False
            result = self._rpc("eth_call", [{"to": address, "data": call_data}, "latest"])
        except (httpx.HTTPError, ValueError, KeyError, TypeError):
            return False
        return isinstance(result, str) and _first_word_is_magic(result)

    def _rpc(self, method: str, params: list[object]) -> object:
        response = self._client.post(
            self.rpc_url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        )
        response.raise_for_status()
        body = response.json()
        if "error" in body:
            raise ValueError(f"rpc error: method={method}")
        return body["result"]

    def close(self) -> None:
        """Close the HTTP client."""
        self._client.close()


def _first_word_is_magic(result: str) -> bool:
    try:
        raw = bytes.fromhex(result.removeprefix("0x"))
    except ValueError:
        return False
    return len(raw) >= 32 and raw[:4] == MAGIC_VALUE
