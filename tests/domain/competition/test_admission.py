"""Admission gates and the Promotion Queue's order (docs/arena.md, "Queue order and gates").

Gates are checked in a fixed order and the first that fails is named: moderation retirement,
then Arena retirement (both final), then the public profile, then the one slot per clone.
The queue is ordered by score, highest first, then the earlier pass, then the entry id: a
total order, so every worker that sorts the same entries sees the same queue.
"""

from __future__ import annotations

import functools
import itertools
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.competition.admission import (
    FINAL_GATES,
    CloneStanding,
    Gate,
    failed_gate,
    queue_key,
)
from tests.domain.competition.competition_kit import T0, an_id

# The documented order, each gate with the standing that fails it.
GATE_ORDER = [
    (Gate.CLONE_RETIRED, lambda s: s.moderation_retired),
    (Gate.ARENA_RETIRED, lambda s: s.arena_retired),
    (Gate.PROFILE_UNPUBLISHED, lambda s: not s.profile_published),
    (Gate.CLONE_IN_ARENA, lambda s: s.holds_slot),
]
STANDINGS = [CloneStanding(*flags) for flags in itertools.product([False, True], repeat=4)]


def first_failing(standing: CloneStanding) -> Gate | None:
    return next((gate for gate, fails in GATE_ORDER if fails(standing)), None)


# --- gates -----------------------------------------------------------------------------------


@pytest.mark.parametrize("standing", STANDINGS, ids=repr)
def test_the_first_failing_gate_is_named(standing) -> None:
    assert failed_gate(standing) is first_failing(standing)


def test_a_clone_that_passes_every_gate_may_be_admitted() -> None:
    standing = CloneStanding(
        moderation_retired=False, arena_retired=False, profile_published=True, holds_slot=False
    )
    assert failed_gate(standing) is None


@pytest.mark.parametrize(
    ("standing", "gate"),
    [
        (CloneStanding(True, True, False, True), Gate.CLONE_RETIRED),
        (CloneStanding(False, True, False, True), Gate.ARENA_RETIRED),
        (CloneStanding(False, False, False, True), Gate.PROFILE_UNPUBLISHED),
        (CloneStanding(False, False, True, True), Gate.CLONE_IN_ARENA),
    ],
)
def test_worked_examples_of_the_gate_order(standing, gate) -> None:
    assert failed_gate(standing) is gate


def test_only_the_retirements_are_final() -> None:
    assert frozenset({Gate.CLONE_RETIRED, Gate.ARENA_RETIRED}) == FINAL_GATES


def test_gate_names_are_stable() -> None:
    # stored on GateChanged and Withdrawn events and served by /v1/arena/queue
    assert [g.value for g in Gate] == [
        "clone_retired",
        "arena_retired",
        "profile_unpublished",
        "clone_in_arena",
    ]


# --- queue order -------------------------------------------------------------------------------


def in_queue_order(*entries: tuple[str, datetime, UUID]) -> list[UUID]:
    ranked = sorted(entries, key=lambda e: queue_key(Decimal(e[0]), e[1], e[2]))
    return [entry_id for _, _, entry_id in ranked]


def test_the_highest_score_comes_first_whatever_the_pass_time() -> None:
    # Arrange
    early_low = ("1.5", T0, an_id("early-low"))
    late_high = ("4.0", T0 + timedelta(days=3), an_id("late-high"))
    negative = ("-0.5", T0 - timedelta(days=3), an_id("negative"))
    # Act / Assert
    assert in_queue_order(early_low, negative, late_high) == [
        an_id("late-high"),
        an_id("early-low"),
        an_id("negative"),
    ]


def test_an_equal_score_ranks_the_earlier_pass_first() -> None:
    # Arrange: equal scores written differently
    later = ("2.50", T0 + timedelta(seconds=1), an_id("later"))
    earlier = ("2.5", T0, an_id("earlier"))
    # Act / Assert
    assert in_queue_order(later, earlier) == [an_id("earlier"), an_id("later")]


def test_pass_times_compare_as_instants_across_offsets() -> None:
    # Arrange: 10:30 at +02:00 is 08:30 UTC, earlier than 09:00 UTC
    utc = ("2", T0, an_id("utc"))
    paris = ("2", datetime(2025, 6, 2, 10, 30, tzinfo=timezone(timedelta(hours=2))), an_id("p"))
    # Act / Assert
    assert in_queue_order(utc, paris) == [an_id("p"), an_id("utc")]


def test_the_entry_id_breaks_a_tie_of_score_and_pass() -> None:
    # Arrange
    low = UUID("00000000-0000-4000-8000-000000000001")
    high = UUID("ffffffff-0000-4000-8000-000000000000")
    # Act / Assert
    assert in_queue_order(("3", T0, high), ("3", T0, low)) == [low, high]


# --- properties ---------------------------------------------------------------------------------


def reference_compare(a: tuple[Decimal, datetime, UUID], b: tuple[Decimal, datetime, UUID]) -> int:
    """The documented order, written without ``queue_key``."""
    if a[0] != b[0]:
        return -1 if a[0] > b[0] else 1
    if a[1] != b[1]:
        return -1 if a[1] < b[1] else 1
    if a[2] != b[2]:
        return -1 if a[2].int < b[2].int else 1
    return 0


SCORES = st.decimals(min_value=-3, max_value=3, places=2, allow_nan=False, allow_infinity=False)
PASSES = st.integers(min_value=0, max_value=5).map(lambda m: T0 + timedelta(minutes=m))
OFFSETS = st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5))])
ENTRIES = st.lists(
    st.tuples(SCORES, st.builds(lambda t, tz: t.astimezone(tz), PASSES, OFFSETS), st.uuids()),
    max_size=30,
    unique_by=lambda e: e[2],
)


def key_of(entry: tuple[Decimal, datetime, UUID]) -> tuple[Decimal, datetime, str]:
    return queue_key(*entry)


@given(ENTRIES)
def test_sorting_by_queue_key_is_the_documented_order(entries) -> None:
    # Act
    ranked = sorted(entries, key=key_of)
    # Assert
    assert ranked == sorted(entries, key=lambda e: (-e[0], e[1], str(e[2])))
    assert ranked == sorted(entries, key=functools.cmp_to_key(reference_compare))


@given(ENTRIES, st.randoms(use_true_random=False))
def test_every_worker_sees_the_same_queue_whatever_order_it_loaded(entries, rnd) -> None:
    # Arrange
    shuffled = list(entries)
    rnd.shuffle(shuffled)
    # Act / Assert
    assert sorted(shuffled, key=key_of) == sorted(entries, key=key_of)


@given(ENTRIES)
def test_the_queue_order_is_total_over_distinct_entries(entries) -> None:
    # Act
    keys = [key_of(e) for e in entries]
    # Assert: distinct entries never tie, and any two compare exactly one way
    assert len(set(keys)) == len(keys)
    for a, b in itertools.combinations(keys, 2):
        assert [a < b, a == b, b < a].count(True) == 1
