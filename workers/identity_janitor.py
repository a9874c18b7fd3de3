"""Deletes what identity no longer needs: expired sign-in nonces and dead refresh families.

Nonces are single-use and live ten minutes; families end at their absolute expiry. Rows of
rotated tokens are kept until then on purpose (reuse can only be detected while they
exist), so this worker is what keeps the auth tables from growing without bound.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from domain.identity.ports import IdentityStore
from workers.runtime import WorkItem

log = structlog.get_logger("workers.identity_janitor")


@dataclass
class IdentityJanitor:
    """Purge expired identity rows once per interval."""

    store: IdentityStore
    interval: timedelta = timedelta(minutes=5)
    name: str = "identity-janitor"
    critical: bool = False

    def pending(self, now: datetime) -> Sequence[WorkItem]:
        """One purge per interval window (the key makes it one lease across processes)."""
        window = int(now.timestamp() // self.interval.total_seconds())
        return [WorkItem(key=f"purge:{window}")]

    def perform(self, item: WorkItem, now: datetime) -> None:
        """Delete expired nonces and families (idempotent)."""
        removed = self.store.purge_expired(now)
        if removed:
            log.info("identity_rows_purged", rows=removed, item=item.key)
