"""Entitlement tiers: the default table, overrides, topology checks and the one guardrail."""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from uuid import UUID

import pytest

from domain.clones.tiers import (
    DEFAULT_TIERS,
    EntitlementError,
    Entitlements,
    Grant,
    NoEntitlement,
    Stage,
    TierLimits,
    TierTable,
    TierTableInvalid,
    TopologyBeyondEveryTier,
    TopologyBeyondTier,
    TopologyViolation,
    UnknownTier,
    check_topology,
    guard,
)
from domain.trading.spec import Topology

TABLE = TierTable()
SMALL = Topology(nodes=7, assets=1, model_nodes=0, strongest_model=None, fastest_cadence="5m")
BUILDER_SIZED = Topology(20, 5, 1, "standard", "15m")
PRO_SIZED = Topology(60, 8, 3, "frontier", "1m")
HUGE = Topology(101, 11, 5, "frontier", "1m")


def grant(tier: str) -> Grant:
    return Grant(tier=tier, source="purchase", reference="purchase-1")


def test_default_table_has_the_product_limits() -> None:
    # Act
    starter, builder, pro = TABLE.get("starter"), TABLE.get("builder"), TABLE.get("pro")

    # Assert
    assert TABLE.names == ("starter", "builder", "pro")
    assert starter == TierLimits("starter", 1, 16, 3, 1, "basic", "5m", 3, 24, 3, 120_000, 288)
    assert builder == TierLimits(
        "builder", 2, 40, 6, 2, "standard", "5m", 10, 100, 6, 500_000, 2016
    )
    assert pro == TierLimits("pro", 3, 100, 10, 4, "frontier", "1m", 25, 200, 10, 1_000_000, 8640)
    assert TABLE.largest() == pro


def test_unknown_tier_is_a_lookup_error() -> None:
    # Act / Assert
    with pytest.raises(UnknownTier, match="tier='gold'"):
        TABLE.get("gold")


def test_small_topology_fits_every_tier() -> None:
    # Act / Assert
    assert all(check_topology(SMALL, tier) == [] for tier in DEFAULT_TIERS)


def test_check_topology_lists_every_bound_exceeded() -> None:
    # Act
    violations = check_topology(PRO_SIZED, TABLE.get("starter"))

    # Assert
    assert violations == [
        TopologyViolation("nodes", "16", "60"),
        TopologyViolation("assets", "3", "8"),
        TopologyViolation("model_nodes", "1", "3"),
        TopologyViolation("model", "basic", "frontier"),
        TopologyViolation("cadence", "5m", "1m"),
    ]


def test_a_tier_without_models_refuses_any_model() -> None:
    # Arrange
    no_models = replace(TABLE.get("starter"), strongest_model=None, max_model_nodes=1)

    # Act
    violations = check_topology(Topology(3, 1, 1, "basic", "1h"), no_models)

    # Assert
    assert violations == [TopologyViolation("model", "none", "basic")]


def test_slower_cadence_is_always_allowed() -> None:
    # Act / Assert
    assert check_topology(replace(SMALL, fastest_cadence="1d"), TABLE.get("starter")) == []


@pytest.mark.parametrize("stage", [Stage.SAVE, Stage.DRY_RUN])
def test_save_and_grantless_dry_run_check_the_largest_tier(stage: Stage) -> None:
    # Act
    checked = guard(PRO_SIZED, stage=stage, grant=None, table=TABLE)

    # Assert
    assert checked.name == "pro"


def test_save_ignores_the_grant_so_owners_draft_what_they_mean_to_buy() -> None:
    # Act
    checked = guard(PRO_SIZED, stage=Stage.SAVE, grant=grant("starter"), table=TABLE)

    # Assert
    assert checked.name == "pro"


@pytest.mark.parametrize("stage", [Stage.SAVE, Stage.DRY_RUN])
def test_topology_beyond_every_tier_is_refused_on_save_and_dry_run(stage: Stage) -> None:
    # Act
    with pytest.raises(TopologyBeyondEveryTier) as caught:
        guard(HUGE, stage=stage, grant=None, table=TABLE)

    # Assert
    assert caught.value.reason == "topology_beyond_every_tier"
    assert {v.limit for v in caught.value.violations} == {"nodes", "assets", "model_nodes"}


