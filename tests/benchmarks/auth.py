"""Sign-in, refresh and ``/v1/me`` throughput: in-process (ASGI) and over real HTTP.

The same three flows run twice, because the two answer different questions:

- ``auth.asgi.*``: one ``TestClient`` calling the app in this process, sequentially. No
  sockets and no server, so the figure is the application's own cost per request (routing,
  validation, identity service, store) and moves when that code changes.
- ``auth.http.*``: a real ``clash serve`` subprocess on a free port, driven by 8 concurrent
  ``httpx`` clients (one per thread). The figure is what a deployment of one process
  delivers, uvicorn and the loopback included, with client and server sharing the CPUs.

A full SIWE sign-in is a challenge, a wallet signature and a verify. The signature is the
wallet's work, on the client, so it is done between the two timed phases (all challenges,
then all signatures, untimed, then all verifies) and reported on its own as
``auth.*.siwe_client_signing``. ``*.siwe_sign_in`` counts challenge plus verify time; each
sign-in is a new wallet's first, so it also creates the user. Refresh rotations run as
sequential chains (each rotation presents the token the previous one returned), one chain
per client. The rate limits are raised so that they never answer 429.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Protocol, TypeVar

import httpx
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient

from adapters.bootstrap import bootstrap
from adapters.settings import Settings
from api.app import create_app
from tests.kit import a_wallet, signed

# (name, operations, seconds, latencies in seconds): __main__ turns these into figures.
Measurement = tuple[str, int, float, list[float]]
UNLIMITED = "1000000/minute"
HTTP_CLIENTS = 8
CLASH = str(Path(sys.executable).with_name("clash"))
Job = TypeVar("Job")
Result = TypeVar("Result")


class Client(Protocol):
    """What the flows need of ``httpx.Client`` and ``TestClient`` alike."""

    def get(self, url: str, *, headers: dict[str, str]) -> Any: ...

    def post(self, url: str, *, json: Any) -> Any: ...


@dataclass(frozen=True)
class Sizes:
    """How many operations each auth figure measures."""

    sign_ins: int
    refreshes: int
    me_reads: int


FULL = Sizes(sign_ins=200, refreshes=400, me_reads=1000)
QUICK = Sizes(sign_ins=8, refreshes=16, me_reads=32)


def run(
    database_url: str, schema: str, *, quick: bool, workdir: Path | None = None
) -> Iterator[Measurement]:
    """Run the flows in-process, then against a served process, on one database."""
    sizes = QUICK if quick else FULL
    yield from in_process(database_url, schema, sizes)
    with tempfile.TemporaryDirectory(prefix="clash-bench-", dir=workdir) as scratch:
        yield from over_http(database_url, schema, sizes, Path(scratch))


def in_process(database_url: str, schema: str, sizes: Sizes) -> list[Measurement]:
    """Measure the flows through the ASGI app with one ``TestClient``."""
    settings = Settings(
        database_url=database_url,
        postgres_schema=schema,
        auth_rate_limit_per_ip=UNLIMITED,
        auth_rate_limit_per_address=UNLIMITED,
    )
    container = bootstrap(settings)
    try:
        with TestClient(create_app(container)) as client:
            return flows([client], "asgi", sizes)
    finally:
        container.close()


def over_http(database_url: str, schema: str, sizes: Sizes, scratch: Path) -> list[Measurement]:
    """Measure the flows against ``clash serve`` with concurrent ``httpx`` clients."""
    with served(database_url, schema, scratch) as url:
        clients = [httpx.Client(base_url=url, timeout=60) for _ in range(HTTP_CLIENTS)]
        try:
            for client in clients:
                _ok(client.get("/health"))
            return flows(clients, "http", sizes)
        finally:
            for client in clients:
                client.close()


def flows(clients: Sequence[Client], transport: str, sizes: Sizes) -> list[Measurement]:
    """Sign in, rotate refresh chains and read ``/v1/me``; return every figure."""
    prefix = f"auth.{transport}"
    measured, sessions = sign_ins(clients, prefix, sizes.sign_ins)
    measured.append(refresh_chains(clients, prefix, sessions, sizes.refreshes))
    measured.append(me_reads(clients, prefix, sessions, sizes.me_reads))
    return measured


def sign_ins(
    clients: Sequence[Client], prefix: str, count: int
) -> tuple[list[Measurement], list[dict[str, Any]]]:
    """Challenge, sign (untimed) and verify ``count`` new wallets; return figures and sessions."""
    wallets = [a_wallet(f"bench-{prefix}-{uuid.uuid4().hex}") for _ in range(count)]
    messages, challenge_lat, challenge_s = fan_out(len(clients), wallets, _challenger(clients))
    pairs = list(zip(messages, wallets, strict=True))
    signatures, signing_lat, signing_s = fan_out(1, pairs, _sign)
    signed_messages = list(zip(messages, signatures, strict=True))
    sessions, verify_lat, verify_s = fan_out(len(clients), signed_messages, _verifier(clients))
    full = [c + v for c, v in zip(challenge_lat, verify_lat, strict=True)]
    return [
        (f"{prefix}.siwe_client_signing", count, signing_s, signing_lat),
        (f"{prefix}.siwe_challenge", count, challenge_s, challenge_lat),
        (f"{prefix}.siwe_verify", count, verify_s, verify_lat),
        (f"{prefix}.siwe_sign_in", count, challenge_s + verify_s, full),
    ], sessions


def _challenger(clients: Sequence[Client]) -> Callable[[int, LocalAccount], str]:
    def challenge(slot: int, wallet: LocalAccount) -> str:
        body = {"address": wallet.address, "chainId": 1}
        message: str = _ok(clients[slot].post("/v1/auth/siwe/challenge", json=body))["message"]
        return message

    return challenge


def _sign(_: int, pair: tuple[str, LocalAccount]) -> str:
    return signed(*pair)


def _verifier(clients: Sequence[Client]) -> Callable[[int, tuple[str, str]], dict[str, Any]]:
    def verify(slot: int, pair: tuple[str, str]) -> dict[str, Any]:
        body = {"message": pair[0], "signature": pair[1]}
        return _ok(clients[slot].post("/v1/auth/siwe/verify", json=body))

    return verify


def refresh_chains(
    clients: Sequence[Client], prefix: str, sessions: Sequence[dict[str, Any]], count: int
) -> Measurement:
    """Rotate one refresh chain per client, each rotation using the previous one's token."""
    tokens = [str(session["refreshToken"]) for session in sessions[: len(clients)]]

    def rotate(slot: int, _: int) -> None:
        body = {"refreshToken": tokens[slot]}
        tokens[slot] = _ok(clients[slot].post("/v1/auth/refresh", json=body))["refreshToken"]

    _, latencies, seconds = fan_out(len(tokens), list(range(count)), rotate)
    return (f"{prefix}.refresh_rotation", count, seconds, latencies)


