"""Race results as worked examples: ranks, dead heats, DNFs and the strike rules.

Every entrant starts with 10,000 USDC. Finishers are ranked by final equity (compared
exactly), ties broken by the lower max drawdown; still equal is a dead heat sharing the rank
(standard competition ranking: 1, 1, 3). DNFs come after the finishers, unranked.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.lifecycle.race_config import RaceConfig
from domain.lifecycle.race_results import EntrantResult, EntrantSnapshot, rank_results
from tests.domain.lifecycle.race_kit import snapshot

LAST_PLACE = RaceConfig(strike_rule="last_place")
DRAWDOWN_OVER = RaceConfig(strike_rule="drawdown_over", strike_drawdown=Decimal("0.20"))


def table(
    results: list[EntrantResult],
) -> list[tuple[str, int | None, bool, str | None, bool]]:
    """Each result as ``(entry, rank, dead_heat, dnf, strike)``, in the order given."""
    return [(r.snapshot.entry_id, r.rank, r.dead_heat, r.dnf, r.strike) for r in results]


# --- ranking ---------------------------------------------------------------------------------


def test_rank_results_orders_finishers_by_equity_and_strikes_the_last() -> None:
    # Arrange
    snapshots = [
        snapshot("c", "9800"),
        snapshot("a", "10450.5"),
        snapshot("d", "9100"),
        snapshot("b", "10100"),
    ]

    # Act
    results = rank_results(snapshots, LAST_PLACE)

    # Assert
    assert table(results) == [
        ("a", 1, False, None, False),
        ("b", 2, False, None, False),
        ("c", 3, False, None, False),
        ("d", 4, False, None, True),
    ]


def test_rank_results_ignore_the_order_snapshots_arrive_in() -> None:
    # Arrange
    snapshots = [snapshot("a", "10100"), snapshot("b", "10100"), snapshot("c", "9000")]

    # Act
    forward = rank_results(snapshots, LAST_PLACE)
    backward = rank_results(snapshots[::-1], LAST_PLACE)

    # Assert
    assert forward == backward


def test_rank_results_two_way_dead_heat_shares_first_place() -> None:
    # Arrange
    snapshots = [
        snapshot("c", "10300", "0.04"),
        snapshot("b", "10500", "0.06"),
        snapshot("a", "10500.00", "0.060"),
        snapshot("d", "9900", "0.01"),
    ]

    # Act
    results = rank_results(snapshots, LAST_PLACE)

    # Assert
    assert table(results) == [
        ("a", 1, True, None, False),
        ("b", 1, True, None, False),
        ("c", 3, False, None, False),
        ("d", 4, False, None, True),
    ]


def test_rank_results_three_way_dead_heat_skips_the_ranks_it_holds() -> None:
    # Arrange
    snapshots = [
        snapshot("a", "11000"),
        snapshot("b", "10500", "0.08"),
        snapshot("c", "10500", "0.08"),
        snapshot("d", "10500", "0.08"),
        snapshot("e", "9000"),
    ]

    # Act
    results = rank_results(snapshots, LAST_PLACE)

    # Assert
    assert table(results) == [
        ("a", 1, False, None, False),
        ("b", 2, True, None, False),
        ("c", 2, True, None, False),
        ("d", 2, True, None, False),
        ("e", 5, False, None, True),
    ]


def test_rank_results_equal_equity_is_won_by_the_lower_drawdown() -> None:
    # Arrange
    snapshots = [
        snapshot("a", "10500", "0.12"),
        snapshot("b", "10500", "0.03"),
        snapshot("c", "10500", "0.07"),
    ]

    # Act
    results = rank_results(snapshots, LAST_PLACE)

    # Assert
    assert table(results) == [
        ("b", 1, False, None, False),
        ("c", 2, False, None, False),
        ("a", 3, False, None, True),
    ]


def test_rank_results_compare_equity_exactly_before_drawdown() -> None:
    # Arrange: one micro-USDC more equity beats a far steadier run.
    snapshots = [snapshot("a", "10500", "0.01"), snapshot("b", "10500.000001", "0.19")]

    # Act
    results = rank_results(snapshots, LAST_PLACE)

    # Assert
    assert table(results) == [("b", 1, False, None, False), ("a", 2, False, None, True)]


def test_rank_results_two_way_dead_heat_in_last_place_strikes_both() -> None:
    # Arrange
    snapshots = [
        snapshot("a", "10200"),
        snapshot("b", "9500", "0.10"),
        snapshot("c", "9500", "0.10"),
    ]

    # Act
    results = rank_results(snapshots, LAST_PLACE)

    # Assert
    assert table(results) == [
        ("a", 1, False, None, False),
        ("b", 2, True, None, True),
        ("c", 2, True, None, True),
    ]


# --- DNFs ------------------------------------------------------------------------------------


def test_rank_results_list_dnfs_unranked_after_the_finishers() -> None:
    # Arrange: the DNFs hold the best equities; they still take no rank.
    snapshots = [
        snapshot("z-data", "12000", data_unhealthy=True),
        snapshot("b", "9900"),
        snapshot("y-liquidated", "11000", liquidated=True),
        snapshot("a", "10100"),
        snapshot("x-both", "13000", liquidated=True, data_unhealthy=True),
    ]

    # Act
    results = rank_results(snapshots, LAST_PLACE)

    # Assert
    assert table(results) == [
        ("a", 1, False, None, False),
        ("b", 2, False, None, True),
        ("x-both", None, False, "liquidated", True),
        ("y-liquidated", None, False, "liquidated", True),
        ("z-data", None, False, "data_unhealthy", False),
    ]


def test_rank_results_all_dnf_ranks_nobody_and_strikes_the_liquidated() -> None:
    # Arrange
    snapshots = [
        snapshot("a", "0", liquidated=True),
        snapshot("b", "10000", data_unhealthy=True),
    ]

    # Act
    results = rank_results(snapshots, LAST_PLACE)

    # Assert
    assert table(results) == [
        ("a", None, False, "liquidated", True),
        ("b", None, False, "data_unhealthy", False),
    ]


def test_rank_results_of_no_snapshots_is_empty() -> None:
    # Arrange / Act / Assert
    assert rank_results([], LAST_PLACE) == []


# --- strike rules ----------------------------------------------------------------------------


def test_last_place_all_way_dead_heat_strikes_nobody() -> None:
    # Arrange
    snapshots = [snapshot(e, "10000", "0.05") for e in ("a", "b", "c", "d")]

    # Act
    results = rank_results(snapshots, LAST_PLACE)

    # Assert
    assert table(results) == [(e, 1, True, None, False) for e in ("a", "b", "c", "d")]


def test_last_place_single_finisher_is_not_struck() -> None:
    # Arrange
    snapshots = [
        snapshot("a", "8000", "0.30"),
        snapshot("b", "0", liquidated=True),
        snapshot("c", "10000", data_unhealthy=True),
    ]

    # Act
    results = rank_results(snapshots, LAST_PLACE)

    # Assert
    assert table(results) == [
        ("a", 1, False, None, False),
        ("b", None, False, "liquidated", True),
        ("c", None, False, "data_unhealthy", False),
    ]


def test_last_place_ignores_drawdown_beyond_the_threshold() -> None:
    # Arrange
    snapshots = [snapshot("a", "12000", "0.45"), snapshot("b", "11000", "0.01")]

    # Act
    results = rank_results(snapshots, LAST_PLACE)

    # Assert
    assert [r.strike for r in results] == [False, True]


def test_drawdown_over_strikes_only_drawdowns_beyond_the_threshold() -> None:
    # Arrange
    snapshots = [
        snapshot("a", "12000", "0.200001"),
        snapshot("b", "11000", "0.20"),
        snapshot("c", "10000", "0.05"),
        snapshot("d", "9000", "0.35"),
    ]

    # Act
    results = rank_results(snapshots, DRAWDOWN_OVER)

    # Assert
    assert table(results) == [
        ("a", 1, False, None, True),
        ("b", 2, False, None, False),
        ("c", 3, False, None, False),
        ("d", 4, False, None, True),
    ]


def test_drawdown_over_strikes_the_liquidated_and_spares_the_data_dnf() -> None:
    # Arrange
    snapshots = [
        snapshot("a", "10500", "0.01"),
        snapshot("b", "10400", "0.02"),
        snapshot("c", "0", "0.01", liquidated=True),
        snapshot("d", "9000", "0.90", data_unhealthy=True),
    ]

    # Act
    results = rank_results(snapshots, DRAWDOWN_OVER)

    # Assert
    assert table(results) == [
        ("a", 1, False, None, False),
        ("b", 2, False, None, False),
        ("c", None, False, "liquidated", True),
        ("d", None, False, "data_unhealthy", False),
    ]


def test_drawdown_over_single_finisher_is_judged_by_its_drawdown() -> None:
    # Arrange
    snapshots = [snapshot("a", "10500", "0.25")]

    # Act
    results = rank_results(snapshots, DRAWDOWN_OVER)

    # Assert
    assert table(results) == [("a", 1, False, None, True)]


def test_drawdown_over_uses_the_configured_threshold() -> None:
    # Arrange
    config = replace(DRAWDOWN_OVER, strike_drawdown=Decimal("0.05"))
    snapshots = [snapshot("a", "10500", "0.06"), snapshot("b", "10400", "0.05")]

    # Act
    results = rank_results(snapshots, config)

    # Assert
    assert [r.strike for r in results] == [True, False]


# --- the snapshot's return and the result document --------------------------------------------


@pytest.mark.parametrize(
    ("equity", "expected"),
    [
        ("10500", "0.050000"),
        ("9000", "-0.100000"),
        ("10000.005", "0.000000"),  # 0.0000005 -> the even millionth below
        ("10000.015", "0.000002"),  # 0.0000015 -> the even millionth above
        ("10000.025", "0.000002"),  # 0.0000025 -> the even millionth below
        ("9999.985", "-0.000002"),
        ("9999.975", "-0.000002"),
        ("10000.0150001", "0.000002"),
        ("10000.0249999", "0.000002"),
        ("10000.0250001", "0.000003"),
    ],
)
def test_entrant_snapshot_total_return_is_quantized_half_even(equity: str, expected: str) -> None:
    # Arrange
    s = snapshot("a", equity)

    # Act
    total_return = s.total_return

    # Assert
    assert total_return == Decimal(expected)
    assert total_return.as_tuple().exponent == -6


def test_entrant_result_document_is_json_ready() -> None:
    # Arrange
    finisher, dnf = rank_results(
        [snapshot("a", "10450.5", "0.031"), snapshot("b", "0", liquidated=True)], LAST_PLACE
    )

    # Act
    documents = [finisher.to_document(), dnf.to_document()]

    # Assert
    assert documents[0] == {
        "entry_id": "a",
        "clone_id": finisher.snapshot.clone_id,
        "account_id": finisher.snapshot.account_id,
        "equity": "10450.5",
        "total_return": "0.045050",
        "max_drawdown_pct": "0.031",
        "trades": 3,
        "fees": "1.5",
        "rank": 1,
        "dead_heat": False,
        "dnf": None,
        "strike": False,
    }
    assert (documents[1]["rank"], documents[1]["dnf"], documents[1]["strike"]) == (
        None,
        "liquidated",
        True,
    )


# --- properties ------------------------------------------------------------------------------

EQUITIES = st.sampled_from(["9000", "9500", "10000", "10000.000001", "10500", "11000"])
DRAWDOWNS = st.sampled_from(["0", "0.05", "0.10", "0.20", "0.200001", "0.5"])


@st.composite
def fields(draw: st.DrawFn) -> list[EntrantSnapshot]:
    count = draw(st.integers(min_value=0, max_value=9))
    return [
        snapshot(
            f"entry-{n}",
            draw(EQUITIES),
            draw(DRAWDOWNS),
            liquidated=draw(st.integers(0, 5)) == 0,
            data_unhealthy=draw(st.integers(0, 5)) == 0,
        )
        for n in range(count)
    ]


def _key(s: EntrantSnapshot) -> tuple[Decimal, Decimal]:
    return (-s.equity, s.max_drawdown_pct)


@given(field=fields(), rule=st.sampled_from(["last_place", "drawdown_over"]))
def test_rank_results_ranks_are_consistent_with_the_order(
    field: list[EntrantSnapshot], rule: str
) -> None:
    # Arrange
    config = RaceConfig(strike_rule=rule)

    # Act
    results = rank_results(field, config)

    # Assert: everyone once, finishers (by rank) before the DNFs.
    assert sorted(r.snapshot.entry_id for r in results) == sorted(s.entry_id for s in field)
    finishers = [r for r in results if r.dnf is None]
    assert results[: len(finishers)] == finishers
    assert [r.rank for r in finishers] == sorted(r.rank or 0 for r in finishers)
    assert all(r.rank is None and not r.dead_heat for r in results[len(finishers) :])
    for r in finishers:
        assert not r.snapshot.liquidated
        assert not r.snapshot.data_unhealthy
        better = [o for o in finishers if _key(o.snapshot) < _key(r.snapshot)]
        same = [o for o in finishers if _key(o.snapshot) == _key(r.snapshot)]
        assert r.rank == 1 + len(better)
        assert r.dead_heat == (len(same) > 1)
        for o in finishers:
            assert o.rank is not None
            assert r.rank is not None
            if o.snapshot.equity > r.snapshot.equity:
                assert o.rank < r.rank
            if _key(o.snapshot) == _key(r.snapshot):
                assert o.rank == r.rank


@given(field=fields())
def test_last_place_strikes_the_last_rank_of_a_split_field_and_the_liquidated(
    field: list[EntrantSnapshot],
) -> None:
    # Arrange / Act
    results = rank_results(field, LAST_PLACE)

    # Assert
    ranks = {r.rank for r in results if r.rank is not None}
    for r in results:
        if r.dnf is not None:
            assert r.strike == (r.dnf == "liquidated")
            assert r.dnf == ("liquidated" if r.snapshot.liquidated else "data_unhealthy")
        else:
            assert r.strike == (len(ranks) > 1 and r.rank == max(ranks))


@given(field=fields())
def test_drawdown_over_strikes_exactly_the_finishers_beyond_the_threshold(
    field: list[EntrantSnapshot],
) -> None:
    # Arrange / Act
    results = rank_results(field, DRAWDOWN_OVER)

    # Assert
    for r in results:
        if r.dnf is None:
            assert r.strike == (r.snapshot.max_drawdown_pct > Decimal("0.20"))
        else:
            assert r.strike == r.snapshot.liquidated
