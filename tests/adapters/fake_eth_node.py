"""A fake Ethereum JSON-RPC node on loopback: real HTTP, a vault contract's recorded fees.

Why: the vault-chain adapter goes through web3's own ``HTTPProvider`` (requests, JSON-RPC
encoding, response validation, ABI decoding), so the only honest test double is a server
that speaks the wire format of a real node. Answers copy geth's: ``eth_chainId`` and
``eth_blockNumber`` as hex quantities; ``eth_call`` runs the vault's
``auditionFee(string)`` view (an unrecorded id reads back as zeros, like a Solidity
mapping), returns ``0x`` for an address without code, reverts (``-32000 execution
reverted``) on an unknown selector, and says ``header not found`` for a block above the
head; ``eth_getCode`` (which web3 asks after an empty call result) knows the vault; a
revert carries ``code 3`` and its data (``Error(string)``, EIP-3668 ``OffchainLookup``);
any other method gets ``-32601``. Batches (a JSON array) are answered element by element,
and GETs (what an offchain lookup would fetch) are recorded and answered 404. Tests set
the chain id, head, fees, revert data, a stall, or a :class:`Garbage` mode on the yielded
:class:`FakeEthNode` between calls. The server binds port 0 and joins every handler thread
on shutdown (a stalled one is woken first).
"""

from __future__ import annotations

import enum
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from eth_abi.abi import decode, encode
from eth_abi.exceptions import DecodingError
from eth_utils.abi import function_signature_to_4byte_selector

VAULT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
ZERO_ADDRESS = "0x" + "00" * 20
AUDITION_FEE_SELECTOR = "0x" + function_signature_to_4byte_selector("auditionFee(string)").hex()
ERROR_SELECTOR = function_signature_to_4byte_selector("Error(string)")
OFFCHAIN_LOOKUP_SELECTOR = function_signature_to_4byte_selector(
    "OffchainLookup(address,string[],bytes,bytes4,bytes)"
)
VAULT_CODE = "0x608060405234801561001057600080fd5b50600436106100365760003560e01c8063c62b6c02"

Fee = tuple[str, int, int]  # (payer, amount_wei, paid_at_block)


class Garbage(enum.Enum):
    """Ways a broken node or proxy answers."""

    HTTP_502 = "http_502"  # a proxy in front of a dead node
    NOT_JSON = "not_json"  # an HTML error page with status 200
    NOT_HEX = "not_hex"  # every result is a string that is not hex
    CALL_NOT_HEX = "call_not_hex"  # only eth_call's result is not hex
    CALL_TRUNCATED = "call_truncated"  # eth_call returns fewer than three words
    CALL_OBJECT = "call_object"  # eth_call returns a JSON object instead of a string