def test_dry_run_with_a_grant_checks_the_granted_tier() -> None:
    # Act
    with pytest.raises(TopologyBeyondTier) as caught:
        guard(BUILDER_SIZED, stage=Stage.DRY_RUN, grant=grant("starter"), table=TABLE)

    # Assert
    assert caught.value.tier == "starter"
    assert guard(SMALL, stage=Stage.DRY_RUN, grant=grant("starter"), table=TABLE).name == "starter"


@pytest.mark.parametrize("stage", [Stage.BACKTEST, Stage.RUNTIME])
def test_backtest_and_runtime_need_a_grant(stage: Stage) -> None:
    # Act
    with pytest.raises(NoEntitlement) as caught:
        guard(SMALL, stage=stage, grant=None, table=TABLE)

    # Assert
    assert caught.value.reason == "no_entitlement"
    assert caught.value.violations == ()


@pytest.mark.parametrize("stage", [Stage.BACKTEST, Stage.RUNTIME])
def test_backtest_and_runtime_run_within_the_granted_tier(stage: Stage) -> None:
    # Act
    checked = guard(BUILDER_SIZED, stage=stage, grant=grant("builder"), table=TABLE)

    # Assert
    assert checked == TABLE.get("builder")


def test_grant_too_small_gives_the_same_refusal_in_backtest_and_runtime() -> None:
    # Act
    refusals: list[EntitlementError] = []
    for stage in (Stage.BACKTEST, Stage.RUNTIME):
        with pytest.raises(TopologyBeyondTier) as caught:
            guard(PRO_SIZED, stage=stage, grant=grant("builder"), table=TABLE)
        refusals.append(caught.value)

    # Assert
    backtest, runtime = refusals
    assert backtest.reason == runtime.reason == "topology_beyond_tier"
    assert str(backtest) == str(runtime)
    assert backtest.violations == runtime.violations
    assert TopologyViolation("cadence", "5m", "1m") in backtest.violations


def test_mock_grants_are_honoured_like_paid_ones() -> None:
    # Arrange
    mock = Grant("pro", source="mock", mock=True)

    # Act / Assert
    assert guard(PRO_SIZED, stage=Stage.RUNTIME, grant=mock, table=TABLE).name == "pro"


def test_grant_of_a_tier_missing_from_the_table_is_unknown() -> None:
    # Act / Assert
    with pytest.raises(UnknownTier):
        guard(SMALL, stage=Stage.BACKTEST, grant=grant("legacy"), table=TABLE)


def test_entitlements_port_is_satisfied_by_a_plain_fake() -> None:
    # Arrange
    class Granted:
        def effective_tier(self, clone_id: UUID) -> Grant | None:
            return grant("builder") if clone_id.int % 2 else None

    port: Entitlements = Granted()

    # Act / Assert
    assert port.effective_tier(UUID(int=1)) == grant("builder")
    assert port.effective_tier(UUID(int=2)) is None


def test_table_document_round_trips() -> None:
    # Act
    again = TierTable.from_document(TABLE.to_document())

    # Assert
    assert again.tiers == TABLE.tiers


def test_table_override_replaces_the_limits_and_orders_by_rank() -> None:
    # Arrange
    document = [tier.to_document() for tier in reversed(DEFAULT_TIERS)]
    document[0] = {**document[0], "max_nodes": 150, "backtest_daily_runs": 50}

    # Act
    table = TierTable.from_document(document)

    # Assert
    assert table.names == ("starter", "builder", "pro")
    assert table.largest().max_nodes == 150
    assert table.largest().backtest_daily_runs == 50


def _with(index: int, **changes: Any) -> list[dict[str, Any]]:
    document = TABLE.to_document()
    document[index] = {**document[index], **changes}
    return document


@pytest.mark.parametrize(
    "document",
    [
        [],
        {"starter": {}},
        _with(1, name="starter"),
        _with(1, rank=1),
        _with(0, strongest_model="genius"),
        _with(0, min_cadence="7m"),
        _with(0, max_nodes="16"),
        _with(0, max_nodes=True),
        _with(0, max_nodes=0),
        _with(0, colour="gold"),
        _with(0, name="Starter Plan"),
        _with(2, max_assets=2),
        _with(2, strongest_model="basic"),
        _with(2, min_cadence="1h"),
        [{k: v for k, v in TABLE.to_document()[0].items() if k != "rank"}],
    ],
)
def test_malformed_table_overrides_are_refused(document: object) -> None:
    # Act / Assert
    with pytest.raises(TierTableInvalid):
        TierTable.from_document(document)
