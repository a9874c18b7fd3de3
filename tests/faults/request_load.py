"""Steady HTTP load on a served app, with every answer recorded for the fault tests.

Writers append to the prop ledger (open an account, adjust their own account by exactly
one USDC) and readers hit the routes an operator and a user would (liveness, readiness,
worker health, ``/v1/me``). Each call is recorded with its start and end on the monotonic
clock, so a test can ask what was answered during an outage and how fast, and which
writes were acknowledged (2xx) and must therefore be in the store afterwards.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import httpx

REQUEST_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class Call:
    """One request and its answer (``status`` 0 when no answer came at all)."""

    kind: str
    started: float
    finished: float
    status: int
    content_type: str = ""
    problem_type: str = ""
    subject: str = ""

    @property
    def seconds(self) -> float:
        """How long the answer took."""
        return self.finished - self.started

    @property
    def acknowledged(self) -> bool:
        """Whether the service said the request succeeded."""
        return 200 <= self.status < 300

    def within(self, start: float, end: float) -> bool:
        """Whether the call started and finished inside ``[start, end]``."""
        return start <= self.started and self.finished <= end


@dataclass
class Principal:
    """A signed-in caller: an access token and the user id it stands for."""

    token: str
    user_id: str

    @property
    def headers(self) -> dict[str, str]:
        """The Authorization header of this caller."""
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Load:
    """Writer and reader threads against ``base_url`` until :meth:`stop`."""

    base_url: str
    admin: Principal
    owner: Principal
    accounts: list[str]
    calls: list[Call] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, readers: int = 2) -> None:
        """Start one writer per account and ``readers`` readers."""
        for number, account in enumerate(self.accounts):
            causes = _causes(f"fault-drill:{number}")
            self._spawn(lambda client, a=account, c=causes: self._write(client, a, next(c)))
        for _ in range(readers):
            self._spawn(self._read)

    def stop(self) -> list[Call]:
        """Stop every thread and return every call, in the order they finished."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=REQUEST_TIMEOUT_SECONDS + 5)
        return list(self.calls)

    def _spawn(self, body: Callable[[httpx.Client], None]) -> None:
        def run() -> None:
            with httpx.Client(base_url=self.base_url, timeout=REQUEST_TIMEOUT_SECONDS) as client:
                while not self._stop.is_set():
                    body(client)
                    time.sleep(0.02)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _write(self, client: httpx.Client, account: str, cause: str) -> None:
        body = {"ownerUserId": self.owner.user_id, "collateral": "100", "cause": cause}
        self._call(client, "open", "POST", "/v1/admin/prop-accounts", cause, body)
        adjustment = {"amount": "1", "reason": f"fault drill {cause}"}
        path = f"/v1/admin/prop-accounts/{account}/adjust"
        self._call(client, "adjust", "POST", path, account, adjustment)

    def _read(self, client: httpx.Client) -> None:
        for kind, path in (
            ("liveness", "/health"),
            ("readiness", "/health/ready"),
            ("workers", "/health/workers"),
            ("me", "/v1/me"),
        ):
            self._call(client, kind, "GET", path, self.owner.user_id)

    def _call(
        self,
        client: httpx.Client,
        kind: str,
        method: str,
        path: str,
        subject: str,
        body: dict[str, str] | None = None,
    ) -> None:
        principal = self.admin if method == "POST" else self.owner
        started = time.monotonic()
        try:
            response = client.request(method, path, json=body, headers=principal.headers)
        except httpx.HTTPError:
            call = Call(kind, started, time.monotonic(), 0, subject=subject)
        else:
            call = _recorded(kind, started, response, subject)
        with self._lock:
            self.calls.append(call)


def _causes(prefix: str) -> Iterator[str]:
    # A cause per open: each opens a new account (the same cause would reopen the same one).
    return (f"{prefix}:{i}" for i in itertools.count())


def _recorded(kind: str, started: float, response: httpx.Response, subject: str) -> Call:
    content_type = response.headers.get("content-type", "")
    problem = response.json().get("type", "") if "problem+json" in content_type else ""
    return Call(
        kind, started, time.monotonic(), response.status_code, content_type, problem, subject
    )
