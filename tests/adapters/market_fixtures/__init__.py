"""Test kit for the source clients: recorded-shape bodies, a fake service and a fake clock.

:class:`FakeService` is what ``httpx.MockTransport`` serves: scripted replies in order
(a response, an exception to raise, or a function of the request), every request kept with
the fake time it arrived at. :class:`FakeTime` is the clients' :class:`Pacing`: its sleep
records the delay and moves the clock, so nothing in these tests really waits.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from adapters.source_http import Pacing

FIXTURES = Path(__file__).parent
WALL_START = datetime(2026, 2, 6, 12, 0, tzinfo=UTC)

Reply = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


def body(name: str) -> bytes:
    """Return a fixture's bytes, exactly as the service would send them."""
    return (FIXTURES / name).read_bytes()


def load(name: str) -> Any:
    """Return a fixture decoded as the standard library decodes JSON (floats as float)."""
    return json.loads(body(name))


def ok(content: bytes | str, status: int = 200, **headers: str) -> httpx.Response:
    """Return a JSON response with ``content`` as its exact body."""
    data = content.encode() if isinstance(content, str) else content
    return httpx.Response(
        status, content=data, headers={"Content-Type": "application/json", **headers}
    )


def reply(payload: object, status: int = 200) -> httpx.Response:
    """Return a JSON response encoding ``payload``."""
    return ok(json.dumps(payload), status)


def with_unknown_fields(
    value: Any, maps: frozenset[str] = frozenset(), *, is_map: bool = False
) -> Any:
    """Add unknown members to every record object (not to objects used as data maps)."""
    if isinstance(value, list):
        return [with_unknown_fields(item, maps) for item in value]
    if not isinstance(value, dict):
        return value
    grown = {
        key: with_unknown_fields(item, maps, is_map=key in maps) for key, item in value.items()
    }
    if not is_map:
        grown["zzAddedLater"] = {"nested": [1.5, None, {"deep": True}], "text": "x"}
    return grown


@dataclass
class FakeTime:
    """A monotonic clock, a wall clock and a sleep that only moves them."""

    now: float = 1_000.0
    sleeps: list[float] = field(default_factory=list)

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(seconds, 0.0)

    def wall_clock(self) -> datetime:
        return WALL_START + timedelta(seconds=self.now)

    @property
    def pacing(self) -> Pacing:
        return Pacing(monotonic=self.monotonic, sleep=self.sleep, wall_clock=self.wall_clock)


@dataclass
class FakeService:
    """Scripted replies for ``httpx.MockTransport``; the last one repeats when they run out."""

    replies: list[Reply]
    time: FakeTime | None = None
    requests: list[httpx.Request] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.arrivals.append(self.time.now if self.time else 0.0)
        step = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        if isinstance(step, Exception):
            raise step
        if isinstance(step, httpx.Response):
            return httpx.Response(step.status_code, headers=step.headers, content=step.content)
        return step(request)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    def bodies(self) -> list[Any]:
        """Return the decoded JSON body of every request so far."""
        return [json.loads(request.content) for request in self.requests]

    def queries(self) -> list[list[tuple[str, str]]]:
        """Return the query parameters of every request so far."""
        return [list(request.url.params.multi_items()) for request in self.requests]
