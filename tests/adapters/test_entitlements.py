"""The entitlement port and its settings: real grants first, a visible mock Starter fallback."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from uuid import UUID, uuid5

import pytest
from pydantic import ValidationError

from adapters.entitlements import EntitlementPort
from adapters.settings import Settings
from domain.clock import SimulatedClock
from domain.clones.tiers import DEFAULT_TIERS, Grant, TierTable
from domain.economy.application import Economy
from domain.economy.grants import GrantSource

CLONE = uuid5(UUID("9a7b8c6d-1e2f-4a3b-8c4d-5e6f7a8b9c0d"), "clone")


@pytest.fixture
def economy() -> Economy:
    return Economy(clock=SimulatedClock(datetime(2026, 12, 1, tzinfo=UTC)))


def test_mocking_gives_an_ungranted_clone_a_starter_grant_marked_mock(economy: Economy) -> None:
    port = EntitlementPort(economy, mock_starter=True)
    assert port.effective_tier(CLONE) == Grant("starter", source="mock", mock=True)


def test_without_mocking_an_ungranted_clone_has_no_tier(economy: Economy) -> None:
    assert EntitlementPort(economy, mock_starter=False).effective_tier(CLONE) is None


def test_a_real_grant_beats_the_mock(economy: Economy) -> None:
    economy.grant_tier(
        CLONE,
        "builder",
        source=GrantSource.ADMIN,
        reference=None,
        reason="ops",
        granted_by="a",
        table=economy.tiers,
    )
    grant = EntitlementPort(economy, mock_starter=True).effective_tier(CLONE)
    assert grant is not None
    assert (grant.tier, grant.mock) == ("builder", False)


def test_a_tier_table_setting_overrides_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    smaller = [tier.to_document() for tier in DEFAULT_TIERS[:2]]
    monkeypatch.setenv("CLASH_TIER_TABLE", json.dumps(smaller))
    assert Settings().tiers.names == ("starter", "builder")
    assert Settings(tier_table=None).tiers.names == TierTable().names


def test_an_invalid_tier_table_setting_refuses_to_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLASH_TIER_TABLE", '[{"name": "starter"}]')
    with pytest.raises(ValidationError, match="CLASH_TIER_TABLE"):
        Settings()


def test_production_refuses_mock_entitlements() -> None:
    with pytest.raises(ValidationError, match="CLASH_MOCK_ENTITLEMENTS"):
        Settings(env="production")
