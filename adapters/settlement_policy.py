"""The settlement policy: Economy records every race's payment facts exactly once.

Lifecycle saves a race's settlement rows with the race (``PoolSettlement.Recorded``, in
the save of ``RaceSettled``); Economy owns
payment facts, so this policy follows the lifecycle log with tracking
(``adapters/tracked_policy.py``) and records them: the race's settlement and one payout
authorization per (recipient, kind), every id derived from the race and the row, so a row
re-read after a crash is recorded once. A cancelled race (``RaceCancelled``) refunds every
stake of its book.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from adapters.database import Database
from adapters.tracked_policy import TrackedPolicy
from domain.economy.application import Economy
from domain.lifecycle.application import Lifecycle
from domain.lifecycle.pool_settlement import PoolSettlement
from domain.lifecycle.race import Race


class SettlementPolicy(TrackedPolicy):
    """Follows the lifecycle log; records race settlements and cancellation refunds."""

    name = "settlement_policy"

    def __init__(
        self,
        database: Database,
        lifecycle: Lifecycle,
        economy: Economy,
        clock: Callable[[], datetime],
    ) -> None:
        super().__init__(database, lifecycle, clock)
        self.economy = economy

    def act(self, event: Any) -> int:
        """Record a settlement or a cancellation's refunds (once)."""
        if isinstance(event, PoolSettlement.Recorded):
            existed = self.economy.settlement_of(event.race_id) is not None
            self.economy.record_settlement(event.race_id, event.rows)
            return int(not existed)
        if isinstance(event, Race.RaceCancelled):
            existed = self.economy.settlement_of(event.originator_id) is not None
            self.economy.refund_cancelled_race(event.originator_id)
            return int(not existed)
        return 0
