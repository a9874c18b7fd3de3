"""The Arena entry's state machine: every stage, every command in and out of state, replay.

Worked example: a passed audition is enqueued (``queued``, no step); a gate may be named on
it while it waits, or a final gate withdraws it. Admitted, it asks for an ``account``, then
``bind``; activated it trades (no step). Removed or retired after it had an account, it asks
to ``stop`` until its trading is stopped. A command out of state raises ``EntryConflict``
and records nothing.

Entries are built under a simulated market clock bound for each test, one minute apart per
command, so every timestamp says which command stamped it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from domain.aggregates import clock_in_use
from domain.clock import SimulatedClock
from domain.competition.admission import Gate
from domain.competition.application import Competition
from domain.competition.entry import (
    ArenaEntry,
    CompetitionError,
    EntryConflict,
    EntryState,
    EntryStep,
    account_cause,
    entry_id_for,
)
from tests.domain.competition.competition_kit import (
    CAPACITY,
    METRICS,
    MINUTE,
    SCORE,
    T0,
    USER,
    an_id,
    enqueue_values,
)

AUDITION_ID = an_id("audition-1")
ACCOUNT_ID = an_id("account-1")
OTHER_ACCOUNT_ID = an_id("account-2")
LONG = "x" * 800


@pytest.fixture(autouse=True)
def clock() -> Iterator[SimulatedClock]:
    market = SimulatedClock(T0)
    with clock_in_use(market):
        yield market


# --- builders: one entry per stage, each command one minute after the last ----------------

Builder = Callable[[SimulatedClock], ArenaEntry]


def queued(clock: SimulatedClock) -> ArenaEntry:
    return ArenaEntry.enqueue(AUDITION_ID, **enqueue_values())


def gated(clock: SimulatedClock) -> ArenaEntry:
    entry = queued(clock)
    clock.advance(MINUTE)
    entry.gate_failed(Gate.PROFILE_UNPUBLISHED.value, "no public profile")
    return entry


def withdrawn(clock: SimulatedClock) -> ArenaEntry:
    entry = queued(clock)
    clock.advance(MINUTE)
    entry.withdraw(Gate.CLONE_RETIRED.value, "moderation retired the clone")
    return entry


def admitted(clock: SimulatedClock) -> ArenaEntry:
    entry = gated(clock)
    clock.advance(MINUTE)
    entry.admit(CAPACITY)
    return entry


def account_opened(clock: SimulatedClock) -> ArenaEntry:
    entry = admitted(clock)
    clock.advance(MINUTE)
    entry.open_account(ACCOUNT_ID)
    return entry


def active(clock: SimulatedClock) -> ArenaEntry:
    entry = account_opened(clock)
    clock.advance(MINUTE)
    entry.activate(clock.now())
    return entry


def removed_before_account(clock: SimulatedClock) -> ArenaEntry:
    entry = admitted(clock)
    clock.advance(MINUTE)
    entry.leave(retired=False, reason="left before trading", by="admin-1")
    return entry


def retired_before_bind(clock: SimulatedClock) -> ArenaEntry:
    entry = account_opened(clock)
    clock.advance(MINUTE)
    entry.leave(retired=True, reason="retired before binding", by="admin-1")
    return entry


def removed(clock: SimulatedClock) -> ArenaEntry:
    entry = active(clock)
    clock.advance(MINUTE)
    entry.leave(retired=False, reason="rule breach", by="admin-1")
    return entry


def retired(clock: SimulatedClock) -> ArenaEntry:
    entry = active(clock)
    clock.advance(MINUTE)
    entry.leave(retired=True, reason="retirement strikes", by="races")
    return entry


def stopped(clock: SimulatedClock) -> ArenaEntry:
    entry = removed(clock)
    clock.advance(MINUTE)
    entry.stop_trading()
    return entry


# stage -> (builder, state, step, commands it accepts)
STAGES: dict[str, tuple[Builder, EntryState, EntryStep | None, frozenset[str]]] = {
    "queued": (queued, EntryState.QUEUED, None, frozenset({"gate_failed", "withdraw", "admit"})),
    "gated": (gated, EntryState.QUEUED, None, frozenset({"gate_failed", "withdraw", "admit"})),
    "withdrawn": (withdrawn, EntryState.WITHDRAWN, None, frozenset()),
    "admitted": (
        admitted,
        EntryState.ADMITTED,
        EntryStep.ACCOUNT,
        frozenset({"open_account", "remove", "retire"}),
    ),
    "account_opened": (
        account_opened,
        EntryState.ADMITTED,
        EntryStep.BIND,
        frozenset({"activate", "remove", "retire"}),
    ),
    "active": (active, EntryState.ACTIVE, None, frozenset({"remove", "retire"})),
    "removed_before_account": (removed_before_account, EntryState.REMOVED, None, frozenset()),
    "retired_before_bind": (
        retired_before_bind,
        EntryState.RETIRED,
        EntryStep.STOP,
        frozenset({"stop_trading"}),
    ),
    "removed": (removed, EntryState.REMOVED, EntryStep.STOP, frozenset({"stop_trading"})),
    "retired": (retired, EntryState.RETIRED, EntryStep.STOP, frozenset({"stop_trading"})),
    "stopped": (stopped, EntryState.REMOVED, None, frozenset()),
}

# Each command with arguments that would change a queued entry (a gate it does not name).
COMMANDS: dict[str, Callable[[ArenaEntry], None]] = {
    "gate_failed": lambda e: e.gate_failed(Gate.CLONE_IN_ARENA.value, "another entry holds it"),
    "withdraw": lambda e: e.withdraw(Gate.ARENA_RETIRED.value, "retired from the Arena"),
    "admit": lambda e: e.admit(CAPACITY),
    "open_account": lambda e: e.open_account(OTHER_ACCOUNT_ID),
    "activate": lambda e: e.activate(T0),
    "remove": lambda e: e.leave(retired=False, reason="again", by="admin-2"),
    "retire": lambda e: e.leave(retired=True, reason="again", by="admin-2"),
    "stop_trading": lambda e: e.stop_trading(),
}

ACCEPTED = [(s, c) for s, (_, _, _, ok) in STAGES.items() for c in COMMANDS if c in ok]
REFUSED = [(s, c) for s, (_, _, _, ok) in STAGES.items() for c in COMMANDS if c not in ok]


def event_types(entry: ArenaEntry) -> list[type]:
    return [type(e) for e in entry.pending_events]


# --- enqueue ---------------------------------------------------------------------------


def test_enqueue_pins_the_passed_version_and_waits_in_the_queue(clock) -> None:
    # Act
    entry = ArenaEntry.enqueue(AUDITION_ID, **enqueue_values())
    # Assert
    assert entry.id == entry_id_for(AUDITION_ID)
    assert (entry.audition_id, entry.run, entry.user_id) == (AUDITION_ID, 1, USER)
    assert (entry.clone_id, entry.version_id) == (an_id("clone-a"), an_id("version-a1"))
    assert (entry.score, entry.metrics) == (SCORE, METRICS)
    assert entry.state is EntryState.QUEUED
    assert (entry.gate, entry.reason, entry.account_id) == (None, None, None)
    assert (entry.admitted_at, entry.left_at, entry.stopped) == (None, None, False)
    assert entry.step is None
    assert entry.created_on == T0
    assert event_types(entry) == [ArenaEntry.Enqueued]


def test_entry_id_derives_from_the_audition_alone() -> None:
    # Arrange
    first, second = an_id("audition-1"), an_id("audition-2")
    # Act / Assert
    assert entry_id_for(first) == entry_id_for(first)
    assert entry_id_for(first) != entry_id_for(second)
    assert entry_id_for(first) != first


def test_account_cause_names_the_entry() -> None:
    entry_id = entry_id_for(AUDITION_ID)
    assert account_cause(entry_id) == f"arena:{entry_id}"


# --- the state table ---------------------------------------------------------------------


@pytest.mark.parametrize("stage", list(STAGES))
def test_stage_has_its_state_and_step(clock, stage) -> None:
    # Arrange
    build, state, step, _ = STAGES[stage]
    # Act
    entry = build(clock)
    # Assert
    assert entry.state is state
    assert entry.step is step


@pytest.mark.parametrize(("stage", "command"), ACCEPTED)
def test_command_in_state_records_one_event(clock, stage, command) -> None:
    # Arrange
    entry = STAGES[stage][0](clock)
    before = len(entry.pending_events)
    # Act
    COMMANDS[command](entry)
    # Assert
    assert len(entry.pending_events) == before + 1


@pytest.mark.parametrize(("stage", "command"), REFUSED)
def test_command_out_of_state_is_a_conflict_and_records_nothing(clock, stage, command) -> None:
    # Arrange
    entry = STAGES[stage][0](clock)
    events = list(entry.pending_events)
    state = {k: v for k, v in vars(entry).items() if k != "_pending_events"}
    # Act
    with pytest.raises(EntryConflict) as refused:
        COMMANDS[command](entry)
    # Assert
    assert entry.pending_events == events
    assert {k: v for k, v in vars(entry).items() if k != "_pending_events"} == state
    assert str(entry.id) in str(refused.value)
    assert isinstance(refused.value, CompetitionError)
    assert refused.value.reason == "entry_conflict"


@pytest.mark.parametrize("stage", list(STAGES))
def test_reload_from_the_repository_equals_the_live_entry(clock, stage) -> None:
    # Arrange
    entry = STAGES[stage][0](clock)
    app = Competition(clock=clock)
    # Act
    app.save(entry)
    reloaded = app.entry(entry.id)
    # Assert
    assert reloaded is not entry
    assert vars(reloaded) == vars(entry)
    assert reloaded.step is entry.step


# --- gates while queued --------------------------------------------------------------------


def test_gate_failed_records_only_changes(clock) -> None:
    # Arrange
    entry = queued(clock)
    profile = Gate.PROFILE_UNPUBLISHED.value
    # Act / Assert: passing when it already passes records nothing
    entry.gate_failed(None)
    assert event_types(entry) == [ArenaEntry.Enqueued]
    # a new gate is recorded, the same gate again is not (even with another detail)
    entry.gate_failed(profile, "no public profile")
    entry.gate_failed(profile, "still no public profile")
    assert event_types(entry) == [ArenaEntry.Enqueued, ArenaEntry.GateChanged]
    assert entry.gate == profile
    # another gate is a change, and so is passing again
    entry.gate_failed(Gate.CLONE_IN_ARENA.value, "held")
    entry.gate_failed(None)
    entry.gate_failed(None)
    assert [e.gate for e in entry.pending_events[1:]] == [profile, "clone_in_arena", None]
    assert entry.gate is None
    assert entry.state is EntryState.QUEUED


def test_gate_changed_carries_its_detail_cut_to_500_characters(clock) -> None:
    # Arrange
    entry = queued(clock)
    # Act
    entry.gate_failed(Gate.PROFILE_UNPUBLISHED.value, LONG)
    # Assert
    changed = entry.pending_events[-1]
    assert isinstance(changed, ArenaEntry.GateChanged)
    assert changed.detail == "x" * 500


def test_withdraw_leaves_the_queue_naming_the_final_gate(clock) -> None:
    # Arrange
    entry = gated(clock)
    clock.advance(MINUTE)
    # Act
    entry.withdraw(Gate.ARENA_RETIRED.value, LONG)
    # Assert
    assert entry.state is EntryState.WITHDRAWN
    assert entry.gate == "arena_retired"
    assert entry.reason == "x" * 500
    assert entry.step is None
    assert entry.pending_events[-1].timestamp == T0 + 2 * MINUTE


# --- admission and the member's steps --------------------------------------------------------


def test_admit_takes_the_slot_clears_the_gate_and_asks_for_an_account(clock) -> None:
    # Arrange
    entry = gated(clock)
    clock.advance(MINUTE)
    # Act
    entry.admit(7)
    # Assert
    assert entry.state is EntryState.ADMITTED
    assert entry.gate is None
    assert entry.admitted_at == T0 + 2 * MINUTE
    assert entry.step is EntryStep.ACCOUNT
    admission = entry.pending_events[-1]
    assert isinstance(admission, ArenaEntry.Admitted)
    assert admission.capacity == 7


def test_open_account_records_it_and_asks_to_bind(clock) -> None:
    # Arrange
    entry = admitted(clock)
    # Act
    entry.open_account(ACCOUNT_ID)
    # Assert
    assert entry.account_id == ACCOUNT_ID
    assert entry.state is EntryState.ADMITTED
    assert entry.step is EntryStep.BIND


def test_activate_trades_with_no_step_left(clock) -> None:
    # Arrange
    entry = account_opened(clock)
    started_at = clock.advance(MINUTE)
    # Act
    entry.activate(started_at)
    # Assert
    assert entry.state is EntryState.ACTIVE
    assert entry.step is None
    activation = entry.pending_events[-1]
    assert isinstance(activation, ArenaEntry.Activated)
    assert activation.started_at == started_at


@pytest.mark.parametrize(
    ("is_retired", "state"), [(False, EntryState.REMOVED), (True, EntryState.RETIRED)]
)
def test_leave_records_who_why_and_when(clock, is_retired, state) -> None:
    # Arrange
    entry = active(clock)
    left_at = clock.advance(MINUTE)
    # Act
    entry.leave(retired=is_retired, reason=LONG, by="admin-1")
    # Assert
    assert entry.state is state
    assert entry.reason == "x" * 500
    assert entry.left_at == left_at
    departure = entry.pending_events[-1]
    assert isinstance(departure, ArenaEntry.Left)
    assert (departure.retired, departure.by) == (is_retired, "admin-1")


@pytest.mark.parametrize("is_retired", [False, True])
def test_leaving_with_no_account_leaves_nothing_to_stop(clock, is_retired) -> None:
    # Arrange
    entry = admitted(clock)
    # Act
    entry.leave(retired=is_retired, reason="out", by="admin-1")
    # Assert
    assert entry.step is None
    with pytest.raises(EntryConflict):
        entry.stop_trading()


def test_stop_trading_ends_the_stop_step_and_keeps_the_history(clock) -> None:
    # Arrange
    entry = retired(clock)
    # Act
    entry.stop_trading()
    # Assert
    assert entry.stopped is True
    assert entry.step is None
    assert entry.state is EntryState.RETIRED
    assert entry.account_id == ACCOUNT_ID
    assert entry.reason == "retirement strikes"


def test_every_event_is_stamped_by_the_bound_clock(clock) -> None:
    # Act
    entry = stopped(clock)
    # Assert
    stamps: list[datetime] = [e.timestamp for e in entry.pending_events]
    assert stamps == [T0 + n * MINUTE for n in range(len(stamps))]
    assert entry.modified_on == stamps[-1]


# --- random command sequences (STYLE rule 20) ---------------------------------------------


def expected_step(state: EntryState, has_account: bool, has_stopped: bool) -> EntryStep | None:
    if state is EntryState.ADMITTED:
        return EntryStep.BIND if has_account else EntryStep.ACCOUNT
    left = state in {EntryState.REMOVED, EntryState.RETIRED}
    return EntryStep.STOP if left and has_account and not has_stopped else None


GATES = st.sampled_from([None, *(g.value for g in Gate)])


class EntryMachine(RuleBasedStateMachine):
    """Random commands on one entry against a model of the table in the module docstring."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = SimulatedClock(T0)
        self.app = Competition(clock=self.clock)
        with clock_in_use(self.clock):
            self.entry = ArenaEntry.enqueue(AUDITION_ID, **enqueue_values())
        self.app.save(self.entry)
        self.state, self.gate = EntryState.QUEUED, None
        self.has_account = self.has_stopped = False

    def attempt(self, command: Callable[[], None], accepted: bool) -> bool:
        """Run ``command``; check it was refused with no event exactly when not accepted."""
        version = self.entry.version
        self.clock.advance(MINUTE)
        with clock_in_use(self.clock):
            if accepted:
                command()
            else:
                with pytest.raises(EntryConflict):
                    command()
                assert self.entry.version == version
                assert self.entry.pending_events == []
        self.app.save(self.entry)
        return accepted

    @rule(gate=GATES)
    def gate_failed(self, gate: str | None) -> None:
        queued_now = self.state is EntryState.QUEUED
        version = self.entry.version
        if self.attempt(lambda: self.entry.gate_failed(gate, "why"), queued_now):
            assert self.entry.version == version + (gate != self.gate)
            self.gate = gate

    @rule(gate=st.sampled_from([Gate.CLONE_RETIRED.value, Gate.ARENA_RETIRED.value]))
    def withdraw(self, gate: str) -> None:
        if self.attempt(
            lambda: self.entry.withdraw(gate, "final"), self.state is EntryState.QUEUED
        ):
            self.state, self.gate = EntryState.WITHDRAWN, gate

    @rule(capacity=st.integers(min_value=1, max_value=50))
    def admit(self, capacity: int) -> None:
        if self.attempt(lambda: self.entry.admit(capacity), self.state is EntryState.QUEUED):
            self.state, self.gate = EntryState.ADMITTED, None

    @rule()
    def open_account(self) -> None:
        ok = self.state is EntryState.ADMITTED and not self.has_account
        if self.attempt(lambda: self.entry.open_account(ACCOUNT_ID), ok):
            self.has_account = True

    @rule()
    def activate(self) -> None:
        ok = self.state is EntryState.ADMITTED and self.has_account
        if self.attempt(lambda: self.entry.activate(self.clock.now()), ok):
            self.state = EntryState.ACTIVE

    @rule(is_retired=st.booleans())
    def leave(self, is_retired: bool) -> None:
        ok = self.state in {EntryState.ADMITTED, EntryState.ACTIVE}
        if self.attempt(lambda: self.entry.leave(retired=is_retired, reason="r", by="a"), ok):
            self.state = EntryState.RETIRED if is_retired else EntryState.REMOVED

    @rule()
    def stop_trading(self) -> None:
        ok = expected_step(self.state, self.has_account, self.has_stopped) is EntryStep.STOP
        if self.attempt(self.entry.stop_trading, ok):
            self.has_stopped = True

    @invariant()
    def live_state_follows_the_model(self) -> None:
        assert self.entry.state is self.state
        assert self.entry.gate == self.gate
        assert self.entry.step is expected_step(self.state, self.has_account, self.has_stopped)
        assert (self.entry.account_id is not None) is self.has_account

    @invariant()
    def replay_equals_live_state(self) -> None:
        assert vars(self.app.entry(self.entry.id)) == vars(self.entry)


EntryMachine.TestCase.settings = settings(max_examples=200, stateful_step_count=25, deadline=None)
TestEntryMachine = EntryMachine.TestCase


def test_the_state_table_names_every_command_and_stage() -> None:
    # the parametrized tables above cover the whole product, so none can go missing
    assert len(ACCEPTED) + len(REFUSED) == len(STAGES) * len(COMMANDS)
    assert {c for _, c in ACCEPTED} == set(COMMANDS)
