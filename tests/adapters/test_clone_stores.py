"""The clones and economy applications on both real stores: tables, snapshots, atomic publish."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid5

import pytest

from adapters.database import Database
from adapters.event_stores import factory_builder
from domain.clock import SimulatedClock
from domain.clones.application import CloneService
from domain.clones.tiers import TierTable
from domain.clones.version import version_id_for
from domain.economy.application import Economy
from domain.economy.grants import GrantSource
from tests.domain.clones.graph_examples import ASSETS, ema_crossover

T0 = datetime(2026, 12, 1, tzinfo=UTC)
CLONE = uuid5(UUID("9a7b8c6d-1e2f-4a3b-8c4d-5e6f7a8b9c0d"), "stored")


@pytest.fixture
def clones(database: Database) -> CloneService:
    return CloneService(clock=SimulatedClock(T0), factory_builder=factory_builder(database))


def test_each_application_writes_its_own_event_table(
    database: Database, clones: CloneService
) -> None:
    economy = Economy(clock=SimulatedClock(T0), factory_builder=factory_builder(database))
    clones.create_clone(CLONE, "u1", "Stored")
    economy.grant_tier(
        CLONE,
        "pro",
        source=GrantSource.ADMIN,
        reference="r",
        reason="ops",
        granted_by="a",
        table=TierTable(),
    )
    with database.transaction(write=False) as session:
        counts = {
            table: session.fetch_one(f"SELECT COUNT(*) AS n FROM {table}")
            for table in ("clones_events", "economy_events")
        }
    assert {t: row["n"] for t, row in counts.items() if row} == {
        "clones_events": 1,
        "economy_events": 2,
    }


def test_a_long_lived_clone_reloads_from_a_snapshot(clones: CloneService) -> None:
    clones.create_clone(CLONE, "u1", "Stored")
    for x in range(55):
        clones.save_layout(CLONE, {"nodes": {"btc": {"x": x, "y": 0}}})
    assert clones.snapshots is not None
    assert len(list(clones.snapshots.get(CLONE))) == 1
    assert clones.clone(CLONE).layout == {"nodes": {"btc": {"x": 54, "y": 0}}, "viewport": {}}


def test_publish_stores_the_version_and_the_clone_event_in_one_save(
    clones: CloneService,
) -> None:
    clones.create_clone(CLONE, "u1", "Stored")
    clones.save_draft(CLONE, ema_crossover(), known_assets=ASSETS, table=TierTable())
    recorded = clones.publish_version(CLONE, known_assets=ASSETS, table=TierTable())
    notifications = clones.recorder.select_notifications(start=0, limit=10)
    assert [n.topic for n in notifications[-2:]] == [
        "clones.Clone.VersionPublished",
        "clones.StrategyVersion.Published",
    ]
    assert recorded.position == notifications[-1].id
    assert clones.version(version_id_for(CLONE, 1)).spec == recorded.value.spec
