"""UTC daily closes, daily returns and drawdowns of an equity curve.

The rules under test: a day's close is its last sample, a bar closing at 00:00 UTC opens the
new day, instants must be aware and chronological, returns stop at ruin, and the drawdown
fraction is capped at 1.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from domain.backtesting.equity_curve import (
    CurveInstantNaive,
    CurveOutOfOrder,
    MetricsError,
    daily_closes,
    daily_returns,
    drawdown_fraction,
    drawdowns,
    max_drawdown,
)

T0 = datetime(2024, 3, 1, tzinfo=UTC)


def test_daily_closes_several_samples_a_day_keep_the_last():
    # Arrange
    curve = [
        (T0 + timedelta(hours=1), Decimal(100)),
        (T0 + timedelta(hours=23), Decimal(105)),
        (T0 + timedelta(days=1, hours=2), Decimal(99)),
    ]

    # Act
    closes = daily_closes(curve)

    # Assert
    assert closes == [(date(2024, 3, 1), Decimal(105)), (date(2024, 3, 2), Decimal(99))]


def test_daily_closes_sample_at_midnight_opens_the_new_day():
    curve = [
        (T0 + timedelta(hours=23, minutes=55), Decimal(1)),
        (T0 + timedelta(days=1), Decimal(2)),
    ]

    assert daily_closes(curve) == [(date(2024, 3, 1), Decimal(1)), (date(2024, 3, 2), Decimal(2))]


def test_daily_closes_offset_instants_are_binned_by_utc_date():
    # 2024-03-02 01:00 at UTC+02:00 is 2024-03-01 23:00 UTC.
    plus_two = timezone(timedelta(hours=2))
    curve = [(datetime(2024, 3, 2, 1, 0, tzinfo=plus_two), Decimal(7))]

    assert daily_closes(curve) == [(date(2024, 3, 1), Decimal(7))]


def test_daily_closes_missing_day_has_no_bin():
    curve = [(T0, Decimal(1)), (T0 + timedelta(days=2), Decimal(2))]

    assert [day for day, _ in daily_closes(curve)] == [date(2024, 3, 1), date(2024, 3, 3)]


def test_daily_closes_equal_instants_later_sample_wins():
    curve = [(T0, Decimal(1)), (T0, Decimal(2))]

    assert daily_closes(curve) == [(date(2024, 3, 1), Decimal(2))]


def test_daily_closes_naive_instant_raises():
    curve = [(datetime(2024, 3, 1), Decimal(1))]

    with pytest.raises(CurveInstantNaive) as raised:
        daily_closes(curve)

    assert isinstance(raised.value, MetricsError)
    assert "index=0" in str(raised.value)


def test_daily_closes_instant_running_backwards_raises():
    curve = [(T0 + timedelta(hours=1), Decimal(1)), (T0, Decimal(2))]

    with pytest.raises(CurveOutOfOrder):
        daily_closes(curve)


def test_daily_returns_start_equity_is_the_first_base():
    returns = daily_returns(Decimal(100), [Decimal(110), Decimal(99)])

    assert returns == [Decimal("0.1"), Decimal("-0.1")]


def test_daily_returns_stop_after_a_close_at_or_below_zero():
    returns = daily_returns(Decimal(100), [Decimal(50), Decimal(0), Decimal(10), Decimal(20)])

    assert returns == [Decimal("-0.5"), Decimal(-1)]


def test_drawdown_fraction_negative_equity_is_capped_at_one():
    assert drawdown_fraction(Decimal(100), Decimal(-20)) == 1


def test_drawdown_fraction_non_positive_peak_falling_further_is_total():
    assert drawdown_fraction(Decimal(-5), Decimal(-10)) == 1
    assert drawdown_fraction(Decimal(-5), Decimal(-5)) == 0


def test_drawdowns_running_peak_seeded_with_first_peak():
    fractions = drawdowns(Decimal(100), [Decimal(90), Decimal(120), Decimal(60)])

    assert fractions == [Decimal("0.1"), Decimal(0), Decimal("0.5")]


def test_max_drawdown_absolute_and_fraction_are_taken_independently():
    # 100 -> 50 is -50 (50 %); 1000 -> 800 is -200 (20 %).
    equities = [Decimal(50), Decimal(1000), Decimal(800)]

    absolute, fraction = max_drawdown(Decimal(100), equities)

    assert (absolute, fraction) == (Decimal(200), Decimal("0.5"))
