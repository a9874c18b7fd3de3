"""Hashed-rotation selection: reproducible from what the race records, fair over slots.

Each candidate is keyed by ``sha256("<race id>|<entry id>")`` and the lowest keys race, so
anyone holding the race id and its candidates can recompute the field.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from uuid import UUID

from hypothesis import given
from hypothesis import strategies as st

from domain.lifecycle.race import race_id_for
from domain.lifecycle.race_selection import hashed_rotation
from tests.domain.lifecycle.race_kit import SLOT

RACE_ID = race_id_for(SLOT)
MEMBERS = [f"entry-{n:02d}" for n in range(10)]

candidate_lists = st.lists(
    st.text(alphabet="abcdef0123456789-", min_size=1, max_size=12), unique=True, max_size=20
)
race_ids = st.integers(min_value=0, max_value=10**7).map(race_id_for)


def recomputed(race_id: UUID, candidates: list[str], entrants: int) -> list[str]:
    """The documented rule, written out independently."""
    key = {c: hashlib.sha256(f"{race_id}|{c}".encode()).hexdigest() for c in candidates}
    return sorted(candidates, key=key.__getitem__)[:entrants]


def test_hashed_rotation_is_the_documented_rule() -> None:
    # Arrange / Act
    chosen = hashed_rotation(RACE_ID, MEMBERS, 4)

    # Assert
    assert chosen == recomputed(RACE_ID, MEMBERS, 4)


def test_hashed_rotation_is_reproducible() -> None:
    # Arrange / Act
    first = hashed_rotation(RACE_ID, MEMBERS, 4)
    again = hashed_rotation(RACE_ID, iter(list(MEMBERS)), 4)

    # Assert
    assert first == again


@given(
    race_id=race_ids,
    candidates=candidate_lists,
    entrants=st.integers(min_value=2, max_value=64),
    data=st.data(),
)
def test_hashed_rotation_ignores_the_candidates_input_order(
    race_id: UUID, candidates: list[str], entrants: int, data: st.DataObject
) -> None:
    # Arrange
    shuffled = data.draw(st.permutations(candidates))

    # Act / Assert
    assert hashed_rotation(race_id, shuffled, entrants) == hashed_rotation(
        race_id, candidates, entrants
    )


@given(
    race_id=race_ids,
    candidates=candidate_lists,
    entrants=st.integers(min_value=2, max_value=64),
)
def test_hashed_rotation_picks_that_many_distinct_candidates(
    race_id: UUID, candidates: list[str], entrants: int
) -> None:
    # Arrange / Act
    chosen = hashed_rotation(race_id, candidates, entrants)

    # Assert
    assert len(chosen) == min(entrants, len(candidates))
    assert len(set(chosen)) == len(chosen)
    assert set(chosen) <= set(candidates)
    assert chosen == recomputed(race_id, candidates, entrants)


@given(race_id=race_ids, candidates=candidate_lists)
def test_hashed_rotation_smaller_field_is_a_prefix_of_a_larger_one(
    race_id: UUID, candidates: list[str]
) -> None:
    # Arrange / Act
    four = hashed_rotation(race_id, candidates, 4)
    eight = hashed_rotation(race_id, candidates, 8)

    # Assert
    assert eight[:4] == four


def test_hashed_rotation_with_fewer_candidates_returns_them_all() -> None:
    # Arrange
    candidates = ["entry-b", "entry-a", "entry-c"]

    # Act
    chosen = hashed_rotation(RACE_ID, candidates, 4)

    # Assert
    assert sorted(chosen) == sorted(candidates)


def test_hashed_rotation_with_exactly_enough_candidates_returns_them_all() -> None:
    # Arrange / Act
    chosen = hashed_rotation(RACE_ID, MEMBERS[:4], 4)

    # Assert
    assert sorted(chosen) == MEMBERS[:4]


def test_hashed_rotation_of_no_candidates_is_empty() -> None:
    # Arrange / Act / Assert
    assert hashed_rotation(RACE_ID, [], 4) == []


def test_hashed_rotation_draws_every_member_about_equally_over_many_slots() -> None:
    # Arrange
    slots = range(SLOT, SLOT + 1000)

    # Act
    drawn = Counter(m for slot in slots for m in hashed_rotation(race_id_for(slot), MEMBERS, 4))

    # Assert: 4 of 10 over 1000 slots is 400 draws each; the spread stays within 6 sigma.
    assert set(drawn) == set(MEMBERS)
    assert sum(drawn.values()) == 4000
    assert all(300 <= count <= 500 for count in drawn.values())


def test_hashed_rotation_fields_change_from_slot_to_slot() -> None:
    # Arrange / Act
    fields = {tuple(hashed_rotation(race_id_for(slot), MEMBERS, 4)) for slot in range(50)}

    # Assert
    assert len(fields) > 40
