"""What a failed work item costs: how long it waits, and when it is given up on.

The delays come from tenacity's wait strategies, composed rather than re-derived: the
"equal jitter" scheme, half of the exponential delay fixed (``wait_exponential``) plus a
random share of the other half (``wait_random_exponential``, full jitter). So after the
``n``-th failure the delay lies in ``[h, 2h]`` with ``h = min(base / 2 * 2**(n-1), max / 2)``:
it never drops to zero (a failing dependency is not hammered), it never shrinks from one
attempt to the next, and holders that failed together spread out instead of retrying in
lockstep.

tenacity draws its jitter from the ``random`` module's global generator; the one subclass
here only swaps in an injected :class:`random.Random`, so a seeded run (the deterministic
driver, tests) repeats exactly.

:class:`RetryPolicy` applies this to the attempt bookkeeping: each failure pushes the item's
next attempt out by the delay, and the ``max_attempts``-th moves it to the dead letters
(in the same transaction as counting it, see :mod:`adapters.dead_letters`).
"""

from __future__ import annotations

import random
import traceback
from collections.abc import Mapping
from datetime import datetime, timedelta

import structlog
from tenacity import RetryCallState, Retrying, wait_exponential, wait_random_exponential
from typing_extensions import override

from adapters.dead_letters import DeadLetterStore, JsonValue

_log: structlog.typing.FilteringBoundLogger = structlog.get_logger(__name__)
_ERROR_TEXT_LIMIT = 4_000  # the tail of the traceback, where the cause is


class _SeededRandomExponential(wait_random_exponential):
    """tenacity's full-jitter strategy, drawing from an injected generator."""

    def __init__(self, *, multiplier: float, maximum: float, rng: random.Random) -> None:
        super().__init__(multiplier=multiplier, max=maximum)
        self._rng = rng

    @override
    def __call__(self, retry_state: RetryCallState) -> float:
        # The window is tenacity's own; only the source of the uniform draw differs.
        high = super(wait_random_exponential, self).__call__(retry_state)
        return self._rng.uniform(self.min, high)


class Backoff:
    """Delays before the next attempt, growing exponentially with the number of failures."""

    def __init__(
        self, base: timedelta, maximum: timedelta, rng: random.Random | None = None
    ) -> None:
        if base <= timedelta(0) or maximum < base:
            raise ValueError(f"backoff needs 0 < base <= maximum: base={base} maximum={maximum}")
        half_base = base.total_seconds() / 2
        half_max = maximum.total_seconds() / 2
        generator = rng if rng is not None else random.Random()  # noqa: S311 - jitter, not secrets
        self._fixed = wait_exponential(multiplier=half_base, max=half_max)
        self._strategy = self._fixed + _SeededRandomExponential(
            multiplier=half_base, maximum=half_max, rng=generator
        )
        self._retrying = Retrying()

    def delay(self, failures: int) -> timedelta:
        """Return how long to wait after the item's ``failures``-th failure (1 for the first)."""
        return timedelta(seconds=self._strategy(self._state(failures)))

    def bounds(self, failures: int) -> tuple[timedelta, timedelta]:
        """Return the shortest and longest delay :meth:`delay` can give for ``failures``."""
        fixed = timedelta(seconds=self._fixed(self._state(failures)))
        return fixed, 2 * fixed

    def _state(self, failures: int) -> RetryCallState:
        if failures < 1:
            raise ValueError(f"a delay follows at least one failure: failures={failures}")
        state = RetryCallState(retry_object=self._retrying, fn=None, args=(), kwargs={})
        state.attempt_number = failures
        return state


class RetryPolicy:
    """What a failure costs an item: a backoff, then a dead letter at the bound."""

    def __init__(self, letters: DeadLetterStore, *, max_attempts: int, backoff: Backoff) -> None:
        self.max_attempts = max_attempts
        self.backoff = backoff
        self._letters = letters

    def record_failure(
        self,
        worker: str,
        item_key: str,
        payload: Mapping[str, JsonValue],
        exc: BaseException,
        now: datetime,
    ) -> bool:
        """Record that the item failed with ``exc`` at ``now``; return whether it is now dead."""
        previous = self._letters.attempts(worker, item_key)
        failures = 1 if previous is None else previous.attempts + 1
        attempts = self._letters.record_failure(
            worker,
            item_key,
            payload=payload,
            error="".join(traceback.format_exception(exc))[-_ERROR_TEXT_LIMIT:],
            now=now,
            next_attempt_at=now + self.backoff.delay(failures),
            max_attempts=self.max_attempts,
        )
        if attempts < self.max_attempts:
            return False
        _log.error("work item dead-lettered", worker=worker, item=item_key, attempts=attempts)
        return True
