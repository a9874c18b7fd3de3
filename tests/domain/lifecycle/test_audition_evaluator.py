"""The audition evaluator, as worked examples on a 100k account (notes/trading-math.md 4.1-4.5).

Unless a test says otherwise the rules are FTMO 2-step phase 1 on 100,000 USDC: target
110,000 on a flat balance, daily floor = midnight balance - 5,000, static max-loss floor
90,000, 4 trading days, no deadline. A run starts on day 0 at 08:00 UTC.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from domain.lifecycle.audition_evaluator import (
    Failed,
    FillObserved,
    MarkObserved,
    ObservationInvalid,
    ObservationOutOfOrder,
    Passed,
    RulesMismatch,
    evaluate,
)
from domain.lifecycle.audition_progress import (
    AuditionProgress,
    AuditionStatus,
    BreachRule,
    InstantNaive,
)
from domain.lifecycle.audition_rules import DailyReference, MaxLossMode
from tests.domain.lifecycle.audition_kit import (
    FTMO_100K,
    MICRO,
    START_AT,
    at,
    fill,
    ftmo,
    mark,
    persisted,
    run,
    tick,
    trading_days,
)

# --- pass ----------------------------------------------------------------------------


def test_evaluate_target_and_min_days_met_passes_on_the_flat_mark():
    # Arrange: a trade a day for four days, the target reached on day 3's close.
    observations = [
        fill(at(0, 10)),
        mark(at(0, 18), 102_000),
        fill(at(1, 10)),
        mark(at(1, 18), 105_000),
        fill(at(2, 10)),
        mark(at(2, 18), 108_000),
        fill(at(3, 10)),
        mark(at(3, 18), 110_000),
    ]

    # Act
    progress, outcomes = run(observations)

    # Assert
    assert [type(o) for o in outcomes] == [Passed]
    assert outcomes[0].at == at(3, 18)
    assert progress.status is AuditionStatus.PASSED
    assert progress.ended_at == at(3, 18)
    assert outcomes[0].metrics.trading_days == 4
    assert outcomes[0].metrics.total_return == Decimal("0.1")


def test_evaluate_target_reached_before_min_days_waits_for_the_fourth_trading_day():
    # Arrange: 111,000 on day 0 with a single trading day.
    first, early = run([fill(at(0, 10), 11_000), mark(at(0, 11), 111_000)])

    # Act: three more trading days (fills that make nothing).
    progress, later = run([*trading_days(1, 3), mark(at(3, 18), 111_000)], progress=first)

    # Assert
    assert early == []
    assert [o.at for o in later] == [at(3, 18)]
    assert progress.trading_days == {at(d).date() for d in range(4)}


def test_evaluate_target_on_balance_with_a_position_open_does_not_pass_until_flat():
    # Arrange: four trading days, balance at the target, one position still open (in profit).
    opening = [*trading_days(0, 4), mark(at(3, 18), 110_000, equity=110_500)]

    # Act
    progress, outcomes = run(opening)
    _flat, closing = run([mark(at(3, 19), 110_400)], progress=progress)

    # Assert
    assert outcomes == []
    assert progress.status is AuditionStatus.RUNNING
    assert [type(o) for o in closing] == [Passed]


def test_evaluate_balance_one_micro_below_target_does_not_pass():
    # Arrange
    observations = [*trading_days(0, 4), mark(at(3, 18), Decimal(110_000) - MICRO)]

    # Act
    _progress, outcomes = run(observations)

    # Assert
    assert outcomes == []


def test_evaluate_min_trading_days_count_fill_days_only():
    # Arrange: marks every day for six days, fills on three of them (two on one day).
    marks = [mark(at(day, 20), 110_000) for day in range(6)]
    fills = [fill(at(0, 10)), fill(at(0, 11)), fill(at(2, 10)), fill(at(4, 10))]
    observations = sorted([*marks, *fills], key=lambda o: o.at)

    # Act
    progress, outcomes = run(observations)
    _done, fourth = run([fill(at(6, 10)), mark(at(6, 11), 110_000)], progress=progress)

    # Assert
    assert outcomes == []
    assert len(progress.trading_days) == 3
    assert [o.at for o in fourth] == [at(6, 11)]


def test_evaluate_best_day_rule_blocks_the_pass_until_profit_is_spread():
    # Arrange: best day at most half the total profit; day 0 makes 8,000 of 10,100.
    rules = ftmo(best_day_share=Decimal("0.5"))
    lumpy = [
        fill(at(0, 10), 8_000),
        fill(at(1, 10), 700),
        fill(at(2, 10), 700),
        fill(at(3, 10), 700),
        mark(at(3, 18), 110_100),
    ]

    # Act
    blocked, outcomes = run(lumpy, rules)
    _done, spread = run([fill(at(4, 10), 6_000), mark(at(4, 18), 116_100)], rules, blocked)

    # Assert: 8,000 > 0.5 * 10,100; then 8,000 <= 0.5 * 16,100 passes.
    assert outcomes == []
    assert blocked.status is AuditionStatus.RUNNING
    assert [type(o) for o in spread] == [Passed]
    assert spread[0].metrics.best_day_share == Decimal("0.496894")


def test_evaluate_best_day_profit_counts_fees():
    # Arrange: day 0 makes 5,050 and pays 1; the total is 10,099 before fees, 10,098 after.
    rules = ftmo(best_day_share=Decimal("0.5"))
    days = [fill(at(0, 10), 5_050, fee=1), *[fill(at(d, 10), 1_683) for d in (1, 2, 3)]]

    # Act
    _progress, outcomes = run([*days, mark(at(3, 18), 110_098)], rules)

    # Assert: 5,049 <= 0.5 * 10,098 (without the fee, 5,050 > 0.5 * 10,099 would block).
    assert [type(o) for o in outcomes] == [Passed]


# --- daily loss ----------------------------------------------------------------------


def test_evaluate_daily_loss_fails_at_the_mark_that_shows_it():
    # Arrange
    observations = [
        mark(at(0, 9), 100_000, equity=97_000),
        mark(at(0, 10), 100_000, equity=94_999),
        mark(at(0, 11), 100_000, equity=99_000),
    ]

    # Act
    progress, outcomes = run(observations)

    # Assert
    assert outcomes == [Failed(at(0, 10), BreachRule.DAILY_LOSS, Decimal(94_999), Decimal(95_000))]
    assert progress.breach is not None
    assert progress.breach.at == at(0, 10)
    assert progress.equity == Decimal(94_999)


def test_evaluate_daily_loss_on_equity_breaches_while_the_balance_is_fine():
    # Arrange: nothing realized, an open loss of 5,000.000001.
    observations = [mark(at(0, 9), 100_000, equity=Decimal(95_000) - MICRO)]

    # Act
    progress, outcomes = run(observations)

    # Assert
    assert progress.balance == Decimal(100_000)
    assert [(o.rule, o.limit) for o in outcomes] == [(BreachRule.DAILY_LOSS, Decimal(95_000))]


def test_evaluate_equity_exactly_at_the_daily_floor_is_no_breach():
    # Act
    progress, outcomes = run([mark(at(0, 9), 100_000, equity=95_000)])

    # Assert
    assert outcomes == []
    assert progress.status is AuditionStatus.RUNNING


def test_evaluate_daily_reference_rolls_to_the_balance_at_utc_midnight():
    # Arrange: day 0 closes at 104,000, so day 1's floor is 99,000 (notes 4.1).
    day0 = [fill(at(0, 10), 4_000), mark(at(0, 23, 59), 104_000)]

    # Act
    at_floor, quiet = run([*day0, mark(at(1, 0), 104_000, equity=99_000)])
    _failed, outcomes = run(
        [mark(at(1, 0, 1), 104_000, equity=Decimal(99_000) - MICRO)], FTMO_100K, at_floor
    )

    # Assert
    assert quiet == []
    assert at_floor.day_reference == Decimal(104_000)
    assert [(o.rule, o.limit) for o in outcomes] == [(BreachRule.DAILY_LOSS, Decimal(99_000))]


def test_evaluate_day_rolls_from_the_last_balance_before_midnight_including_late_fills():
    # Arrange: the 20:00 mark says 104,000; a 23:30 fill realizes -1,000 and pays 10.
    observations = [mark(at(0, 20), 104_000), fill(at(0, 23, 30), -1_000, fee=10), tick(at(1, 0))]

    # Act
    progress, _outcomes = run(observations)

    # Assert
    assert progress.day == at(1).date()
    assert progress.day_reference == Decimal(102_990)


def test_evaluate_a_mark_at_midnight_opens_the_new_day_with_the_previous_balance():
    # Arrange: a loss booked exactly at 00:00 belongs to the new day.
    observations = [mark(at(0, 20), 100_000), mark(at(1, 0), 96_000)]

    # Act
    progress, outcomes = run(observations)

    # Assert
    assert progress.day_reference == Decimal(100_000)
    assert outcomes == []


def test_evaluate_floating_loss_carried_over_midnight_eats_the_new_days_allowance():
    # Arrange: day 0 closes with balance 100,000 and an open loss of 3,000.
    observations = [mark(at(0, 23), 100_000, equity=97_000), mark(at(1, 9), 100_000, equity=94_999)]

    # Act
    _progress, outcomes = run(observations)

    # Assert: the reference is the balance (100,000), not the equity (97,000).
    assert [(o.rule, o.limit) for o in outcomes] == [(BreachRule.DAILY_LOSS, Decimal(95_000))]


def test_evaluate_equity_or_balance_max_reference_takes_the_open_profit_at_midnight():
    # Arrange
    rules = ftmo(daily_reference=DailyReference.EQUITY_OR_BALANCE_MAX)
    observations = [mark(at(0, 23), 100_000, equity=103_000), tick(at(1, 0))]

    # Act
    progress, _outcomes = run(observations, rules)

    # Assert
    assert progress.day_reference == Decimal(103_000)
    assert rules.daily_loss_floor(progress.day_reference) == Decimal(98_000)


def test_evaluate_skipped_days_roll_once_from_the_last_known_balance():
    # Arrange: nothing observed on days 1 and 2.
    observations = [mark(at(0, 20), 101_000), mark(at(3, 9), 101_000)]

    # Act
    progress, _outcomes = run(observations)

    # Assert
    assert (progress.day, progress.day_reference, progress.eod_high) == (
        at(3).date(),
        Decimal(101_000),
        Decimal(101_000),
    )


# --- max loss ------------------------------------------------------------------------


def test_evaluate_static_max_loss_balance_92000_with_floating_2001_breaches():
    # Arrange: the notes' example, reached without a daily breach (-4,000 a day).
    observations = [
        mark(at(0, 20), 96_000),
        mark(at(1, 20), 92_000),
        mark(at(2, 9), 92_000, equity=89_999),
    ]

    # Act
    _progress, outcomes = run(observations)

    # Assert: the daily floor (92,000 - 5,000) is lower, so only the max loss breaks.
    assert outcomes == [Failed(at(2, 9), BreachRule.MAX_LOSS, Decimal(89_999), Decimal(90_000))]


def test_evaluate_equity_exactly_at_the_max_loss_floor_is_no_breach():
    # Arrange
    observations = [mark(at(0, 20), 96_000), mark(at(1, 20), 92_000), mark(at(2, 9), 90_000)]

    # Act
    progress, outcomes = run(observations)

    # Assert
    assert outcomes == []
    assert progress.status is AuditionStatus.RUNNING


def test_evaluate_trailing_max_loss_follows_end_of_day_highs_only():
    # Arrange: FTMO 1-step-like, trailing without lock, a wide daily limit.
    rules = ftmo(max_loss_mode=MaxLossMode.EOD_TRAILING, max_daily_loss=Decimal("0.5"))
    observations = [
        mark(at(0, 12), 107_000),  # an intraday high never moves the floor
        mark(at(0, 23), 104_000),
        mark(at(1, 23), 103_000),
        mark(at(2, 9), 94_000),
    ]

    # Act
    progress, outcomes = run(observations, rules)
    _failed, breach = run([mark(at(2, 10), Decimal(94_000) - MICRO)], rules, progress)

    # Assert: EOD 104,000 -> floor 94,000; EOD 103,000 keeps it.
    assert outcomes == []
    assert progress.eod_high == Decimal(104_000)
    assert [(o.rule, o.limit) for o in breach] == [(BreachRule.MAX_LOSS, Decimal(94_000))]


def test_evaluate_trailing_max_loss_with_lock_stops_at_the_starting_balance():
    # Arrange: Topstep-like 50k, 2,000 trailing loss, locked at 50,000.
    rules = ftmo(
        starting_collateral=Decimal(50_000),
        max_total_loss=Decimal("0.04"),
        max_daily_loss=Decimal("0.5"),
        max_loss_mode=MaxLossMode.EOD_TRAILING,
        max_loss_lock=True,
    )
    start = AuditionProgress.start(rules, START_AT)
    days = [mark(at(0, 23), 51_000), mark(at(1, 23), 52_500), mark(at(2, 23), 53_000)]

    # Act
    progress, outcomes = run([*days, mark(at(3, 9), 50_000)], rules, start)
    _failed, breach = run([mark(at(3, 10), Decimal(50_000) - MICRO)], rules, progress)

    # Assert
    assert [rules.max_loss_floor(h) for h in (Decimal(51_000), Decimal(53_000))] == [
        Decimal(49_000),
        Decimal(50_000),
    ]
    assert outcomes == []
    assert [(o.rule, o.limit) for o in breach] == [(BreachRule.MAX_LOSS, Decimal(50_000))]


def test_evaluate_both_floors_broken_reports_the_higher_floor():
    # Arrange: trailing 10 % and daily 3 % (FTMO 1-step); day 2's daily floor is 100,000,
    # its max-loss floor 94,000; one mark falls through both.
    rules = ftmo(max_loss_mode=MaxLossMode.EOD_TRAILING, max_daily_loss=Decimal("0.03"))
    observations = [mark(at(0, 23), 104_000), mark(at(1, 23), 103_000), mark(at(2, 9), 93_000)]

    # Act
    _progress, outcomes = run(observations, rules)

    # Assert
    assert [(o.rule, o.limit) for o in outcomes] == [(BreachRule.DAILY_LOSS, Decimal(100_000))]


def test_evaluate_max_loss_floor_above_the_daily_floor_is_reported():
    # Arrange: midnight balance 92,000 -> daily floor 87,000, static max-loss floor 90,000.
    observations = [mark(at(0, 20), 96_000), mark(at(1, 20), 92_000), mark(at(2, 9), 86_000)]

    # Act
    _progress, outcomes = run(observations)

    # Assert
    assert [(o.rule, o.limit) for o in outcomes] == [(BreachRule.MAX_LOSS, Decimal(90_000))]


def test_evaluate_equal_floors_report_the_daily_loss():
    # Arrange: 10 % daily and 10 % static max loss: both floors are 90,000 on day 0.
    rules = ftmo(max_daily_loss=Decimal("0.10"))

    # Act
    _progress, outcomes = run([mark(at(0, 9), 100_000, equity=89_000)], rules)

    # Assert
    assert [(o.rule, o.limit) for o in outcomes] == [(BreachRule.DAILY_LOSS, Decimal(90_000))]


def test_evaluate_breach_comes_before_a_pass_on_the_same_mark():
    # Arrange: 120,000 by day 2 with three trading days; day 3's floor is 115,000, and a
    # fourth trading day ends flat at 112,000: above the target, below the floor.
    observations = [
        *trading_days(0, 3),
        mark(at(2, 20), 120_000),
        fill(at(3, 9), -8_000),
        mark(at(3, 10), 112_000),
    ]

    # Act
    _progress, outcomes = run(observations)

    # Assert
    assert [(o.rule, o.limit) for o in outcomes] == [(BreachRule.DAILY_LOSS, Decimal(115_000))]


# --- deadline ------------------------------------------------------------------------


def test_evaluate_deadline_without_a_pass_fails_at_the_window_end():
    # Arrange: 30 days from START_AT; the last mark left the account at 104,000.
    rules = ftmo(deadline=timedelta(days=30))
    end = START_AT + timedelta(days=30)
    observations = [
        fill(at(0, 10), 4_000),
        mark(at(0, 11), 104_000),
        tick(end - timedelta(seconds=1)),
    ]

    # Act
    running, before = run(observations, rules)
    progress, outcomes = run([tick(end + timedelta(hours=5))], rules, running)

    # Assert
    assert before == []
    assert outcomes == [Failed(end, BreachRule.DEADLINE, Decimal(104_000), None)]
    assert progress.ended_at == end


def test_evaluate_mark_at_the_deadline_instant_is_too_late_to_pass():
    # Arrange
    rules = ftmo(deadline=timedelta(days=30))
    end = START_AT + timedelta(days=30)

    # Act
    _progress, outcomes = run([*trading_days(0, 4), mark(end, 110_000)], rules)

    # Assert
    assert [o.rule for o in outcomes if isinstance(o, Failed)] == [BreachRule.DEADLINE]


# --- a finished run, order, inputs ----------------------------------------------------


def test_evaluate_finished_run_ignores_further_observations():
    # Arrange
    failed, _outcomes = run([mark(at(0, 9), 100_000, equity=90_000)])

    # Act
    after, outcomes = run(
        [mark(at(0, 10), 120_000), fill(at(0, 11), 5), tick(at(9))], progress=failed
    )

    # Assert
    assert after is failed
    assert outcomes == []


def test_evaluate_observation_before_the_last_one_raises():
    # Arrange
    progress, _outcomes = run([mark(at(0, 10), 100_000)])

    # Act / Assert
    with pytest.raises(ObservationOutOfOrder):
        evaluate(progress, FTMO_100K, tick(at(0, 9)))


def test_evaluate_rules_of_another_collateral_raise():
    # Arrange
    progress = AuditionProgress.start(FTMO_100K, START_AT)

    # Act / Assert
    with pytest.raises(RulesMismatch):
        evaluate(progress, ftmo(starting_collateral=Decimal(50_000)), tick(at(0, 9)))


@pytest.mark.parametrize(
    "build",
    [
        lambda: MarkObserved(at(0), 100_000.0, Decimal(100_000)),  # type: ignore[arg-type]
        lambda: MarkObserved(at(0), Decimal("NaN"), Decimal(100_000), 1),
        lambda: MarkObserved(at(0), Decimal(99_000), Decimal(100_000)),  # flat, equity != balance
        lambda: MarkObserved(at(0), Decimal(1), Decimal(1), -1),
        lambda: FillObserved(at(0), Decimal(1), 0.5),  # type: ignore[arg-type]
    ],
)
def test_observation_with_bad_amounts_raises(build):
    with pytest.raises(ObservationInvalid):
        build()


def test_observation_naive_instant_raises():
    with pytest.raises(InstantNaive):
        tick(at(0).replace(tzinfo=None))


# --- persistence ---------------------------------------------------------------------


def test_evaluate_resumed_from_a_stored_progress_ends_the_same():
    # Arrange: a lumpy run that passes on day 5 under the best-day rule.
    rules = ftmo(best_day_share=Decimal("0.5"), max_loss_mode=MaxLossMode.EOD_TRAILING)
    observations = [
        fill(at(0, 10), 4_000, fee=3),
        mark(at(0, 23), 103_997, equity=103_000),
        fill(at(1, 10), -1_000, fee=3),
        mark(at(1, 23), 102_994),
        fill(at(2, 10), 3_000, fee=3),
        fill(at(3, 10)),
        fill(at(4, 10), 5_000, fee=3),
        mark(at(4, 12), 110_988),
    ]
    straight, expected = run(observations, rules)

    # Act: stop after the fourth observation, store, reload, continue.
    half, first = run(observations[:4], rules)
    resumed, rest = run(observations[4:], rules, persisted(half))

    # Assert
    assert [type(o) for o in expected] == [Passed]
    assert persisted(half) == half
    assert [*first, *rest] == expected
    assert resumed == straight
