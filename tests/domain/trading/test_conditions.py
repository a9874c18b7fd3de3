"""Rule evaluation on hand-made windows: comparisons, crossovers, logic and missing data."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.trading.conditions import Window, evaluate
from domain.trading.spec import ChannelRef, Condition

FAST = ChannelRef("BTC", "5m", "ema:12")
SLOW = ChannelRef("BTC", "5m", "ema:26")
RSI = ChannelRef("BTC", "5m", "rsi:14")
D = Decimal


def pair(prev: str | None, cur: str | None) -> tuple[Decimal | None, Decimal | None]:
    return (None if prev is None else D(prev), None if cur is None else D(cur))


Values = tuple[str | None, str | None]


def crossing(op: str, fast: Values, slow: Values) -> bool:
    window: Window = {FAST: pair(*fast), SLOW: pair(*slow)}
    return evaluate(Condition(op, FAST, SLOW), window)


@pytest.mark.parametrize(
    ("fast", "slow", "expected"),
    [
        (("9", "11"), ("10", "10"), True),  # below, then above
        (("10", "11"), ("10", "10"), True),  # touching, then above
        (("11", "12"), ("10", "10"), False),  # above already
        (("9", "10"), ("10", "10"), False),  # reaching equality is not crossing
        (("10", "10"), ("10", "10"), False),  # staying equal
        (("9", "9.5"), ("10", "10"), False),  # still below
        (("11", "9"), ("10", "10"), False),  # that is crossing below
    ],
)
def test_crosses_above_needs_prev_at_or_below_and_cur_strictly_above(
    fast: tuple[str, str], slow: tuple[str, str], expected: bool
) -> None:
    # Act / Assert
    assert crossing("crosses_above", fast, slow) is expected


@pytest.mark.parametrize(
    ("fast", "slow", "expected"),
    [
        (("11", "9"), ("10", "10"), True),
        (("10", "9"), ("10", "10"), True),
        (("9", "8"), ("10", "10"), False),
        (("11", "10"), ("10", "10"), False),
        (("9", "11"), ("10", "10"), False),
    ],
)
def test_crosses_below_mirrors_crosses_above(
    fast: tuple[str, str], slow: tuple[str, str], expected: bool
) -> None:
    # Act / Assert
    assert crossing("crosses_below", fast, slow) is expected


@pytest.mark.parametrize(
    ("fast", "slow"),
    [
        ((None, "11"), ("10", "10")),
        (("9", None), ("10", "10")),
        (("9", "11"), (None, "10")),
        (("9", "11"), ("10", None)),
    ],
)
def test_crossover_with_any_value_missing_is_no_signal(
    fast: tuple[str | None, str | None], slow: tuple[str | None, str | None]
) -> None:
    # Act / Assert
    assert crossing("crosses_above", fast, slow) is False


def test_crossover_of_a_threshold_uses_the_constant_on_both_instants() -> None:
    # Arrange
    rsi_up = Condition("crosses_above", RSI, threshold=D(70))
    rsi_down = Condition("crosses_below", RSI, threshold=D(30))

    # Act / Assert
    assert evaluate(rsi_up, {RSI: pair("70", "70.01")})
    assert not evaluate(rsi_up, {RSI: pair("70.5", "71")})
    assert evaluate(rsi_down, {RSI: pair("30", "29.99")})
    assert not evaluate(rsi_down, {RSI: pair("30", "30")})


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("gt", "70", False),
        ("gt", "70.0001", True),
        ("gte", "70", True),
        ("gte", "69.9999", False),
        ("lt", "70", False),
        ("lt", "69.9999", True),
        ("lte", "70", True),
        ("lte", "70.0001", False),
    ],
)
def test_comparisons_use_current_values_with_exact_equality_edges(
    op: str, value: str, expected: bool
) -> None:
    # Arrange: the previous value is on the other side and must not matter
    window: Window = {RSI: pair("0" if expected else "100", value)}

    # Act / Assert
    assert evaluate(Condition(op, RSI, threshold=D(70)), window) is expected


def test_comparison_of_two_channels() -> None:
    # Act / Assert
    assert evaluate(Condition("gt", FAST, SLOW), {FAST: pair(None, "2"), SLOW: pair(None, "1")})
    assert not evaluate(Condition("gt", SLOW, FAST), {FAST: pair(None, "2"), SLOW: pair(None, "1")})


@pytest.mark.parametrize("window", [{}, {RSI: pair("80", None)}, {RSI: (None, D("NaN"))}])
def test_comparison_without_a_current_value_is_no_signal(window: Window) -> None:
    # Act / Assert
    assert not evaluate(Condition("gt", RSI, threshold=D(70)), window)
    assert not evaluate(Condition("lte", RSI, threshold=D(70)), window)


HOT = Condition("gt", RSI, threshold=D(70))
CROSS = Condition("crosses_above", FAST, SLOW)
CROSSING = {FAST: pair("9", "11"), SLOW: pair("10", "10")}


def test_and_or_not_combine_known_results() -> None:
    # Arrange
    window: Window = {**CROSSING, RSI: pair("60", "65")}

    # Act / Assert
    assert not evaluate(Condition("and", children=(CROSS, HOT)), window)
    assert evaluate(Condition("and", children=(CROSS, Condition("not", children=(HOT,)))), window)
    assert evaluate(Condition("or", children=(HOT, CROSS)), window)
    assert not evaluate(Condition("or", children=(HOT, HOT)), window)


def test_not_of_missing_data_is_still_no_signal() -> None:
    # Act / Assert
    assert not evaluate(Condition("not", children=(HOT,)), CROSSING)


def test_unknown_child_decides_nothing_a_known_child_decides() -> None:
    # Arrange: RSI is missing, so HOT is unknown
    false_child = Condition("not", children=(CROSS,))

    # Act / Assert
    assert evaluate(Condition("or", children=(HOT, CROSS)), CROSSING)
    assert not evaluate(Condition("and", children=(HOT, CROSS)), CROSSING)
    assert not evaluate(Condition("and", children=(false_child, HOT)), CROSSING)
    not_and = Condition("not", children=(Condition("and", children=(false_child, HOT)),))
    assert evaluate(not_and, CROSSING)


values = st.none() | st.decimals(-1000, 1000, places=3)


@settings(max_examples=200, deadline=None)
@given(values, values, values, values)
def test_crossings_above_and_below_never_fire_together(
    prev_left: Decimal | None,
    left: Decimal | None,
    prev_right: Decimal | None,
    right: Decimal | None,
) -> None:
    # Arrange
    window: Window = {FAST: (prev_left, left), SLOW: (prev_right, right)}

    # Act
    up = evaluate(Condition("crosses_above", FAST, SLOW), window)
    down = evaluate(Condition("crosses_below", FAST, SLOW), window)

    # Assert
    assert not (up and down)
    if None in (prev_left, left, prev_right, right):
        assert (up, down) == (False, False)
