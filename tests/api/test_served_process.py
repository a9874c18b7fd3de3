"""``clash serve`` as a newcomer runs it: a real process, a real port, real stores.

A scripted SIWE sign-in (eth-account signs the challenge) reaches ``/v1/me``; SIGTERM
stops the process cleanly; on PostgreSQL one process under concurrent load stays within
its connection budget of 40.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.conftest import POSTGRES_URL
from tests.kit import a_wallet, signed

CLASH = str(Path(sys.executable).with_name("clash"))
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Served:
    """A running ``clash serve`` process and its base URL."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = cwd / "serve.log"
        with self.log.open("w") as output:
            self.process = subprocess.Popen(
                [CLASH, "serve", "--port", str(self.port)],
                cwd=cwd,
                env={**os.environ, **env},
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"serve exited early:\n{self.log.read_text()}")
            try:
                if httpx.get(f"{self.url}/health/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise AssertionError(f"serve never became ready:\n{self.log.read_text()}")

    def stop(self) -> int:
        """SIGTERM the process and return its exit code."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)

    def shut_down_cleanly(self) -> bool:
        """Whether the log shows the lifespan (workers included) finished its shutdown."""
        text = self.log.read_text()
        return "Application shutdown complete" in text and "workers_stopped" in text


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[type[Served]]:
    started: list[Served] = []

    def start(env: dict[str, str]) -> Served:
        served = Served({"CLASH_LOG_LEVEL": "INFO", **env}, tmp_path)
        started.append(served)
        return served

    yield start  # type: ignore[misc]
    for served in started:
        if served.process.poll() is None:
            served.process.kill()
            served.process.wait()


def _sign_in(client: httpx.Client, name: str) -> str:
    wallet = a_wallet(name)
    challenge = client.post(
        "/v1/auth/siwe/challenge", json={"address": wallet.address, "chainId": 1}
    )
    message = challenge.json()["message"]
    session = client.post(
        "/v1/auth/siwe/verify", json={"message": message, "signature": signed(message, wallet)}
    )
    assert session.status_code == 200, session.text
    token: str = session.json()["accessToken"]
    return token


def test_serve_on_default_sqlite_signs_in_and_stops_on_sigterm(serve, tmp_path: Path) -> None:
    # Arrange: no CLASH_DATABASE_URL, so the embedded default under ./var is used.
    served = serve({})
    # Act
    with httpx.Client(base_url=served.url, timeout=10) as client:
        token = _sign_in(client, "newcomer")
        me = client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    code = served.stop()
    # Assert
    assert me.status_code == 200
    assert me.json()["wallets"][0]["address"] == a_wallet("newcomer").address
    assert (tmp_path / "var" / "clash.db").exists()
    # uvicorn re-raises the captured SIGTERM after its graceful shutdown.
    assert code in (0, -signal.SIGTERM)
    assert served.shut_down_cleanly(), served.log.read_text()


def test_serve_offline_replays_bundled_candles_as_the_market(serve) -> None:
    # Arrange: replay at 600x, so one real second is ten market minutes.
    served = serve({"CLASH_REPLAY_SPEED": "600"})
    with httpx.Client(base_url=served.url, timeout=10) as client:
        headers = {"Authorization": f"Bearer {_sign_in(client, 'watcher')}"}
        # Act
        deadline, clock = time.monotonic() + 30, {}
        while time.monotonic() < deadline:
            clock = client.get("/v1/market/clock", headers=headers).json()
            if clock["status"] == "playing" and clock["now"] > "2021-07-03T00:30:00Z":
                break
            time.sleep(0.5)
        candles = client.get(
            "/v1/market/candles", headers=headers, params={"asset": "BTC", "interval": "5m"}
        ).json()
    served.stop()
    # Assert
    assert clock["mode"] == "replay"
    assert clock["now"] > "2021-07-03T00:30:00Z", clock
    assert candles["data"][0]["open"] == "33786.54"
    assert all(c["closeTime"] <= clock["now"] for c in candles["data"])
    assert "work item failed" not in served.log.read_text(), "a worker failed under serve"


def _connections(application_name: str) -> int:
    with psycopg.connect(POSTGRES_URL) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
            (application_name,),
        ).fetchone()
    return int(row[0]) if row else 0


def test_serve_on_postgres_stays_within_40_connections(serve, postgres_schema: str) -> None:
    # Arrange
    name = f"clash-test-{uuid.uuid4().hex[:8]}"
    served = serve(
        {
            "CLASH_DATABASE_URL": POSTGRES_URL,
            "CLASH_POSTGRES_SCHEMA": postgres_schema,
            "CLASH_DB_APPLICATION_NAME": name,
            "CLASH_AUTH_RATE_LIMIT_PER_IP": "100000/minute",
        }
    )
    peak, stop = [0], threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], _connections(name))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample)
    sampler.start()
    # Act: 48 concurrent clients sign in and read /v1/me.
    with httpx.Client(
        base_url=served.url, timeout=60, limits=httpx.Limits(max_connections=64)
    ) as client:

        def one(i: int) -> int:
            token = _sign_in(client, f"load-{i}")
            return client.get("/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code

        with ThreadPoolExecutor(max_workers=48) as pool:
            statuses = list(pool.map(one, range(96)))
    stop.set()
    sampler.join()
    served.stop()
    # Assert
    assert statuses == [200] * 96
    assert 0 < peak[0] <= 40, f"peak PostgreSQL connections: {peak[0]}"
