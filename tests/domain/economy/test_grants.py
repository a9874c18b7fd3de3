"""Tier grants through the economy's Python API, on the in-memory store."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid5

import pytest

from domain.clock import SimulatedClock
from domain.clones.tiers import Grant, TierTable
from domain.economy.application import Economy
from domain.economy.errors import GrantConflict, InvalidGrant, TierNotInTable
from domain.economy.grants import GrantSource, entitlement_id_for

T0 = datetime(2026, 12, 1, tzinfo=UTC)
CLONE = uuid5(UUID("9a7b8c6d-1e2f-4a3b-8c4d-5e6f7a8b9c0d"), "clone")
TABLE = TierTable()


@pytest.fixture
def economy() -> Economy:
    return Economy(clock=SimulatedClock(T0), tiers=TABLE)


def _grant(economy: Economy, tier: str, reference: str | None = None) -> Grant:
    return economy.grant_tier(
        CLONE,
        tier,
        source=GrantSource.ADMIN,
        reference=reference,
        reason="support ticket",
        granted_by="admin-1",
        table=TABLE,
    )


def test_a_clone_without_grants_has_no_effective_tier(economy: Economy) -> None:
    assert economy.effective_tier(CLONE) is None


def test_a_grant_is_the_effective_tier(economy: Economy) -> None:
    granted = _grant(economy, "builder", "ticket-1")
    assert granted == Grant("builder", source="admin", reference="ticket-1")
    assert economy.effective_tier(CLONE) == granted
    assert economy.grants(CLONE)[0]["at"] == T0


def test_the_highest_ranked_grant_wins_whatever_the_order(economy: Economy) -> None:
    _grant(economy, "pro", "a")
    _grant(economy, "starter", "b")
    effective = economy.effective_tier(CLONE)
    assert effective is not None
    assert effective.tier == "pro"


def test_the_same_reference_records_once(economy: Economy) -> None:
    _grant(economy, "builder", "ticket-1")
    _grant(economy, "builder", "ticket-1")
    assert len(economy.grants(CLONE)) == 1
    assert economy.repository.get(entitlement_id_for(CLONE)).version == 2  # Opened + 1 grant


def test_the_same_reference_for_another_tier_is_a_conflict(economy: Economy) -> None:
    _grant(economy, "builder", "ticket-1")
    with pytest.raises(GrantConflict):
        _grant(economy, "pro", "ticket-1")


def test_grants_without_reference_each_record(economy: Economy) -> None:
    _grant(economy, "starter")
    _grant(economy, "starter")
    assert len(economy.grants(CLONE)) == 2


def test_a_tier_outside_the_table_is_refused(economy: Economy) -> None:
    with pytest.raises(TierNotInTable):
        _grant(economy, "platinum")
    assert economy.effective_tier(CLONE) is None


def test_a_grant_needs_a_reason(economy: Economy) -> None:
    with pytest.raises(InvalidGrant):
        economy.grant_tier(
            CLONE,
            "starter",
            source=GrantSource.ADMIN,
            reference=None,
            reason="  ",
            granted_by="a",
            table=TABLE,
        )


def test_a_tier_dropped_from_the_table_grants_nothing(economy: Economy) -> None:
    _grant(economy, "pro", "a")
    _grant(economy, "starter", "b")
    smaller = TierTable(TABLE.tiers[:2])
    effective = economy.effective_tier(CLONE, smaller)
    assert effective is not None
    assert effective.tier == "starter"
