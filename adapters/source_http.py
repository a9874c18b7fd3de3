"""The HTTP machinery every market-data source client shares: budget, retries, one error tree.

Why it exists: Hyperliquid, Polymarket and DefiLlama fail in the same ways (timeouts, 5xx,
429 with or without ``Retry-After``) and all three punish a client that ignores their limits.
Each client describes *what* to ask and what a request costs; this module decides *how*:

- **Budget.** A :class:`WeightBudget` allows at most ``capacity`` weight in any
  ``window_seconds``. It is a sliding log of what was spent, not a refilling token bucket,
  because a bucket that starts full lets through up to twice its capacity within one window,
  which is exactly what a backfill would do. A request may draw on several budgets at once
  (Polymarket's global, per-service and per-endpoint limits); it waits until all have room
  and then spends from all at the same instant. Weight learnt only from the answer
  (Hyperliquid's "+1 per 60 candles") is spent afterwards, which delays the next request.
  Every attempt spends, retries included: the source counts them.
- **Retries.** tenacity retries timeouts, connection failures, 5xx and 429, a bounded number
  of times, with full-jitter exponential backoff (clients that failed together spread out).
  On 429 and 503 a ``Retry-After`` (seconds or an HTTP date) is honoured as a floor; one
  longer than ``max_retry_after_seconds`` is not slept through: the call fails at once with
  the hint attached, so a scheduler can come back later instead of a worker hanging.
- **Errors.** Everything a caller sees is a :class:`SourceError` naming source and endpoint:
  :class:`SourceUnavailable` (try later), :class:`SourceRejected` (a 4xx other than 429: the
  request itself is wrong, so it is not retried) or :class:`PayloadError` (the body, non-JSON
  included, is not what the parser requires).
- **Time.** Clocks and sleep come in through :class:`Pacing`, so tests step a fake clock and
  never really wait.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx
import structlog
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

# Re-exported, so callers catch the whole tree from one place.
from domain.market.payloads import PayloadError as PayloadError  # noqa: PLC0414
from domain.market.payloads import SourceError as SourceError  # noqa: PLC0414
from domain.market.payloads import decode_json

_log: structlog.typing.FilteringBoundLogger = structlog.get_logger(__name__)
_SECONDS = re.compile(r"\d+(\.\d+)?")
_MIN_WAIT = 1e-6
Sleep = Callable[[float], Awaitable[None]]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SourceUnavailable(SourceError):
    """Raised when a source gave no answer within the attempts (timeouts, 5xx, 429)."""

    def __init__(
        self,
        source: str,
        endpoint: str,
        detail: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(source, endpoint, detail, status=status, retry_after=retry_after)
        self.status = status
        self.retry_after = retry_after


class SourceRejected(SourceError):
    """Raised when a source refused the request itself (a 4xx other than 429)."""

    def __init__(self, source: str, endpoint: str, detail: str, *, status: int) -> None:
        super().__init__(source, endpoint, detail, status=status)
        self.status = status


class _Transient(Exception):
    def __init__(
        self, detail: str, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status
        self.retry_after = retry_after


@dataclass(frozen=True)
class Pacing:
    """The clocks and the sleep a client waits with; tests pass fakes."""

    monotonic: Callable[[], float] = time.monotonic
    sleep: Sleep = asyncio.sleep
    wall_clock: Callable[[], datetime] = _utc_now


@dataclass(frozen=True)
class Retries:
    """How often and how patiently one request is retried."""

    max_attempts: int = 4
    base_seconds: float = 0.5
    max_seconds: float = 30.0
    max_retry_after_seconds: float = 120.0


class WeightBudget:
    """At most ``capacity`` weight in any window of ``window_seconds`` (a sliding log)."""

    def __init__(
        self, name: str, capacity: int, window_seconds: float, clock: Callable[[], float]
    ) -> None:
        if capacity < 1 or window_seconds <= 0:
            raise ValueError(f"budget={name} needs capacity >= 1 and a positive window")
        self.name = name
        self.capacity = capacity
        self.window_seconds = window_seconds
        self._clock = clock
        self._spent: deque[tuple[float, int]] = deque()
        self._total = 0

    def used(self) -> int:
        """Return the weight spent within the current window."""
        self._expire(self._clock())
        return self._total

    def delay_for(self, weight: int) -> float:
        """Return how many seconds until ``weight`` more fits (0 when it fits now)."""
        if weight > self.capacity:
            raise ValueError(f"budget={self.name} weight={weight} exceeds {self.capacity}")
        now = self._clock()
        self._expire(now)
        excess = self._total + weight - self.capacity
        if excess <= 0:
            return 0.0
        for stamp, spent in self._spent:
            excess -= spent
            if excess <= 0:
                # Never 0 while over budget, so float rounding cannot let a request through.
                return max(stamp + self.window_seconds - now, _MIN_WAIT)
        return self.window_seconds

    def spend(self, weight: int) -> None:
        """Count ``weight`` as spent now (it may overdraw: later requests then wait)."""
        if weight > 0:
            self._spent.append((self._clock(), weight))
            self._total += weight

    def _expire(self, now: float) -> None:
        while self._spent and self._spent[0][0] <= now - self.window_seconds:
            self._total -= self._spent.popleft()[1]


@dataclass(frozen=True)
class Charge:
    """What one request costs one budget."""

    budget: WeightBudget
    weight: int = 1


async def spend_when_free(charges: Sequence[Charge], sleep: Sleep) -> None:
    """Wait until every charged budget has room, then spend from all at the same instant."""
    while True:
        delay = max((charge.budget.delay_for(charge.weight) for charge in charges), default=0.0)
        if delay <= 0:
            for charge in charges:
                charge.budget.spend(charge.weight)
            return
        await sleep(delay)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Return the seconds a ``Retry-After`` header asks for (seconds or an HTTP date)."""
    if value is None:
        return None
    text = value.strip()
    if _SECONDS.fullmatch(text):
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


