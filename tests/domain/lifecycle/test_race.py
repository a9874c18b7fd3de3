"""The race aggregate's state machine, its time guards, its frozen config, and its id.

Worked example: a race scheduled at 08:00 (default config) accumulates tickets until 08:30,
launches (one race account per entrant), goes live at 08:35, starts settling at 10:35 with
the end-instant snapshots, settles (results and struck-out clones), applies the retirements,
and is archived seven days after it settled. It may be cancelled while accumulating (nothing
to unwind) or once launched (the accounts must be unwound).

The table below covers every command from every state: a command either does what the state
allows or raises ``RaceTransitionRefused`` and records nothing.

Aggregates here are built under a simulated market clock bound for each test; the Lifecycle
application binds its own clock around each command.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.aggregates import clock_in_use
from domain.clock import SimulatedClock
from domain.lifecycle.audition_rules import AuditionError
from domain.lifecycle.race import (
    Race,
    RaceNotDue,
    RaceNotFound,
    RaceState,
    RaceTransitionRefused,
    race_id_for,
    slot_of,
)
from domain.lifecycle.race_config import RaceConfig
from domain.lifecycle.race_results import rank_results
from tests.domain.lifecycle.race_kit import (
    SLOT,
    T0,
    a_lifecycle,
    accounts_for,
    changed,
    entrants,
    entry_id,
    snapshot,
    snapshot_document,
)

CONFIG = RaceConfig()
CANDIDATES = [entry_id(n) for n in range(6)]
# Late enough for every time guard of every state.
LATE = T0 + timedelta(days=365)
SNAPSHOTS = [
    snapshot(entry_id(0), "10500"),
    snapshot(entry_id(1), "10200"),
    snapshot(entry_id(2), "9900"),
    snapshot(entry_id(3), "9700"),
]
SNAPSHOT_DOCUMENTS = [snapshot_document(s) for s in SNAPSHOTS]
RESULT_DOCUMENTS = [r.to_document() for r in rank_results(SNAPSHOTS, CONFIG)]


@pytest.fixture(autouse=True)
def market_clock() -> Iterator[SimulatedClock]:
    clock = SimulatedClock(T0)
    with clock_in_use(clock):
        yield clock


# --- builders: one race per state --------------------------------------------------------


def accumulating(config: RaceConfig = CONFIG) -> Race:
    return Race.schedule(
        SLOT, config=config, candidates=CANDIDATES, entrants=entrants(), opens_at=T0
    )


def launched() -> Race:
    race = accumulating()
    race.launch(accounts_for(race), race.launch_at)
    return race


def live() -> Race:
    race = launched()
    race.go_live(race.live_at)
    return race


def settling() -> Race:
    race = live()
    race.start_settling(SNAPSHOT_DOCUMENTS, race.ends_at)
    return race


def settled() -> Race:
    race = settling()
    race.settle(RESULT_DOCUMENTS, [])
    return race


def retirements_applied() -> Race:
    race = settled()
    race.apply_retirements([])
    return race


def archived() -> Race:
    race = retirements_applied()
    race.archive(LATE)
    return race


def cancelled_while_accumulating() -> Race:
    race = accumulating()
    race.cancel("too few entrants", "system:races")
    return race


def cancelled_while_launched() -> Race:
    race = launched()
    race.cancel("admin cancel", "admin:7")
    return race


STAGES: dict[str, tuple[Callable[[], Race], RaceState]] = {
    "accumulating": (accumulating, RaceState.ACCUMULATING),
    "launched": (launched, RaceState.LAUNCHED),
    "live": (live, RaceState.LIVE),
    "settling": (settling, RaceState.SETTLING),
    "settled": (settled, RaceState.SETTLED),
    "retirements_applied": (retirements_applied, RaceState.SETTLED),
    "archived": (archived, RaceState.ARCHIVED),
    "cancelled_while_accumulating": (cancelled_while_accumulating, RaceState.CANCELLED),
    "cancelled_while_launched": (cancelled_while_launched, RaceState.CANCELLED),
}

# Every command, with arguments that pass every other check (time, accounts).
COMMANDS: dict[str, Callable[[Race], None]] = {
    "drop": lambda r: r.drop(entry_id(0), "left the Arena"),
    "launch": lambda r: r.launch(accounts_for(r), LATE),
    "go_live": lambda r: r.go_live(LATE),
    "start_settling": lambda r: r.start_settling(SNAPSHOT_DOCUMENTS, LATE),
    "settle": lambda r: r.settle(RESULT_DOCUMENTS, []),
    "apply_retirements": lambda r: r.apply_retirements([]),
    "archive": lambda r: r.archive(LATE),
    "cancel": lambda r: r.cancel("admin cancel", "admin:7"),
    "unwind": lambda r: r.unwind(),
}

# (stage, command) -> (state after, event recorded or None). Every other pair is refused.
LEGAL: dict[tuple[str, str], tuple[RaceState, type[Race.Event] | None]] = {
    ("accumulating", "drop"): (RaceState.ACCUMULATING, Race.EntrantDropped),
    ("accumulating", "launch"): (RaceState.LAUNCHED, Race.Launched),
    ("accumulating", "cancel"): (RaceState.CANCELLED, Race.RaceCancelled),
    ("launched", "go_live"): (RaceState.LIVE, Race.WentLive),
    ("launched", "cancel"): (RaceState.CANCELLED, Race.RaceCancelled),
    ("live", "start_settling"): (RaceState.SETTLING, Race.SettlingStarted),
    ("settling", "settle"): (RaceState.SETTLED, Race.RaceSettled),
    ("settled", "apply_retirements"): (RaceState.SETTLED, Race.RetirementsApplied),
    # Archiving waits for the retirements; applying them again records nothing.
    ("retirements_applied", "apply_retirements"): (RaceState.SETTLED, None),
    ("retirements_applied", "archive"): (RaceState.ARCHIVED, Race.Archived),
    # A race cancelled while accumulating opened nothing: it is already unwound.
    ("cancelled_while_accumulating", "unwind"): (RaceState.CANCELLED, None),
    ("cancelled_while_launched", "unwind"): (RaceState.CANCELLED, Race.CancellationUnwound),
}

TABLE = list(itertools.product(STAGES, COMMANDS))


def test_stages_cover_every_race_state() -> None:
    # Arrange / Act
    states = {build().state for build, _ in STAGES.values()}

    # Assert
    assert states == set(RaceState)
    assert all(build().state is state for build, state in STAGES.values())


# --- the transition table ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stage", "command"), [pair for pair in TABLE if pair in LEGAL], ids="-".join
)
def test_race_legal_command_moves_to_its_state_and_records_its_event(
    stage: str, command: str
) -> None:
    # Arrange
    race = STAGES[stage][0]()
    version, pending = race.version, len(race.pending_events)
    state_after, event_type = LEGAL[(stage, command)]

    # Act
    COMMANDS[command](race)

    # Assert
    assert race.state is state_after
    if event_type is None:
        assert (race.version, len(race.pending_events)) == (version, pending)
    else:
        assert race.version == version + 1
        assert len(race.pending_events) == pending + 1
        assert type(race.pending_events[-1]) is event_type


@pytest.mark.parametrize(
    ("stage", "command"), [pair for pair in TABLE if pair not in LEGAL], ids="-".join
)
def test_race_illegal_command_is_refused_and_records_nothing(stage: str, command: str) -> None:
    # Arrange
    race = STAGES[stage][0]()
    before = (race.state, race.version, len(race.pending_events), list(race.entrants))

    # Act
    with pytest.raises(RaceTransitionRefused) as refused:
        COMMANDS[command](race)

    # Assert
    assert refused.value.reason == "race_transition_refused"
    assert isinstance(refused.value, AuditionError)
    assert (race.state, race.version, len(race.pending_events), list(race.entrants)) == before


def test_race_table_names_every_command_and_refuses_most_of_it() -> None:
    # Arrange / Act
    legal_commands = {command for _, command in LEGAL}

    # Assert
    assert legal_commands == set(COMMANDS)
    assert len(TABLE) == 81  # 9 stages x 9 commands
    assert len(TABLE) - len(LEGAL) == 69


# --- the commands' details -----------------------------------------------------------------


def test_race_scheduled_derives_its_instants_from_the_config() -> None:
    # Arrange / Act
    race = accumulating()

    # Assert
    assert race.id == race_id_for(SLOT)
    assert race.slot == SLOT
    assert race.state is RaceState.ACCUMULATING
    assert race.launch_at == datetime(2025, 3, 3, 8, 30, tzinfo=UTC)
    assert race.live_at == datetime(2025, 3, 3, 8, 35, tzinfo=UTC)
    assert race.ends_at == datetime(2025, 3, 3, 10, 35, tzinfo=UTC)
    assert race.candidates == CANDIDATES
    assert [e["entry_id"] for e in race.entrants] == [entry_id(n) for n in range(4)]
    assert race.archive_at is None


def test_race_drop_removes_the_entrant_once() -> None:
    # Arrange
    race = accumulating()

    # Act
    race.drop(entry_id(1), "left the Arena")
    race.drop(entry_id(1), "left the Arena")

    # Assert
    assert [e["entry_id"] for e in race.entrants] == [entry_id(0), entry_id(2), entry_id(3)]
    assert [type(e) for e in race.pending_events] == [Race.Scheduled, Race.EntrantDropped]


def test_race_drop_of_a_stranger_records_nothing() -> None:
    # Arrange
    race = accumulating()

    # Act
    race.drop("entry-99", "left the Arena")

    # Assert
    assert len(race.entrants) == 4
    assert race.version == 1


def test_race_launch_after_a_drop_needs_accounts_of_the_remaining_entrants_only() -> None:
    # Arrange
    race = accumulating()
    race.drop(entry_id(3), "left the Arena")

    # Act
    race.launch(accounts_for(race), race.launch_at)

    # Assert
    assert race.state is RaceState.LAUNCHED
    assert set(race.accounts) == {entry_id(0), entry_id(1), entry_id(2)}


@pytest.mark.parametrize(
    "accounts",
    [
        pytest.param(lambda a: {k: a[k] for k in list(a)[:-1]}, id="one_missing"),
        pytest.param(lambda a: {**a, "entry-99": "account-x"}, id="one_extra"),
        pytest.param(lambda a: {}, id="none"),
    ],
)
def test_race_launch_without_one_account_per_entrant_is_refused(
    accounts: Callable[[dict[str, str]], dict[str, str]],
) -> None:
    # Arrange
    race = accumulating()

    # Act
    with pytest.raises(RaceTransitionRefused):
        race.launch(accounts(accounts_for(race)), race.launch_at)

    # Assert
    assert race.state is RaceState.ACCUMULATING
    assert race.accounts == {}
    assert race.version == 1


def test_race_launch_records_the_accounts() -> None:
    # Arrange
    race = accumulating()
    accounts = accounts_for(race)

    # Act
    race.launch(accounts, race.launch_at)

    # Assert
    assert race.accounts == accounts


def test_race_start_settling_records_the_snapshots() -> None:
    # Arrange
    race = live()

    # Act
    race.start_settling(SNAPSHOT_DOCUMENTS, race.ends_at)

    # Assert
    assert race.snapshots == SNAPSHOT_DOCUMENTS


def test_race_settle_records_results_struck_out_and_the_settling_instant(
    market_clock: SimulatedClock,
) -> None:
    # Arrange
    race = settling()
    settled_at = market_clock.advance(timedelta(hours=3))

    # Act
    race.settle(RESULT_DOCUMENTS, ["clone-x"])

    # Assert
    assert race.results == RESULT_DOCUMENTS
    assert race.struck_out == ["clone-x"]
    assert race.settled_at == settled_at
    assert race.archive_at == settled_at + timedelta(days=7)
    assert race.retirements_done is False


def test_race_apply_retirements_twice_records_once() -> None:
    # Arrange
    race = settled()

    # Act
    race.apply_retirements(["clone-x"])
    race.apply_retirements(["clone-x"])

    # Assert
    assert race.retirements_done is True
    assert [type(e) for e in race.pending_events].count(Race.RetirementsApplied) == 1


def test_race_unwind_of_a_launched_cancellation_twice_records_once() -> None:
    # Arrange
    race = cancelled_while_launched()
    assert race.unwound is False

    # Act
    race.unwind()
    race.unwind()

    # Assert
    assert race.unwound is True
    assert [type(e) for e in race.pending_events].count(Race.CancellationUnwound) == 1


def test_race_cancelled_while_accumulating_is_already_unwound() -> None:
    # Arrange / Act
    race = cancelled_while_accumulating()

    # Assert
    assert race.unwound is True
    assert race.reason == "too few entrants"


def test_race_cancel_records_the_state_it_left_and_a_bounded_reason() -> None:
    # Arrange
    race = launched()

    # Act
    race.cancel("x" * 600, "admin:7")

    # Assert
    event = race.pending_events[-1]
    assert isinstance(event, Race.RaceCancelled)
    assert (event.was, event.by, len(event.reason)) == ("launched", "admin:7", 500)
    assert race.reason == "x" * 500


# --- time guards ---------------------------------------------------------------------------

MICROSECOND = timedelta(microseconds=1)

# (stage, the command at ``now``, the instant it is due at, the state it reaches)
GUARDS: list[tuple[str, Callable[[Race, datetime], None], Callable[[Race], datetime], RaceState]]
GUARDS = [
    ("accumulating", lambda r, now: r.launch(accounts_for(r), now), lambda r: r.launch_at,
     RaceState.LAUNCHED),
    ("launched", lambda r, now: r.go_live(now), lambda r: r.live_at, RaceState.LIVE),
    ("live", lambda r, now: r.start_settling(SNAPSHOT_DOCUMENTS, now), lambda r: r.ends_at,
     RaceState.SETTLING),
    ("retirements_applied", lambda r, now: r.archive(now), lambda r: r.archive_at or LATE,
     RaceState.ARCHIVED),
]  # fmt: skip
GUARD_IDS = ["launch", "go_live", "start_settling", "archive"]


@pytest.mark.parametrize(("stage", "command", "due", "state_after"), GUARDS, ids=GUARD_IDS)
def test_race_command_just_before_its_instant_is_not_due(
    stage: str,
    command: Callable[[Race, datetime], None],
    due: Callable[[Race], datetime],
    state_after: RaceState,
) -> None:
    # Arrange
    race = STAGES[stage][0]()
    state, version = race.state, race.version

    # Act
    with pytest.raises(RaceNotDue) as not_due:
        command(race, due(race) - MICROSECOND)

    # Assert
    assert not_due.value.reason == "race_not_due"
    assert (race.state, race.version) == (state, version)


@pytest.mark.parametrize(("stage", "command", "due", "state_after"), GUARDS, ids=GUARD_IDS)
def test_race_command_at_its_instant_is_performed(
    stage: str,
    command: Callable[[Race, datetime], None],
    due: Callable[[Race], datetime],
    state_after: RaceState,
) -> None:
    # Arrange
    race = STAGES[stage][0]()

    # Act
    command(race, due(race))

    # Assert
    assert race.state is state_after


def test_race_archive_is_due_a_retention_after_the_settling_instant(
    market_clock: SimulatedClock,
) -> None:
    # Arrange
    race = settling()
    settled_at = market_clock.advance(timedelta(days=2))
    race.settle(RESULT_DOCUMENTS, [])
    with pytest.raises(RaceTransitionRefused):
        race.archive(settled_at + timedelta(days=7))  # the retirements come first
    race.apply_retirements([])

    # Act / Assert
    with pytest.raises(RaceNotDue):
        race.archive(T0 + timedelta(days=7))
    race.archive(settled_at + timedelta(days=7))
    assert race.state is RaceState.ARCHIVED


# --- the config, frozen at scheduling --------------------------------------------------------

FIRST_CONFIG = RaceConfig(entrants=4, ticket_window=timedelta(minutes=10), strikes_to_retire=2)
NEXT_CONFIG = RaceConfig(
    entrants=8,
    min_entrants=3,
    ticket_window=timedelta(hours=1),
    duration=timedelta(hours=4),
    strike_rule="drawdown_over",
    strike_drawdown=Decimal("0.15"),
    rank_weights=(5, 1),
)


def test_race_config_reads_the_document_recorded_on_scheduled() -> None:
    # Arrange / Act
    race = accumulating(FIRST_CONFIG)

    # Assert
    scheduled = race.pending_events[0]
    assert isinstance(scheduled, Race.Scheduled)
    assert scheduled.config == FIRST_CONFIG.to_document()
    assert race.config == FIRST_CONFIG
    assert race.launch_at == T0 + timedelta(minutes=10)


def test_race_keeps_its_config_after_reload_when_the_next_slot_uses_another() -> None:
    # Arrange
    lifecycle, _ = a_lifecycle()
    first, _ = lifecycle.schedule_race(
        SLOT, config=FIRST_CONFIG, candidates=CANDIDATES, entrants=entrants(), opens_at=T0
    )

    # Act
    following, _ = lifecycle.schedule_race(
        SLOT + 1,
        config=NEXT_CONFIG,
        candidates=CANDIDATES,
        entrants=entrants(),
        opens_at=T0 + timedelta(minutes=30),
    )

    # Assert
    reloaded = lifecycle.race(first.id)
    assert reloaded.config == FIRST_CONFIG
    assert reloaded.launch_at == T0 + timedelta(minutes=10)
    assert reloaded.ends_at == T0 + timedelta(minutes=10 + 5 + 120)
    assert lifecycle.race(following.id).config == NEXT_CONFIG


def test_race_rescheduling_its_slot_with_another_config_keeps_the_first() -> None:
    # Arrange
    lifecycle, _ = a_lifecycle()
    lifecycle.schedule_race(
        SLOT, config=FIRST_CONFIG, candidates=CANDIDATES, entrants=entrants(), opens_at=T0
    )

    # Act
    again, created = lifecycle.schedule_race(
        SLOT, config=NEXT_CONFIG, candidates=["entry-x"], entrants=entrants(2), opens_at=T0
    )

    # Assert
    assert created is False
    assert again.config == FIRST_CONFIG
    assert again.candidates == CANDIDATES
    assert lifecycle.race(race_id_for(SLOT)).config == FIRST_CONFIG


# --- the Lifecycle application -------------------------------------------------------------


def test_lifecycle_schedule_race_twice_for_one_slot_creates_one_race() -> None:
    # Arrange
    lifecycle, _ = a_lifecycle()
    arguments: dict[str, Any] = {
        "config": CONFIG,
        "candidates": CANDIDATES,
        "entrants": entrants(),
        "opens_at": T0,
    }

    # Act
    first, first_created = lifecycle.schedule_race(SLOT, **arguments)
    second, second_created = lifecycle.schedule_race(SLOT, **arguments)

    # Assert
    assert (first_created, second_created) == (True, False)
    assert first.id == second.id == race_id_for(SLOT)
    assert [e.topic for e in lifecycle.recorder.select_events(first.id)] == [
        "lifecycle.Race.Scheduled"
    ]


def test_lifecycle_race_reloads_equal_at_every_step_of_its_life() -> None:
    # Arrange
    lifecycle, clock = a_lifecycle()
    race, _ = lifecycle.schedule_race(
        SLOT, config=CONFIG, candidates=CANDIDATES, entrants=entrants(), opens_at=T0
    )
    steps: list[Callable[[Race], None]] = [
        lambda r: r.drop(entry_id(3), "left the Arena"),
        lambda r: r.launch(accounts_for(r), r.launch_at),
        lambda r: r.go_live(r.live_at),
        lambda r: r.start_settling(SNAPSHOT_DOCUMENTS[:3], r.ends_at),
        lambda r: r.settle(RESULT_DOCUMENTS[:3], []),
        lambda r: r.apply_retirements([]),
        lambda r: r.archive(LATE),
    ]
    assert lifecycle.race(race.id) == race

    for step in steps:
        # Act
        clock.advance(timedelta(minutes=10))
        saved = changed(lifecycle, race.id, step)

        # Assert
        assert lifecycle.race(race.id) == saved

    final = lifecycle.race(race.id)
    assert final.state is RaceState.ARCHIVED
    assert final.version == 1 + len(steps)
    assert final.settled_at == T0 + timedelta(minutes=50)


def test_lifecycle_cancelled_race_reloads_equal() -> None:
    # Arrange
    lifecycle, _ = a_lifecycle()
    race, _ = lifecycle.schedule_race(
        SLOT, config=CONFIG, candidates=CANDIDATES, entrants=entrants(), opens_at=T0
    )
    changed(lifecycle, race.id, lambda r: r.launch(accounts_for(r), r.launch_at))

    # Act
    cancelled = changed(lifecycle, race.id, lambda r: r.cancel("admin cancel", "admin:7"))

    # Assert
    reloaded = lifecycle.race(race.id)
    assert reloaded == cancelled
    assert (reloaded.state, reloaded.unwound, reloaded.reason) == (
        RaceState.CANCELLED,
        False,
        "admin cancel",
    )


def test_lifecycle_change_race_refused_saves_nothing() -> None:
    # Arrange
    lifecycle, _ = a_lifecycle()
    race, _ = lifecycle.schedule_race(
        SLOT, config=CONFIG, candidates=CANDIDATES, entrants=entrants(), opens_at=T0
    )

    # Act
    with pytest.raises(RaceTransitionRefused):
        changed(lifecycle, race.id, lambda r: r.go_live(LATE))
    with pytest.raises(RaceNotDue):
        changed(lifecycle, race.id, lambda r: r.launch(accounts_for(r), T0))

    # Assert
    assert lifecycle.race(race.id).version == 1
    assert len(lifecycle.recorder.select_events(race.id)) == 1


def test_lifecycle_race_of_an_unknown_id_is_not_found() -> None:
    # Arrange
    lifecycle, _ = a_lifecycle()

    # Act
    with pytest.raises(RaceNotFound) as not_found:
        lifecycle.race(race_id_for(SLOT))

    # Assert
    assert not_found.value.reason == "race_not_found"
    assert lifecycle.find_race(race_id_for(SLOT)) is None


# --- the race id and the cadence slot ------------------------------------------------------


def test_race_id_for_is_a_stable_name_based_uuid() -> None:
    # Arrange / Act
    race_id = race_id_for(0)

    # Assert: race ids are stored; changing the derivation would orphan every race.
    assert race_id == race_id_for(0)
    assert race_id.version == 5
    assert race_id == UUID("dfc10f5f-e183-5867-bcdb-a6026251452a")


def test_race_id_for_distinct_slots_are_distinct() -> None:
    # Arrange / Act
    ids = {race_id_for(slot) for slot in range(SLOT - 500, SLOT + 500)}

    # Assert
    assert len(ids) == 1000


def test_slot_of_is_half_open_on_the_cadence() -> None:
    # Arrange
    cadence = timedelta(minutes=30)
    start = datetime(2025, 3, 3, 8, tzinfo=UTC)
    slot = slot_of(start, cadence)

    # Act / Assert
    assert slot == int(start.timestamp()) // 1800
    assert slot_of(start + cadence - MICROSECOND, cadence) == slot
    assert slot_of(start + cadence, cadence) == slot + 1
    assert slot_of(start - MICROSECOND, cadence) == slot - 1


def test_slot_of_ignores_the_time_zone_the_instant_is_written_in() -> None:
    # Arrange
    utc = datetime(2025, 3, 3, 8, 10, tzinfo=UTC)
    paris = utc.astimezone(timezone(timedelta(hours=1)))

    # Act / Assert
    assert slot_of(paris, timedelta(minutes=30)) == slot_of(utc, timedelta(minutes=30))


@given(
    seconds=st.integers(min_value=0, max_value=4_000_000_000),
    micros=st.integers(min_value=0, max_value=999_999),
    cadence_seconds=st.integers(min_value=1, max_value=7 * 86_400),
)
def test_slot_of_places_every_instant_inside_its_slot(
    seconds: int, micros: int, cadence_seconds: int
) -> None:
    # Arrange
    instant = datetime.fromtimestamp(seconds, tz=UTC) + timedelta(microseconds=micros)
    cadence = timedelta(seconds=cadence_seconds)

    # Act
    slot = slot_of(instant, cadence)

    # Assert
    opens = datetime.fromtimestamp(slot * cadence_seconds, tz=UTC)
    assert opens <= instant < opens + cadence
    assert slot_of(instant, cadence) == slot
