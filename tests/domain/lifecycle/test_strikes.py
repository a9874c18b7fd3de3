"""Retirement strikes: one per race per clone, saved with the race's settlement.

Worked example: a clone finishing last in three ``last_place`` races (``strikes_to_retire``
3) holds one strike after each; the third settlement names it in ``struck_out``. Settling a
race again is refused and adds nothing; a settlement that is refused saves no strike.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from uuid import UUID

import pytest

from domain.aggregates import clock_in_use
from domain.clock import SimulatedClock
from domain.lifecycle.application import Lifecycle
from domain.lifecycle.race import RaceState, RaceTransitionRefused, race_id_for
from domain.lifecycle.race_config import RaceConfig
from domain.lifecycle.race_results import EntrantResult, EntrantSnapshot, rank_results
from domain.lifecycle.strikes import CloneStrikes, strikes_id_for
from tests.domain.lifecycle.race_kit import (
    SLOT,
    T0,
    a_lifecycle,
    accounts_for,
    changed,
    clone_of,
    entrants,
    entry_id,
    snapshot,
    snapshot_document,
)

CONFIG = RaceConfig(entrants=4, strikes_to_retire=3)
FIRST, SECOND, THIRD, LAST = (entry_id(n) for n in range(4))


def field(last: str = LAST) -> list[EntrantSnapshot]:
    """A four-entrant finish with ``last`` in last place, everyone else ahead of it."""
    others = [e for e in (FIRST, SECOND, THIRD, LAST) if e != last]
    return [
        snapshot(others[0], "10600"),
        snapshot(others[1], "10300"),
        snapshot(others[2], "10100"),
        snapshot(last, "9400"),
    ]


def settling_race(
    lifecycle: Lifecycle, slot: int, snapshots: list[EntrantSnapshot], config: RaceConfig = CONFIG
) -> UUID:
    """Schedule the race of ``slot`` and drive it to ``settling``; return its id."""
    opens_at = T0 + timedelta(hours=3) * (slot - SLOT)
    race, _ = lifecycle.schedule_race(
        slot,
        config=config,
        candidates=[entry_id(n) for n in range(4)],
        entrants=entrants(),
        opens_at=opens_at,
    )
    changed(lifecycle, race.id, lambda r: r.launch(accounts_for(r), r.launch_at))
    changed(lifecycle, race.id, lambda r: r.go_live(r.live_at))
    documents = [snapshot_document(s) for s in snapshots]
    changed(lifecycle, race.id, lambda r: r.start_settling(documents, r.ends_at))
    return race.id


def results(snapshots: list[EntrantSnapshot], config: RaceConfig = CONFIG) -> list[EntrantResult]:
    return rank_results(snapshots, config)


# --- the CloneStrikes aggregate --------------------------------------------------------------


@pytest.fixture
def market_clock() -> Iterator[SimulatedClock]:
    clock = SimulatedClock(T0)
    with clock_in_use(clock):
        yield clock


def test_clone_strikes_count_one_per_race(market_clock: SimulatedClock) -> None:
    # Arrange
    record = CloneStrikes.open(clone_of(LAST))

    # Act
    record.strike(race_id_for(SLOT), "race result")
    record.strike(race_id_for(SLOT), "race result")
    record.strike(race_id_for(SLOT + 1), "liquidated")

    # Assert
    assert record.count == 2
    assert record.races == [str(race_id_for(SLOT)), str(race_id_for(SLOT + 1))]
    assert record.id == strikes_id_for(clone_of(LAST))
    assert [type(e) for e in record.pending_events].count(CloneStrikes.Struck) == 2


def test_strikes_id_for_is_per_clone_and_stable() -> None:
    # Arrange / Act / Assert
    assert strikes_id_for(clone_of(LAST)) == strikes_id_for(clone_of(LAST))
    assert strikes_id_for(clone_of(LAST)) != strikes_id_for(clone_of(FIRST))
    assert strikes_id_for(clone_of(LAST)) != race_id_for(SLOT)


# --- Lifecycle.settle_race -------------------------------------------------------------------


def test_settle_race_records_the_results_and_one_strike_for_last_place() -> None:
    # Arrange
    lifecycle, _ = a_lifecycle()
    race_id = settling_race(lifecycle, SLOT, field())
    ranked = results(field())

    # Act
    race = lifecycle.settle_race(race_id, ranked)

    # Assert
    reloaded = lifecycle.race(race_id)
    assert reloaded == race
    assert reloaded.state is RaceState.SETTLED
    assert reloaded.results == [r.to_document() for r in ranked]
    assert reloaded.struck_out == []
    assert lifecycle.strikes(clone_of(LAST)) == 1
    assert [lifecycle.strikes(clone_of(e)) for e in (FIRST, SECOND, THIRD)] == [0, 0, 0]


def test_settle_race_again_is_refused_and_adds_no_strike() -> None:
    # Arrange
    lifecycle, _ = a_lifecycle()
    race_id = settling_race(lifecycle, SLOT, field())
    lifecycle.settle_race(race_id, results(field()))

    # Act
    with pytest.raises(RaceTransitionRefused):
        lifecycle.settle_race(race_id, results(field()))

    # Assert
    assert lifecycle.strikes(clone_of(LAST)) == 1
    assert lifecycle.race(race_id).version == 5


def test_settle_race_refused_before_settling_saves_no_strike() -> None:
    # Arrange
    lifecycle, _ = a_lifecycle()
    race, _ = lifecycle.schedule_race(
        SLOT, config=CONFIG, candidates=[], entrants=entrants(), opens_at=T0
    )

    # Act
    with pytest.raises(RaceTransitionRefused):
        lifecycle.settle_race(race.id, results(field()))

    # Assert
    assert lifecycle.strikes(clone_of(LAST)) == 0
    assert lifecycle.find_race(race.id) is not None
    assert lifecycle.race(race.id).state is RaceState.ACCUMULATING


def test_settle_race_names_the_clone_reaching_the_limit_on_its_third_strike() -> None:
    # Arrange
    lifecycle, _ = a_lifecycle()
    race_ids = [settling_race(lifecycle, SLOT + n, field()) for n in range(3)]

    # Act
    settled = [lifecycle.settle_race(race_id, results(field())) for race_id in race_ids]

    # Assert
    assert [race.struck_out for race in settled] == [[], [], [str(clone_of(LAST))]]
    assert lifecycle.race(race_ids[2]).struck_out == [str(clone_of(LAST))]
    assert lifecycle.strikes(clone_of(LAST)) == 3


def test_settle_race_struck_out_names_only_clones_struck_in_this_race() -> None:
    # Arrange: LAST reaches the limit, then finishes first in the next race.
    lifecycle, _ = a_lifecycle()
    for n in range(3):
        lifecycle.settle_race(settling_race(lifecycle, SLOT + n, field()), results(field()))
    race_id = settling_race(lifecycle, SLOT + 3, field(last=THIRD))

    # Act
    race = lifecycle.settle_race(race_id, results(field(last=THIRD)))

    # Assert
    assert race.struck_out == []
    assert lifecycle.strikes(clone_of(LAST)) == 3
    assert lifecycle.strikes(clone_of(THIRD)) == 1


def test_settle_race_reads_the_limit_frozen_on_the_race() -> None:
    # Arrange
    lifecycle, _ = a_lifecycle()
    one_strike = RaceConfig(strikes_to_retire=1)
    race_id = settling_race(lifecycle, SLOT, field(), config=one_strike)

    # Act
    race = lifecycle.settle_race(race_id, results(field()))

    # Assert
    assert race.struck_out == [str(clone_of(LAST))]


def test_settle_race_strikes_every_clone_of_a_dead_heat_for_last() -> None:
    # Arrange
    lifecycle, _ = a_lifecycle()
    snapshots = [
        snapshot(FIRST, "10600"),
        snapshot(SECOND, "10300"),
        snapshot(THIRD, "9400", "0.1"),
        snapshot(LAST, "9400", "0.1"),
    ]
    race_id = settling_race(lifecycle, SLOT, snapshots, config=RaceConfig(strikes_to_retire=1))

    # Act
    race = lifecycle.settle_race(race_id, results(snapshots))

    # Assert
    assert sorted(race.struck_out) == sorted([str(clone_of(THIRD)), str(clone_of(LAST))])
    assert [lifecycle.strikes(clone_of(e)) for e in (FIRST, SECOND, THIRD, LAST)] == [0, 0, 1, 1]


def test_settle_race_records_the_liquidation_as_the_strike_reason() -> None:
    # Arrange
    lifecycle, _ = a_lifecycle()
    snapshots = [
        snapshot(FIRST, "10600"),
        snapshot(SECOND, "10300"),
        snapshot(THIRD, "10100"),
        snapshot(LAST, "0", liquidated=True),
    ]
    race_id = settling_race(lifecycle, SLOT, snapshots)

    # Act
    lifecycle.settle_race(race_id, results(snapshots))

    # Assert: LAST is struck for its liquidation, THIRD for its last place among finishers.
    reasons: dict[str, list[tuple[UUID, str]]] = {}
    for entry in (THIRD, LAST):
        stored = lifecycle.recorder.select_events(strikes_id_for(clone_of(entry)))
        events = [lifecycle.mapper.to_domain_event(e) for e in stored]
        struck = [e for e in events if isinstance(e, CloneStrikes.Struck)]
        assert len(struck) == len(events) - 1
        reasons[entry] = [(e.race_id, e.reason) for e in struck]
    assert reasons == {
        THIRD: [(race_id, "race result")],
        LAST: [(race_id, "liquidated")],
    }


def test_settle_race_with_no_strike_saves_no_strike_record() -> None:
    # Arrange
    lifecycle, _ = a_lifecycle()
    snapshots = [snapshot(e, "10000") for e in (FIRST, SECOND, THIRD, LAST)]
    race_id = settling_race(lifecycle, SLOT, snapshots)

    # Act
    race = lifecycle.settle_race(race_id, results(snapshots))

    # Assert
    assert race.struck_out == []
    assert all(
        lifecycle.recorder.select_events(strikes_id_for(clone_of(e))) == []
        for e in (FIRST, SECOND, THIRD, LAST)
    )


def test_settle_race_one_clone_struck_twice_in_a_race_holds_one_strike() -> None:
    # Arrange: two entries of one clone, both liquidated.
    lifecycle, _ = a_lifecycle()
    twin = snapshot(THIRD, "0", liquidated=True)
    snapshots = [
        snapshot(FIRST, "10600"),
        snapshot(SECOND, "10300"),
        twin,
        EntrantSnapshot(
            entry_id=LAST,
            clone_id=twin.clone_id,
            account_id=twin.account_id,
            starting=twin.starting,
            equity=twin.equity,
            max_drawdown_pct=twin.max_drawdown_pct,
            trades=0,
            fees=twin.fees,
            liquidated=True,
        ),
    ]
    race_id = settling_race(lifecycle, SLOT, snapshots)

    # Act
    lifecycle.settle_race(race_id, results(snapshots))

    # Assert
    assert lifecycle.strikes(clone_of(THIRD)) == 1
