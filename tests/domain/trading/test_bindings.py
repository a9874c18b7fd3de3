"""Bindings through the trading module's API: idempotent, exclusive per version, pausable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid5

import pytest

from domain.clock import SimulatedClock
from domain.clones.application import CloneService
from domain.clones.tiers import DEFAULT_TIERS, TierTable
from domain.clones.version import StrategyVersion
from domain.trading.application import TradingDesk
from domain.trading.errors import BadWindow, BindingConflict, NotBound, VersionAlreadyTrading
from tests.domain.clones.graph_examples import ASSETS, ema_crossover

T0 = datetime(2021, 7, 3, 10, tzinfo=UTC)
HOUR = timedelta(hours=1)
NS = UUID("5d3c7a0e-0000-4000-8000-000000000001")


@pytest.fixture
def version() -> StrategyVersion:
    clones = CloneService(clock=SimulatedClock(T0))
    clone_id = uuid5(NS, "clone")
    table = TierTable(DEFAULT_TIERS)
    clones.create_clone(clone_id, "user-1", "Crossy")
    clones.save_draft(clone_id, ema_crossover(), known_assets=ASSETS, table=table)
    return clones.publish_version(clone_id, known_assets=ASSETS, table=table).value


@pytest.fixture
def desk() -> TradingDesk:
    return TradingDesk(clock=SimulatedClock(T0))


def account(name: str) -> UUID:
    return uuid5(NS, name)


def test_binding_twice_on_the_same_terms_records_once(desk, version) -> None:
    first = desk.bind(account("a"), version, version.id, purpose="sandbox", starts_at=T0)
    again = desk.bind(account("a"), version, version.id, purpose="sandbox", starts_at=T0)
    assert first.version == again.version
    assert again.trades_at(T0)
    assert not again.trades_at(T0 - HOUR)
    assert again.terms["clone_id"] == version.clone_id


def test_other_terms_while_bound_are_a_conflict(desk, version) -> None:
    desk.bind(account("a"), version, version.id, purpose="sandbox", starts_at=T0)
    with pytest.raises(BindingConflict):
        desk.bind(account("a"), version, version.id, purpose="arena", starts_at=T0)


def test_one_version_never_trades_two_accounts_at_once_unless_allowed(desk, version) -> None:
    desk.bind(account("a"), version, version.id, purpose="arena", starts_at=T0)
    with pytest.raises(VersionAlreadyTrading):
        desk.bind(account("b"), version, version.id, purpose="race", starts_at=T0 + HOUR)
    shared = desk.bind(
        account("c"), version, version.id, purpose="race", starts_at=T0, allow_concurrent=True
    )
    assert shared.active


def test_a_pause_makes_room_for_a_race_window(desk, version) -> None:
    race = (T0 + HOUR, T0 + 2 * HOUR)
    desk.bind(account("arena"), version, version.id, purpose="arena", starts_at=T0)
    desk.pause(account("arena"), start=race[0], end=race[1], reason="race r1")
    desk.bind(
        account("race"), version, version.id, purpose="race", starts_at=race[0], ends_at=race[1]
    )
    arena = desk.binding(account("arena"))
    assert arena is not None
    assert arena.trades_at(T0)
    assert not arena.trades_at(race[0])
    assert arena.trades_at(race[1])
    with pytest.raises(VersionAlreadyTrading):  # beyond the pause the arena still trades
        desk.bind(account("late"), version, version.id, purpose="race", starts_at=race[1])


def test_unbind_is_idempotent_and_frees_the_version(desk, version) -> None:
    desk.bind(account("a"), version, version.id, purpose="arena", starts_at=T0)
    assert desk.unbind(account("a"), reason="removed") is True
    assert desk.unbind(account("a"), reason="removed") is False
    assert desk.unbind(account("never"), reason="x") is False
    assert desk.bind(account("b"), version, version.id, purpose="arena", starts_at=T0).active
    with pytest.raises(NotBound):
        desk.pause(account("a"), start=T0, end=T0 + HOUR, reason="x")


def test_windows_must_not_end_before_they_start(desk, version) -> None:
    with pytest.raises(BadWindow):
        desk.bind(account("a"), version, version.id, purpose="x", starts_at=T0, ends_at=T0)