def me_reads(
    clients: Sequence[Client], prefix: str, sessions: Sequence[dict[str, Any]], count: int
) -> Measurement:
    """Read ``/v1/me`` ``count`` times, each client with its own access token."""
    headers = [{"Authorization": f"Bearer {s['accessToken']}"} for s in sessions[: len(clients)]]

    def read(slot: int, _: int) -> None:
        _ok(clients[slot].get("/v1/me", headers=headers[slot]))

    _, latencies, seconds = fan_out(len(headers), list(range(count)), read)
    return (f"{prefix}.me", count, seconds, latencies)


def fan_out(
    slots: int, jobs: Sequence[Job], call: Callable[[int, Job], Result]
) -> tuple[list[Result], list[float], float]:
    """Run ``call(slot, job)`` for every job on ``slots`` threads; slot ``s`` takes jobs
    ``s, s + slots, ...`` in order. Return results and latencies in job order, and the wall
    time of the whole batch."""
    outcomes: dict[int, tuple[Result, float]] = {}

    def lane(slot: int) -> None:
        for index in range(slot, len(jobs), slots):
            outcomes[index] = _timed(partial(call, slot, jobs[index]))

    started = time.perf_counter()
    if slots == 1:
        lane(0)
    else:
        with ThreadPoolExecutor(max_workers=slots) as pool:
            list(pool.map(lane, range(slots)))
    seconds = time.perf_counter() - started
    ordered = [outcomes[index] for index in range(len(jobs))]
    return [r for r, _ in ordered], [t for _, t in ordered], seconds


def _timed(call: Callable[[], Result]) -> tuple[Result, float]:
    started = time.perf_counter()
    result = call()
    return result, time.perf_counter() - started


def _ok(response: Any) -> dict[str, Any]:
    if response.status_code != 200:
        raise RuntimeError(f"HTTP {response.status_code}: {response.text[:500]}")
    body: dict[str, Any] = response.json()
    return body


@contextmanager
def served(database_url: str, schema: str, scratch: Path) -> Iterator[str]:
    """Run ``clash serve`` on a free port until the block ends; yield its base URL."""
    port = _free_port()
    env = {
        **os.environ,
        "CLASH_DATABASE_URL": database_url,
        "CLASH_POSTGRES_SCHEMA": schema,
        "CLASH_AUTH_RATE_LIMIT_PER_IP": UNLIMITED,
        "CLASH_AUTH_RATE_LIMIT_PER_ADDRESS": UNLIMITED,
        "CLASH_LOG_LEVEL": "WARNING",
    }
    log = scratch / "serve.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [CLASH, "serve", "--port", str(port)],
            cwd=scratch,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_ready(url, process, log)
        yield url
    finally:
        _stop(process)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"clash serve exited early:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/health/ready", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"clash serve was not ready within 60 s:\n{log.read_text()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
