"""Rate limits for the auth routes, per client IP and per wallet address.

Moving-window limits from the ``limits`` library, kept in process memory: each API process
enforces its own budget (behind a load balancer with N processes the effective limit is at
most N times the setting). The window is the library's, on real time.
"""

from __future__ import annotations

import math
import time

from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter


class RateLimited(Exception):
    """Raised when a caller exceeded a rate limit; ``retry_after`` is in whole seconds."""

    def __init__(self, scope: str, retry_after: int) -> None:
        super().__init__(f"scope={scope} retry_after={retry_after}")
        self.scope = scope
        self.retry_after = retry_after
        self.detail = f"too many requests per {scope}; retry after {retry_after} s"


class AuthRateLimiter:
    """Counts auth requests per IP and per address and refuses the excess."""

    def __init__(self, per_ip: str, per_address: str) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._per_ip = parse(per_ip)
        self._per_address = parse(per_address)

    def hit(self, *, ip: str, address: str | None = None) -> None:
        """Count one request, raising :class:`RateLimited` when over a limit."""
        if not self._limiter.hit(self._per_ip, "auth-ip", ip):
            raise RateLimited("ip", self._retry_after(self._per_ip, "auth-ip", ip))
        if address and not self._limiter.hit(self._per_address, "auth-address", address.lower()):
            raise RateLimited(
                "address", self._retry_after(self._per_address, "auth-address", address.lower())
            )

    def _retry_after(self, item: object, *keys: str) -> int:
        stats = self._limiter.get_window_stats(item, *keys)  # type: ignore[arg-type]
        return max(1, math.ceil(stats.reset_time - time.time()))