@dataclass(frozen=True)
class _Request:
    method: str
    path: str
    endpoint: str
    charges: Sequence[Charge]
    params: tuple[tuple[str, str], ...] | None
    body: object


@dataclass(frozen=True)
class SourceOptions:
    """How every HTTP client of one source connects (shared by the source's clients)."""

    source: str
    timeout_seconds: float = 10.0
    max_attempts: int = 4
    transport: httpx.AsyncBaseTransport | None = None
    pacing: Pacing = field(default_factory=Pacing)

    def http(self, base_url: str) -> SourceHttp:
        """An HTTP client of this source for ``base_url``."""
        return SourceHttp(
            self.source,
            base_url,
            timeout_seconds=self.timeout_seconds,
            retries=Retries(max_attempts=self.max_attempts),
            transport=self.transport,
            pacing=self.pacing,
        )


class SourceHttp:
    """One source's HTTP client: base URL, timeout, budgets and bounded, jittered retries."""

    def __init__(
        self,
        source: str,
        base_url: str,
        *,
        timeout_seconds: float,
        retries: Retries | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        pacing: Pacing | None = None,
    ) -> None:
        self.source = source
        self.retries = retries or Retries()
        self.pacing = pacing or Pacing()
        self._jitter = wait_random_exponential(
            multiplier=self.retries.base_seconds, max=self.retries.max_seconds
        )
        self._client = httpx.AsyncClient(
            base_url=base_url,
            timeout=httpx.Timeout(timeout_seconds),
            transport=transport,
            headers={"Accept": "application/json", "User-Agent": "clash-of-clones/0.1"},
        )

    async def request(
        self,
        method: str,
        path: str,
        *,
        endpoint: str | None = None,
        params: Sequence[tuple[str, str]] | None = None,
        body: object = None,
        charges: Sequence[Charge] = (),
    ) -> object:
        """Send ``method path`` (``body`` as JSON) and return the decoded JSON answer."""
        query = None if params is None else tuple(params)
        request = _Request(method, path, endpoint or path, charges, query, body)
        return await self._call(request)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()

    async def _call(self, request: _Request) -> object:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.retries.max_attempts),
            wait=self._wait,
            retry=retry_if_exception_type(_Transient),
            sleep=self.pacing.sleep,
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            return await retrying.wraps(self._attempt)(request)
        except _Transient as exc:
            detail = f"{exc.detail}; gave up after {self.retries.max_attempts} attempts"
            raise SourceUnavailable(
                self.source,
                request.endpoint,
                detail,
                status=exc.status,
                retry_after=exc.retry_after,
            ) from exc

    async def _attempt(self, request: _Request) -> object:
        await spend_when_free(request.charges, self.pacing.sleep)
        try:
            response = await self._client.request(
                request.method, request.path, params=request.params, json=request.body
            )
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            raise _Transient(f"{type(exc).__name__}: {exc}") from exc
        except httpx.HTTPError as exc:
            detail = f"{type(exc).__name__}: {exc}"
            raise SourceUnavailable(self.source, request.endpoint, detail) from exc
        return self._answer(response, request.endpoint)

    def _answer(self, response: httpx.Response, endpoint: str) -> object:
        status = response.status_code
        if response.is_success:
            return decode_json(response.content, self.source, endpoint)
        if status != 429 and status < 500:
            detail = f"HTTP {status}: {response.text[:200]!r}"
            raise SourceRejected(self.source, endpoint, detail, status=status)
        hint = response.headers.get("Retry-After") if status in (429, 503) else None
        retry_after = parse_retry_after(hint, self.pacing.wall_clock())
        if retry_after is not None and retry_after > self.retries.max_retry_after_seconds:
            detail = f"HTTP {status} asks to retry after {retry_after:.0f} s, beyond the limit"
            raise SourceUnavailable(
                self.source, endpoint, detail, status=status, retry_after=retry_after
            )
        raise _Transient(f"HTTP {status}", status=status, retry_after=retry_after)

    def _wait(self, state: RetryCallState) -> float:
        backoff = float(self._jitter(state))
        failure = state.outcome.exception() if state.outcome is not None else None
        if isinstance(failure, _Transient) and failure.retry_after is not None:
            return max(backoff, failure.retry_after)
        return backoff

    def _log_retry(self, state: RetryCallState) -> None:
        failure = state.outcome.exception() if state.outcome is not None else None
        _log.warning(
            "source request retried",
            source=self.source,
            attempt=state.attempt_number,
            delay=round(state.upcoming_sleep, 3),
            error=str(failure),
        )
