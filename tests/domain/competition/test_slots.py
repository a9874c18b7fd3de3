"""The Arena's slots: seating rules, capacity as configuration, departures and retirement.

Worked example: the Arena opens empty; entries are seated up to the capacity handed in with
each seating, one slot per clone. Seating a member again changes nothing. Lowering the
capacity below the members seats nobody and evicts nobody; a slot is only reused once
enough members have left. A retired member's clone is recorded for good.
"""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID

import pytest

from domain.aggregates import clock_in_use
from domain.clock import SimulatedClock
from domain.competition.application import Competition
from domain.competition.entry import CompetitionError
from domain.competition.slots import ARENA_ID, ArenaFull, ArenaSlots, CloneInArena
from tests.domain.competition.competition_kit import MINUTE, T0, an_id

ENTRY_A, ENTRY_B, ENTRY_C, ENTRY_D = (an_id(f"entry-{n}") for n in "abcd")
CLONE_A, CLONE_B, CLONE_C, CLONE_D = (an_id(f"clone-{n}") for n in "abcd")


@pytest.fixture(autouse=True)
def clock() -> Iterator[SimulatedClock]:
    market = SimulatedClock(T0)
    with clock_in_use(market):
        yield market


def arena_with(*seats: tuple[UUID, UUID], capacity: int = 3) -> ArenaSlots:
    slots = ArenaSlots.open()
    for entry_id, clone_id in seats:
        slots.seat(entry_id, clone_id, capacity)
    return slots


def recorded(slots: ArenaSlots) -> list[type]:
    return [type(e) for e in slots.pending_events]


# --- opening and seating -------------------------------------------------------------------


def test_the_arena_opens_empty_under_its_one_id() -> None:
    # Act
    slots = ArenaSlots.open()
    # Assert
    assert slots.id == ARENA_ID
    assert slots.members == {}
    assert slots.retired_clones == frozenset()
    assert recorded(slots) == [ArenaSlots.Opened]


def test_seat_gives_the_entry_a_slot_and_records_the_capacity() -> None:
    # Arrange
    slots = ArenaSlots.open()
    # Act
    slots.seat(ENTRY_A, CLONE_A, 5)
    # Assert
    assert slots.members == {str(ENTRY_A): str(CLONE_A)}
    assert slots.holds_clone(CLONE_A)
    assert not slots.holds_clone(CLONE_B)
    seated = slots.pending_events[-1]
    assert isinstance(seated, ArenaSlots.Seated)
    assert (seated.entry_id, seated.clone_id, seated.capacity) == (ENTRY_A, CLONE_A, 5)


def test_seating_a_member_again_records_nothing_even_when_full() -> None:
    # Arrange
    slots = arena_with((ENTRY_A, CLONE_A), (ENTRY_B, CLONE_B), capacity=2)
    events = list(slots.pending_events)
    # Act
    slots.seat(ENTRY_A, CLONE_A, 2)
    slots.seat(ENTRY_B, CLONE_B, 1)
    # Assert
    assert slots.pending_events == events
    assert slots.members == {str(ENTRY_A): str(CLONE_A), str(ENTRY_B): str(CLONE_B)}


def test_seats_fill_up_to_the_capacity_then_the_arena_is_full() -> None:
    # Arrange
    slots = arena_with((ENTRY_A, CLONE_A), (ENTRY_B, CLONE_B), capacity=2)
    events = list(slots.pending_events)
    # Act
    with pytest.raises(ArenaFull) as full:
        slots.seat(ENTRY_C, CLONE_C, 2)
    # Assert
    assert slots.pending_events == events
    assert str(ENTRY_C) not in slots.members
    assert full.value.reason == "arena_full"
    assert isinstance(full.value, CompetitionError)
    assert "members=2 capacity=2" in str(full.value)


def test_a_capacity_of_zero_seats_nobody() -> None:
    # Arrange
    slots = ArenaSlots.open()
    # Act / Assert
    with pytest.raises(ArenaFull):
        slots.seat(ENTRY_A, CLONE_A, 0)
    assert slots.members == {}


def test_a_clone_holds_at_most_one_slot() -> None:
    # Arrange
    slots = arena_with((ENTRY_A, CLONE_A))
    events = list(slots.pending_events)
    # Act
    with pytest.raises(CloneInArena) as held:
        slots.seat(ENTRY_B, CLONE_A, 3)
    # Assert
    assert slots.pending_events == events
    assert slots.members == {str(ENTRY_A): str(CLONE_A)}
    assert held.value.reason == "clone_in_arena"
    assert str(CLONE_A) in str(held.value)


def test_a_full_arena_is_reported_before_a_clone_already_in_it() -> None:
    # the arena cycle stops admitting on ArenaFull, and gates the entry on CloneInArena
    slots = arena_with((ENTRY_A, CLONE_A), capacity=1)
    with pytest.raises(ArenaFull):
        slots.seat(ENTRY_B, CLONE_A, 1)


# --- capacity lowered below the members ---------------------------------------------------


