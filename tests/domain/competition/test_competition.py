"""The Competition application on the in-memory store: queue, judging, admission, departures.

Worked example: a passed audition is enqueued once; each cycle judges it (a final gate
withdraws it, another gate is named on it, passing clears it); admitted, it is seated in the
Arena in the same save; it then opens its account and is activated through ``change``.
Removed, it frees its slot in the same save; retired, its clone is out of the Arena for good.
Admissions racing for the last slot never overfill the Arena nor seat a clone twice.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from domain.clock import SimulatedClock
from domain.competition.admission import Gate
from domain.competition.application import Competition, Membership
from domain.competition.entry import (
    ArenaEntry,
    EntryConflict,
    EntryNotFound,
    EntryState,
    EntryStep,
    entry_id_for,
)
from domain.competition.slots import ARENA_ID, ArenaFull, ArenaRetired, ArenaSlots, CloneInArena
from tests.domain.competition.competition_kit import (
    MINUTE,
    T0,
    RendezvousClock,
    an_id,
    enqueue_values,
)

CAPACITY = 2
ACCOUNT_ID = an_id("account-1")


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(T0)


@pytest.fixture
def app(clock) -> Competition:
    return Competition(clock=clock)


def enqueue(app: Competition, name: str, clone: str = "clone-a", **values: Any) -> ArenaEntry:
    entry, _ = app.enqueue(an_id(name), **enqueue_values(clone_id=an_id(clone), **values))
    return entry


def stored(app: Competition, aggregate_id: UUID) -> list[type]:
    return [type(e) for e in app.events.get(aggregate_id)]


def events_recorded(app: Competition) -> int:
    return app.recorder.max_notification_id() or 0


# --- enqueue -----------------------------------------------------------------------------------


def test_enqueue_queues_a_passed_audition(app) -> None:
    # Act
    entry, created = app.enqueue(an_id("audition-1"), **enqueue_values())
    # Assert
    assert created is True
    assert entry.id == entry_id_for(an_id("audition-1"))
    reloaded = app.entry(entry.id)
    assert reloaded.state is EntryState.QUEUED
    assert vars(reloaded) == vars(entry)
    assert reloaded.created_on == T0


def test_enqueueing_an_audition_again_returns_its_entry_and_records_nothing(app, clock) -> None:
    # Arrange
    first, _ = app.enqueue(an_id("audition-1"), **enqueue_values())
    recorded = events_recorded(app)
    clock.advance(MINUTE)
    # Act: a redelivery, even with other values, keeps what the first delivery queued
    again, created = app.enqueue(an_id("audition-1"), **enqueue_values(score=Decimal(9), run=2))
    # Assert
    assert created is False
    assert again.id == first.id
    assert (again.score, again.run, again.created_on) == (first.score, 1, T0)
    assert events_recorded(app) == recorded


def test_enqueue_after_a_change_returns_the_entry_as_it_stands(app) -> None:
    # Arrange
    entry = enqueue(app, "audition-1")
    app.judge(entry.id, Gate.PROFILE_UNPUBLISHED)
    # Act
    again, created = app.enqueue(an_id("audition-1"), **enqueue_values())
    # Assert
    assert created is False
    assert again.gate == "profile_unpublished"


def test_an_unknown_entry_is_not_found(app) -> None:
    # Arrange
    unknown = an_id("nobody")
    # Act / Assert
    assert app.find(unknown) is None
    with pytest.raises(EntryNotFound) as missing:
        app.entry(unknown)
    assert missing.value.reason == "entry_not_found"
    assert str(unknown) in str(missing.value)
    with pytest.raises(EntryNotFound):
        app.admit(unknown, CAPACITY)
    with pytest.raises(EntryNotFound):
        app.leave(unknown, retired=False, reason="r", by="admin")


def test_the_arena_itself_is_not_an_entry(app) -> None:
    # Arrange
    app.admit(enqueue(app, "audition-1").id, CAPACITY)
    # Act / Assert
    assert app.find(ARENA_ID) is None
    with pytest.raises(EntryNotFound):
        app.entry(ARENA_ID)


# --- judge -------------------------------------------------------------------------------------


@pytest.mark.parametrize("gate", [Gate.CLONE_RETIRED, Gate.ARENA_RETIRED])
def test_a_final_gate_withdraws_the_entry(app, gate) -> None:
    # Arrange
    entry = enqueue(app, "audition-1")
    # Act
    judged = app.judge(entry.id, gate, "for good")
    # Assert
    assert judged.state is EntryState.WITHDRAWN
    reloaded = app.entry(entry.id)
    assert (reloaded.state, reloaded.gate, reloaded.reason) == (
        EntryState.WITHDRAWN,
        gate.value,
        "for good",
    )
    assert app.admit(entry.id, CAPACITY) is False
    assert app.membership().members == {}


@pytest.mark.parametrize("gate", [Gate.PROFILE_UNPUBLISHED, Gate.CLONE_IN_ARENA])
def test_a_waiting_gate_is_named_and_the_entry_stays_queued(app, gate) -> None:
    # Arrange
    entry = enqueue(app, "audition-1")
    # Act
    judged = app.judge(entry.id, gate, "not yet")
    # Assert
    assert (judged.state, judged.gate) == (EntryState.QUEUED, gate.value)
    assert app.entry(entry.id).gate == gate.value
    assert stored(app, entry.id)[-1] is ArenaEntry.GateChanged


def test_passing_every_gate_clears_the_named_gate(app) -> None:
    # Arrange
    entry = enqueue(app, "audition-1")
    app.judge(entry.id, Gate.PROFILE_UNPUBLISHED)
    # Act
    judged = app.judge(entry.id, None)
    # Assert
    assert judged.gate is None
    assert app.entry(entry.id).gate is None
    assert app.entry(entry.id).state is EntryState.QUEUED


def test_judging_the_same_gate_again_records_nothing(app) -> None:
    # Arrange
    entry = enqueue(app, "audition-1")
    app.judge(entry.id, Gate.CLONE_IN_ARENA, "held")
    app.judge(entry.id, None)
    app.judge(entry.id, None)
    recorded = events_recorded(app)
    # Act
    app.judge(entry.id, None, "still passes")
    # Assert
    assert events_recorded(app) == recorded
    assert stored(app, entry.id) == [
        ArenaEntry.Enqueued,
        ArenaEntry.GateChanged,
        ArenaEntry.GateChanged,
    ]


@pytest.mark.parametrize("gate", [None, *Gate])
def test_judging_an_entry_out_of_the_queue_leaves_it_untouched(app, gate) -> None:
    # Arrange: one member, one withdrawn entry
    member = enqueue(app, "audition-1")
    app.admit(member.id, CAPACITY)
    gone = enqueue(app, "audition-2", clone="clone-b")
    app.judge(gone.id, Gate.CLONE_RETIRED, "moderation")
    recorded = events_recorded(app)
    # Act
    judged_member = app.judge(member.id, gate, "late")
    judged_gone = app.judge(gone.id, gate, "late")
    # Assert
    assert events_recorded(app) == recorded
    assert (judged_member.state, judged_member.gate) == (EntryState.ADMITTED, None)
    assert (judged_gone.state, judged_gone.gate) == (EntryState.WITHDRAWN, "clone_retired")


# --- admit -------------------------------------------------------------------------------------


def test_admit_seats_the_entry_and_admits_it_together(app, clock) -> None:
    # Arrange
    entry = enqueue(app, "audition-1")
    app.judge(entry.id, Gate.PROFILE_UNPUBLISHED)
    admitted_at = clock.advance(MINUTE)
    # Act
    assert app.admit(entry.id, CAPACITY) is True
    # Assert
    reloaded = app.entry(entry.id)
    assert (reloaded.state, reloaded.gate, reloaded.step) == (
        EntryState.ADMITTED,
        None,
        EntryStep.ACCOUNT,
    )
    assert reloaded.admitted_at == admitted_at
    assert app.membership() == Membership({str(entry.id): str(entry.clone_id)}, frozenset())
    seated = list(app.events.get(ARENA_ID))[-1]
    admission = list(app.events.get(entry.id))[-1]
    assert isinstance(seated, ArenaSlots.Seated)
    assert isinstance(admission, ArenaEntry.Admitted)
    assert seated.capacity == admission.capacity == CAPACITY
    assert seated.timestamp == admission.timestamp == admitted_at


def test_admitting_an_entry_no_longer_queued_returns_false_and_records_nothing(app) -> None:
    # Arrange
    entry = enqueue(app, "audition-1")
    app.admit(entry.id, CAPACITY)
    recorded = events_recorded(app)
    # Act / Assert
    assert app.admit(entry.id, CAPACITY) is False
    assert events_recorded(app) == recorded


def test_admitting_into_a_full_arena_raises_and_leaves_the_entry_queued(app) -> None:
    # Arrange
    for n, clone in enumerate(["clone-a", "clone-b"]):
        app.admit(enqueue(app, f"audition-{n}", clone=clone).id, CAPACITY)
    waiting = enqueue(app, "audition-9", clone="clone-c")
    recorded = events_recorded(app)
    # Act
    with pytest.raises(ArenaFull):
        app.admit(waiting.id, CAPACITY)
    # Assert
    assert events_recorded(app) == recorded
    assert app.entry(waiting.id).state is EntryState.QUEUED
    assert len(app.membership().members) == CAPACITY


def test_admitting_a_clone_already_in_the_arena_raises_and_leaves_the_entry_queued(app) -> None:
    # Arrange
    member = enqueue(app, "audition-1", clone="clone-a")
    app.admit(member.id, CAPACITY)
    newer = enqueue(app, "audition-2", clone="clone-a", version_id=an_id("version-a2"))
    recorded = events_recorded(app)
    # Act
    with pytest.raises(CloneInArena):
        app.admit(newer.id, CAPACITY)
    # Assert
    assert events_recorded(app) == recorded
    assert app.entry(newer.id).state is EntryState.QUEUED
    assert app.membership().members == {str(member.id): str(member.clone_id)}


def test_a_lowered_capacity_admits_nobody_and_evicts_nobody(app) -> None:
    # Arrange
    members = [enqueue(app, f"audition-{n}", clone=f"clone-{n}") for n in range(3)]
    for member in members:
        app.admit(member.id, 3)
    waiting = enqueue(app, "audition-9", clone="clone-9")
    # Act / Assert
    with pytest.raises(ArenaFull):
        app.admit(waiting.id, 1)
    assert {e.id for e in app.members()} == {m.id for m in members}


# --- leave and retirement --------------------------------------------------------------------


def test_removing_a_member_frees_its_slot_for_the_next(app, clock) -> None:
    # Arrange
    member = enqueue(app, "audition-1")
    app.admit(member.id, 1)
    waiting = enqueue(app, "audition-2", clone="clone-b")
    left_at = clock.advance(MINUTE)
    # Act
    gone = app.leave(member.id, retired=False, reason="rule breach", by="admin-1")
    # Assert
    assert gone.state is EntryState.REMOVED
    reloaded = app.entry(member.id)
    assert (reloaded.state, reloaded.reason, reloaded.left_at) == (
        EntryState.REMOVED,
        "rule breach",
        left_at,
    )
    assert app.membership() == Membership({}, frozenset())
    assert app.admit(waiting.id, 1) is True


def test_a_removed_clone_may_come_back_through_a_new_audition(app) -> None:
    # Arrange
    member = enqueue(app, "audition-1")
    app.admit(member.id, CAPACITY)
    app.leave(member.id, retired=False, reason="rule breach", by="admin-1")
    comeback = enqueue(app, "audition-2", version_id=an_id("version-a2"))
    # Act / Assert
    assert app.admit(comeback.id, CAPACITY) is True
    assert app.membership().holds_clone(an_id("clone-a"))


def test_retiring_a_member_records_its_clone_for_good(app) -> None:
    # Arrange
    member = enqueue(app, "audition-1")
    app.admit(member.id, CAPACITY)
    # Act
    gone = app.leave(member.id, retired=True, reason="strikes", by="races")
    # Assert
    assert gone.state is EntryState.RETIRED
    membership = app.membership()
    assert membership.members == {}
    assert membership.retired_clones == frozenset({str(member.clone_id)})
    assert app.repository.get(ARENA_ID).arena_retired(member.clone_id)


def test_leaving_saves_the_entry_and_the_slots_together(app) -> None:
    # Arrange
    member = enqueue(app, "audition-1")
    app.admit(member.id, CAPACITY)
    before = events_recorded(app)
    # Act
    app.leave(member.id, retired=False, reason="r", by="admin-1")
    # Assert: one Left and one Vacated, both stored, stamped at the same instant
    assert events_recorded(app) == before + 2
    left = list(app.events.get(member.id))[-1]
    vacated = list(app.events.get(ARENA_ID))[-1]
    assert isinstance(left, ArenaEntry.Left)
    assert isinstance(vacated, ArenaSlots.Vacated)
    assert left.timestamp == vacated.timestamp


def test_a_member_that_had_an_account_must_stop_trading_after_leaving(app) -> None:
    # Arrange
    member = enqueue(app, "audition-1")
    app.admit(member.id, CAPACITY)
    app.change(member.id, lambda e: e.open_account(ACCOUNT_ID))
    # Act
    gone = app.leave(member.id, retired=False, reason="r", by="admin-1")
    # Assert
    assert gone.step is EntryStep.STOP
    app.change(member.id, lambda e: e.stop_trading())
    assert app.entry(member.id).step is None


@pytest.mark.parametrize("stage", ["queued", "withdrawn", "removed"])
def test_leaving_when_not_a_member_is_a_conflict_and_records_nothing(app, stage) -> None:
    # Arrange
    entry = enqueue(app, "audition-1")
    if stage == "withdrawn":
        app.judge(entry.id, Gate.CLONE_RETIRED)
    if stage == "removed":
        app.admit(entry.id, CAPACITY)
        app.leave(entry.id, retired=False, reason="r", by="admin-1")
    recorded = events_recorded(app)
    # Act
    with pytest.raises(EntryConflict):
        app.leave(entry.id, retired=True, reason="again", by="admin-2")
    # Assert
    assert events_recorded(app) == recorded
    assert app.membership().retired_clones == frozenset()


def test_retire_clone_retires_the_member_entry_of_that_clone(app) -> None:
    # Arrange
    other = enqueue(app, "audition-1", clone="clone-a")
    member = enqueue(app, "audition-2", clone="clone-b")
    app.admit(other.id, CAPACITY)
    app.admit(member.id, CAPACITY)
    # Act
    retired = app.retire_clone(an_id("clone-b"), reason="three strikes", by="races")
    # Assert
    assert retired is not None
    assert (retired.id, retired.state, retired.reason) == (
        member.id,
        EntryState.RETIRED,
        "three strikes",
    )
    assert app.membership() == Membership(
        {str(other.id): str(other.clone_id)}, frozenset({str(member.clone_id)})
    )


def test_retire_clone_without_a_slot_bars_it_for_good(app) -> None:
    # Arrange: the clone is queued but holds no slot (struck out after a removal, say)
    queued = enqueue(app, "audition-1", clone="clone-a")
    app.admit(enqueue(app, "audition-2", clone="clone-b").id, CAPACITY)
    recorded = events_recorded(app)
    # Act
    retired = app.retire_clone(an_id("clone-a"), reason="strikes", by="races")
    again = app.retire_clone(an_id("clone-a"), reason="strikes", by="races")
    # Assert
    assert retired is None
    assert again is None
    assert events_recorded(app) == recorded + 1  # one CloneBarred, not two
    assert app.membership().retired_clones == frozenset({str(an_id("clone-a"))})
    with pytest.raises(ArenaRetired):
        app.admit(queued.id, CAPACITY)


def test_a_retired_clones_other_entry_is_never_seated(app) -> None:
    first = enqueue(app, "audition-1", clone="clone-a")
    second = enqueue(app, "audition-2", clone="clone-a")
    app.admit(first.id, CAPACITY)
    app.leave(first.id, retired=True, reason="strikes", by="races")

    with pytest.raises(ArenaRetired):
        app.admit(second.id, CAPACITY)

    assert app.membership().members == {}


# --- members and membership -----------------------------------------------------------------


def test_membership_of_an_arena_never_opened_is_empty(app) -> None:
    assert app.membership() == Membership({}, frozenset())
    assert app.members() == []
    assert not app.membership().holds_clone(an_id("clone-a"))


def test_members_are_the_entries_holding_a_slot(app) -> None:
    # Arrange
    stays = enqueue(app, "audition-1", clone="clone-a")
    goes = enqueue(app, "audition-2", clone="clone-b")
    enqueue(app, "audition-3", clone="clone-c")  # queued, never admitted
    app.admit(stays.id, 3)
    app.admit(goes.id, 3)
    app.change(stays.id, lambda e: e.open_account(ACCOUNT_ID))
    app.change(stays.id, lambda e: e.activate(T0))
    # Act
    app.leave(goes.id, retired=False, reason="r", by="admin-1")
    # Assert
    members = app.members()
    assert [m.id for m in members] == [stays.id]
    assert members[0].state is EntryState.ACTIVE
    assert app.membership().holds_clone(an_id("clone-a"))
    assert not app.membership().holds_clone(an_id("clone-b"))


def test_membership_is_a_snapshot_the_caller_cannot_change(app) -> None:
    # Arrange
    app.admit(enqueue(app, "audition-1").id, CAPACITY)
    snapshot = app.membership()
    # Act
    snapshot.members.clear()
    # Assert
    assert len(app.membership().members) == 1


# --- the whole workflow ------------------------------------------------------------------------


def test_worked_example_from_a_pass_to_a_stopped_departure(app, clock) -> None:
    # Arrange: queued behind a missing profile
    entry = enqueue(app, "audition-1", score=Decimal("3.1"))
    app.judge(entry.id, Gate.PROFILE_UNPUBLISHED, "no public profile")
    # Act: published, judged again, admitted; account, bind, trade; retired; stopped
    clock.advance(MINUTE)
    app.judge(entry.id, None)
    assert app.admit(entry.id, CAPACITY) is True
    app.change(entry.id, lambda e: e.open_account(ACCOUNT_ID))
    started_at = clock.advance(MINUTE)
    app.change(entry.id, lambda e: e.activate(started_at))
    clock.advance(timedelta(days=5))
    app.retire_clone(entry.clone_id, reason="strikes", by="races")
    app.change(entry.id, lambda e: e.stop_trading())
    # Assert
    final = app.entry(entry.id)
    assert (final.state, final.step, final.account_id) == (EntryState.RETIRED, None, ACCOUNT_ID)
    assert stored(app, entry.id) == [
        ArenaEntry.Enqueued,
        ArenaEntry.GateChanged,
        ArenaEntry.GateChanged,
        ArenaEntry.Admitted,
        ArenaEntry.AccountOpened,
        ArenaEntry.Activated,
        ArenaEntry.Left,
        ArenaEntry.TradingStopped,
    ]
    assert app.membership() == Membership({}, frozenset({str(entry.clone_id)}))


# --- racing admissions (both load the same slots before either saves) ----------------------


@pytest.fixture
def racing() -> tuple[Competition, RendezvousClock]:
    clock = RendezvousClock(T0)
    return Competition(clock=clock), clock


def test_two_admissions_racing_for_the_last_slot_seat_one(racing) -> None:
    # Arrange: one slot left
    app, clock = racing
    app.admit(enqueue(app, "audition-0", clone="clone-0").id, CAPACITY)
    first = enqueue(app, "audition-1", clone="clone-a")
    second = enqueue(app, "audition-2", clone="clone-b")
    # Act
    outcomes = clock.race(
        lambda: app.admit(first.id, CAPACITY), lambda: app.admit(second.id, CAPACITY)
    )
    # Assert: one wins, the loser retried against the new slots and found the Arena full
    assert sorted(type(o).__name__ for o in outcomes) == ["ArenaFull", "bool"]
    assert True in outcomes
    assert len(app.membership().members) == CAPACITY
    states = sorted(app.entry(e.id).state.value for e in (first, second))
    assert states == ["admitted", "queued"]


def test_two_first_admissions_racing_to_open_the_arena_seat_one(racing) -> None:
    # Arrange: the Arena was never opened, one slot
    app, clock = racing
    first = enqueue(app, "audition-1", clone="clone-a")
    second = enqueue(app, "audition-2", clone="clone-b")
    # Act
    outcomes = clock.race(lambda: app.admit(first.id, 1), lambda: app.admit(second.id, 1))
    # Assert
    assert sorted(type(o).__name__ for o in outcomes) == ["ArenaFull", "bool"]
    assert len(app.membership().members) == 1
    assert stored(app, ARENA_ID) == [ArenaSlots.Opened, ArenaSlots.Seated]


def test_two_entries_of_one_clone_racing_seat_the_clone_once(racing) -> None:
    # Arrange: room for both, but one clone
    app, clock = racing
    app.admit(enqueue(app, "audition-0", clone="clone-0").id, 5)
    first = enqueue(app, "audition-1", clone="clone-a")
    second = enqueue(app, "audition-2", clone="clone-a", version_id=an_id("version-a2"))
    # Act
    outcomes = clock.race(lambda: app.admit(first.id, 5), lambda: app.admit(second.id, 5))
    # Assert
    assert sorted(type(o).__name__ for o in outcomes) == ["CloneInArena", "bool"]
    assert list(app.membership().members.values()).count(str(an_id("clone-a"))) == 1


def test_one_entry_admitted_twice_at_once_is_admitted_once(racing) -> None:
    # Arrange
    app, clock = racing
    entry = enqueue(app, "audition-1")
    # Act
    outcomes = clock.race(lambda: app.admit(entry.id, 5), lambda: app.admit(entry.id, 5))
    # Assert: the loser finds it no longer queued
    assert sorted(outcomes) == [False, True]
    assert stored(app, entry.id).count(ArenaEntry.Admitted) == 1
    assert stored(app, ARENA_ID).count(ArenaSlots.Seated) == 1


def test_many_admissions_at_once_never_exceed_the_capacity(racing) -> None:
    # Arrange: eight entries of eight clones, three slots, all load before any saves
    app, clock = racing
    entries = [enqueue(app, f"audition-{n}", clone=f"clone-{n}") for n in range(8)]
    # Act
    outcomes = clock.race(*(lambda e=e: app.admit(e.id, 3) for e in entries))
    # Assert
    assert outcomes.count(True) == 3
    assert sum(isinstance(o, ArenaFull) for o in outcomes) == 5
    assert len(app.membership().members) == 3
    assert len(app.members()) == 3
    seatings = [e for e in app.events.get(ARENA_ID) if isinstance(e, ArenaSlots.Seated)]
    assert len(seatings) == 3