@dataclass
class FakeEthNode:
    """The state a test controls, and the JSON-RPC calls the node received."""

    url: str
    chain_id: int = 1
    block_number: int = 100
    contract: str = VAULT
    fees: dict[str, Fee] = field(default_factory=dict)
    garbage: Garbage | None = None
    revert_data: bytes | None = None
    stall_seconds: float = 0.0
    received: list[Any] = field(default_factory=list)
    fetched: list[str] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def methods(self) -> list[str]:
        """Return the method of every call received, batches flattened, in order."""
        calls: list[Any] = []
        for body in self.received:
            calls.extend(body if isinstance(body, list) else [body])
        return [str(call.get("method")) for call in calls if isinstance(call, dict)]

    def answer(self, call: Any) -> dict[str, Any]:
        """Return the JSON-RPC response object for one call."""
        if not isinstance(call, dict) or not isinstance(call.get("method"), str):
            return _error(None, -32600, "invalid request")
        method, params = call["method"], call.get("params") or []
        try:
            result = self._result(method, params)
        except _RpcError as exc:
            return _error(call.get("id"), exc.code, exc.message, exc.data)
        if self.garbage is Garbage.NOT_HEX:
            result = "0xnot-hex-at-all"
        return {"jsonrpc": "2.0", "id": call.get("id"), "result": result}

    def _result(self, method: str, params: list[Any]) -> Any:
        if method == "eth_chainId":
            return hex(self.chain_id)
        if method == "eth_blockNumber":
            return hex(self.block_number)
        if method == "eth_call":
            return self._call(params)
        if method == "eth_getCode":
            return VAULT_CODE if str(params[0]).lower() == self.contract.lower() else "0x"
        raise _RpcError(-32601, f"the method {method} does not exist/is not available")

    def _call(self, params: list[Any]) -> Any:
        transaction, block = params[0], params[1] if len(params) > 1 else "latest"
        if isinstance(block, str) and block.startswith("0x") and int(block, 16) > self.block_number:
            raise _RpcError(-32000, "header not found")
        if str(transaction.get("to", "")).lower() != self.contract.lower():
            return "0x"  # no code at that address: geth answers empty return data
        output = self._run_vault(str(transaction.get("data") or transaction.get("input") or ""))
        return _garbled(output, self.garbage)

    def _run_vault(self, data: str) -> str:
        if self.revert_data is not None:
            raise _RpcError(3, "execution reverted", "0x" + self.revert_data.hex())
        if not data.startswith(AUDITION_FEE_SELECTOR):
            raise _RpcError(-32000, "execution reverted")
        try:
            (audition_id,) = decode(["string"], bytes.fromhex(data[10:]))
        except (DecodingError, ValueError):
            raise _RpcError(-32000, "execution reverted") from None
        payer, amount_wei, block = self.fees.get(audition_id, (ZERO_ADDRESS, 0, 0))
        return "0x" + encode(["address", "uint256", "uint256"], [payer, amount_wei, block]).hex()


def reason_revert(reason: str) -> bytes:
    """Return the revert data of ``require(false, reason)``."""
    return ERROR_SELECTOR + encode(["string"], [reason])


def offchain_lookup_revert(*, sender: str, url: str) -> bytes:
    """Return EIP-3668 ``OffchainLookup`` revert data asking the client to fetch ``url``."""
    args = encode(
        ["address", "string[]", "bytes", "bytes4", "bytes"],
        [sender, [url], b"\x01", b"\x00\x00\x00\x01", b""],
    )
    return OFFCHAIN_LOOKUP_SELECTOR + args


class _RpcError(Exception):
    def __init__(self, code: int, message: str, data: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.data = code, message, data


def _error(call_id: Any, code: int, message: str, data: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return {"jsonrpc": "2.0", "id": call_id, "error": error}


def _garbled(output: str, garbage: Garbage | None) -> Any:
    if garbage is Garbage.CALL_NOT_HEX:
        return "0x" + "zz" * 96
    if garbage is Garbage.CALL_TRUNCATED:
        return output[: 2 + 64 * 2]
    if garbage is Garbage.CALL_OBJECT:
        return {"output": output}
    return output


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # server_close() joins every handler thread
    node: FakeEthNode


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        node = self.server.node
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        node.release.wait(node.stall_seconds)
        if node.garbage is Garbage.HTTP_502:
            self._send(502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html")
        elif node.garbage is Garbage.NOT_JSON:
            self._send(200, b"<html><body>upstream error</body></html>", "text/html")
        else:
            self._send(200, json.dumps(self._answer(node, raw)).encode(), "application/json")

    def do_GET(self) -> None:
        self.server.node.fetched.append(self.path)
        self._send(404, b"not found", "text/plain")

    def _answer(self, node: FakeEthNode, raw: bytes) -> Any:
        try:
            body = json.loads(raw)
        except ValueError:
            return _error(None, -32700, "parse error")
        node.received.append(body)
        if isinstance(body, list):
            return [node.answer(call) for call in body]
        return node.answer(body)

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass  # the client gave up (a timeout test): nothing left to answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serve_eth_node() -> Iterator[FakeEthNode]:
    """Serve a fake JSON-RPC node on a free loopback port while the block runs."""
    server = _Server(("127.0.0.1", 0), _Handler)
    host, port = server.server_address[:2]
    server.node = FakeEthNode(url=f"http://{host!s}:{port}")
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield server.node
    finally:
        server.node.release.set()
        server.shutdown()
        server.server_close()
        thread.join()