def test_lowering_the_capacity_evicts_nobody_and_seats_nobody() -> None:
    # Arrange
    slots = arena_with((ENTRY_A, CLONE_A), (ENTRY_B, CLONE_B), (ENTRY_C, CLONE_C), capacity=3)
    events = list(slots.pending_events)
    # Act
    with pytest.raises(ArenaFull):
        slots.seat(ENTRY_D, CLONE_D, 1)
    # Assert
    assert slots.pending_events == events
    assert set(slots.members) == {str(ENTRY_A), str(ENTRY_B), str(ENTRY_C)}


def test_under_a_lowered_capacity_a_slot_frees_only_once_enough_members_left() -> None:
    # Arrange: three members, the capacity is now 2
    slots = arena_with((ENTRY_A, CLONE_A), (ENTRY_B, CLONE_B), (ENTRY_C, CLONE_C), capacity=3)
    # Act / Assert: one departure leaves 2 members, still no room under 2
    slots.vacate(ENTRY_A, retired=False)
    with pytest.raises(ArenaFull):
        slots.seat(ENTRY_D, CLONE_D, 2)
    # a second departure leaves 1 member: one slot under 2
    slots.vacate(ENTRY_B, retired=False)
    slots.seat(ENTRY_D, CLONE_D, 2)
    assert slots.members == {str(ENTRY_C): str(CLONE_C), str(ENTRY_D): str(CLONE_D)}


# --- vacating and Arena retirement ---------------------------------------------------------


def test_vacate_frees_the_slot_and_the_clone_may_be_seated_again() -> None:
    # Arrange
    slots = arena_with((ENTRY_A, CLONE_A), capacity=1)
    # Act
    slots.vacate(ENTRY_A, retired=False)
    # Assert
    assert slots.members == {}
    assert not slots.arena_retired(CLONE_A)
    vacated = slots.pending_events[-1]
    assert isinstance(vacated, ArenaSlots.Vacated)
    assert (vacated.entry_id, vacated.clone_id, vacated.retired) == (ENTRY_A, CLONE_A, False)
    slots.seat(ENTRY_B, CLONE_A, 1)
    assert slots.members == {str(ENTRY_B): str(CLONE_A)}


def test_vacate_retired_records_the_clone_for_good() -> None:
    # Arrange
    slots = arena_with((ENTRY_A, CLONE_A), (ENTRY_B, CLONE_B))
    # Act
    slots.vacate(ENTRY_A, retired=True)
    # Assert
    assert slots.members == {str(ENTRY_B): str(CLONE_B)}
    assert slots.retired_clones == frozenset({str(CLONE_A)})
    assert slots.arena_retired(CLONE_A)
    assert not slots.arena_retired(CLONE_B)


def test_every_retired_clone_stays_retired() -> None:
    # Arrange
    slots = arena_with((ENTRY_A, CLONE_A), (ENTRY_B, CLONE_B), (ENTRY_C, CLONE_C))
    # Act
    slots.vacate(ENTRY_A, retired=True)
    slots.vacate(ENTRY_C, retired=True)
    # Assert
    assert slots.retired_clones == frozenset({str(CLONE_A), str(CLONE_C)})
    assert slots.members == {str(ENTRY_B): str(CLONE_B)}


def test_a_later_plain_departure_keeps_earlier_retirements() -> None:
    # Arrange
    slots = arena_with((ENTRY_A, CLONE_A), (ENTRY_B, CLONE_B))
    slots.vacate(ENTRY_A, retired=True)
    # Act
    slots.vacate(ENTRY_B, retired=False)
    # Assert
    assert slots.retired_clones == frozenset({str(CLONE_A)})
    assert not slots.arena_retired(CLONE_B)


@pytest.mark.parametrize("is_retired", [False, True])
def test_vacating_an_entry_with_no_slot_records_nothing(is_retired) -> None:
    # Arrange
    slots = arena_with((ENTRY_A, CLONE_A))
    slots.vacate(ENTRY_A, retired=False)
    events = list(slots.pending_events)
    # Act
    slots.vacate(ENTRY_A, retired=is_retired)
    slots.vacate(ENTRY_B, retired=is_retired)
    # Assert
    assert slots.pending_events == events
    assert slots.retired_clones == frozenset()


def test_reload_from_the_repository_equals_the_live_slots(clock) -> None:
    # Arrange
    slots = arena_with((ENTRY_A, CLONE_A), (ENTRY_B, CLONE_B), (ENTRY_C, CLONE_C))
    clock.advance(MINUTE)
    slots.vacate(ENTRY_A, retired=True)
    slots.vacate(ENTRY_B, retired=False)
    slots.seat(ENTRY_D, CLONE_D, 3)
    app = Competition(clock=clock)
    # Act
    app.save(slots)
    reloaded = app.repository.get(ARENA_ID)
    # Assert
    assert reloaded is not slots
    assert vars(reloaded) == vars(slots)
    assert reloaded.modified_on == T0 + MINUTE
