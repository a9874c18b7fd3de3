"""Admission to the Arena: the gates a queued entry must pass, and the queue's order.

Gates, checked in this order at every admission cycle (the first that fails is named on the
entry, which stays queued unless the failure is final):

| gate | fails when | final |
|---|---|---|
| ``clone_retired`` | moderation retired the clone | yes: the entry leaves the queue |
| ``arena_retired`` | the clone was retired from the Arena (for good) | yes |
| ``profile_unpublished`` | the clone has no public profile | no |
| ``clone_in_arena`` | another entry of the clone holds a slot | no |

The pinned version needs no gate: an entry can only be admitted with the version that
passed its audition (it is on the entry since ``Enqueued``).

**Queue order**: the audition's ranking ``score`` (return over max drawdown, floored at 1 %
drawdown: ``domain/lifecycle/audition_metrics.py``), highest first, so a pass that risked
less for the same return ranks higher; then the earlier pass; then the entry id (a total
order, so every worker sees the same queue).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from uuid import UUID


class Gate(StrEnum):
    """An admission gate's stable name."""

    CLONE_RETIRED = "clone_retired"
    ARENA_RETIRED = "arena_retired"
    PROFILE_UNPUBLISHED = "profile_unpublished"
    CLONE_IN_ARENA = "clone_in_arena"


FINAL_GATES = frozenset({Gate.CLONE_RETIRED, Gate.ARENA_RETIRED})


@dataclass(frozen=True)
class CloneStanding:
    """What the gates read about a queued entry's clone."""

    moderation_retired: bool
    arena_retired: bool
    profile_published: bool
    holds_slot: bool


def failed_gate(standing: CloneStanding) -> Gate | None:
    """The first gate the clone fails, or ``None`` when it may be admitted."""
    if standing.moderation_retired:
        return Gate.CLONE_RETIRED
    if standing.arena_retired:
        return Gate.ARENA_RETIRED
    if not standing.profile_published:
        return Gate.PROFILE_UNPUBLISHED
    if standing.holds_slot:
        return Gate.CLONE_IN_ARENA
    return None


def queue_key(score: Decimal, passed_at: datetime, entry_id: UUID) -> tuple[Decimal, datetime, str]:
    """Sort key of the queue: best score first, then the earlier pass, then the id."""
    return (-score, passed_at, str(entry_id))
