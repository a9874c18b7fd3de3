"""The owner's view of a run against each rule, and the verdict a stored progress holds.

Worked example on the 100k FTMO-style rules of the audition kit: day 0 closes on a 104,000
balance after a 4,000 trade, so day 1's reference is 104,000 and its daily floor 99,000
(5 % of the *starting* 100,000 below it). The static max-loss floor stays at 90,000; with
the end-of-day trailing mode it rises to 94,000. A mark of 101,500 equity then leaves 2,500
of daily headroom and 11,500 (static) or 7,500 (trailing) of max-loss headroom.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from domain.lifecycle.audition_evaluator import Failed, Passed, evaluate, outcome_of
from domain.lifecycle.audition_metrics import audition_metrics
from domain.lifecycle.audition_progress import AuditionProgress, AuditionStatus, BreachRule
from domain.lifecycle.audition_report import live_metrics, rule_progress
from domain.lifecycle.audition_rules import AuditionRules, MaxLossMode
from tests.domain.lifecycle.audition_kit import (
    FTMO_100K,
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


def text(value: Decimal) -> str:
    return format(value, "f")


def day_one_progress(rules: AuditionRules = FTMO_100K) -> AuditionProgress:
    """Day 0 books 4,000; day 1 loses 1,000 and marks 101,500.25 equity with a position open.

    So the balance (103,000) differs from both day 1's reference and the end-of-day high
    (104,000), and a report reading the wrong figure shows another floor.
    """
    progress, outcomes = run(
        [
            fill(at(0, 10), 4_000),
            mark(at(0, 18), 104_000),
            fill(at(1, 9), -1_000),
            mark(at(1, 14), 103_000, equity="101500.25"),
        ],
        rules,
    )
    assert outcomes == []
    assert (progress.balance, progress.eod_high) == (Decimal(103_000), Decimal(104_000))
    return progress


# --- rule_progress ----------------------------------------------------------------------


def test_rule_progress_profit_target_is_the_rules_target_balance() -> None:
    # Arrange
    progress = day_one_progress()

    # Act
    report = rule_progress(FTMO_100K, progress)

    # Assert
    assert report["profitTarget"] == {
        "targetBalance": text(FTMO_100K.target_balance),
        "balance": "103000",
        "met": False,
    }
    assert report["profitTarget"]["targetBalance"] == "110000.000000"


def test_rule_progress_profit_target_is_met_at_the_target_balance() -> None:
    # Arrange: only one trading day, so the run goes on though the balance is reached.
    progress, outcomes = run([fill(at(0, 10), 10_000), mark(at(0, 11), 110_000)])

    # Act
    report = rule_progress(FTMO_100K, progress)

    # Assert
    assert outcomes == []
    assert report["profitTarget"]["met"] is True
    assert report["tradingDays"] == {"required": 4, "done": 1}


def test_rule_progress_daily_loss_uses_the_rules_floor_of_the_days_reference() -> None:
    # Arrange
    progress = day_one_progress()

    # Act
    report = rule_progress(FTMO_100K, progress)

    # Assert
    floor = FTMO_100K.daily_loss_floor(progress.day_reference)
    assert report["dailyLoss"] == {
        "day": at(1).date().isoformat(),
        "dayReference": text(progress.day_reference),
        "floor": text(floor),
        "equity": text(progress.equity),
        "headroom": text(progress.equity - floor),
    }
    assert (report["dailyLoss"]["dayReference"], report["dailyLoss"]["floor"]) == (
        "104000",
        "99000.000000",
    )
    assert report["dailyLoss"]["headroom"] == "2500.250000"


@pytest.mark.parametrize(
    ("mode", "floor", "headroom"),
    [
        (MaxLossMode.STATIC, "90000.000000", "11500.250000"),
        (MaxLossMode.EOD_TRAILING, "94000.000000", "7500.250000"),
    ],
)
def test_rule_progress_max_loss_uses_the_rules_floor_and_its_headroom(
    mode: MaxLossMode, floor: str, headroom: str
) -> None:
    # Arrange
    rules = ftmo(max_loss_mode=mode)
    progress = day_one_progress(rules)

    # Act
    report = rule_progress(rules, progress)

    # Assert
    own_floor = rules.max_loss_floor(progress.eod_high)
    assert report["maxLoss"] == {
        "mode": mode.value,
        "floor": text(own_floor),
        "equity": text(progress.equity),
        "headroom": text(progress.equity - own_floor),
    }
    assert (report["maxLoss"]["floor"], report["maxLoss"]["headroom"]) == (floor, headroom)


def test_rule_progress_headroom_is_negative_below_a_floor() -> None:
    # Arrange: a running progress whose last mark sits below both floors (not evaluated).
    start = AuditionProgress.start(FTMO_100K, START_AT)
    progress = AuditionProgress(
        **{**vars(start), "equity": Decimal("89000"), "balance": Decimal("89000")}
    )

    # Act
    report = rule_progress(FTMO_100K, progress)

    # Assert
    assert report["dailyLoss"]["headroom"] == "-6000.000000"
    assert report["maxLoss"]["headroom"] == "-1000.000000"


def test_rule_progress_without_best_day_share_has_no_best_day_block() -> None:
    # Act
    report = rule_progress(FTMO_100K, day_one_progress())

    # Assert
    assert "bestDay" not in report
    assert set(report) == {"profitTarget", "dailyLoss", "maxLoss", "tradingDays", "deadline"}


def test_rule_progress_with_best_day_share_reports_the_best_and_the_total_profit() -> None:
    # Arrange
    rules = ftmo(best_day_share=Decimal("0.5"))
    progress, _outcomes = run(
        [fill(at(0, 10), 300, fee=2), fill(at(1, 10), 100, fee=1), mark(at(1, 12), 100_397)],
        rules,
    )

    # Act
    report = rule_progress(rules, progress)

    # Assert
    assert report["bestDay"] == {
        "maxShare": "0.5",
        "bestDayProfit": "298",
        "totalProfit": "397",
    }


def test_rule_progress_best_day_before_any_fill_has_no_best_day_profit() -> None:
    # Arrange
    rules = ftmo(best_day_share=Decimal("0.4"))

    # Act
    report = rule_progress(rules, AuditionProgress.start(rules, START_AT))

    # Assert
    assert report["bestDay"] == {"maxShare": "0.4", "bestDayProfit": None, "totalProfit": "0"}


def test_rule_progress_deadline_ends_the_rules_window_after_the_start() -> None:
    # Arrange
    rules = ftmo(deadline=timedelta(days=30))

    # Act
    report = rule_progress(rules, AuditionProgress.start(rules, START_AT))

    # Assert
    assert report["deadline"] == {"endsAt": (START_AT + timedelta(days=30)).isoformat()}
    assert report["deadline"]["endsAt"] == rules.deadline_at(START_AT).isoformat()  # type: ignore[union-attr]


def test_rule_progress_without_a_deadline_has_no_end() -> None:
    # Act
    report = rule_progress(FTMO_100K, AuditionProgress.start(FTMO_100K, START_AT))

    # Assert
    assert report["deadline"] == {"endsAt": None}


def test_rule_progress_counts_the_trading_days_done() -> None:
    # Arrange
    progress, _outcomes = run([*trading_days(0, 3), mark(at(2, 18), 100_000)])

    # Act
    report = rule_progress(FTMO_100K, progress)

    # Assert
    assert report["tradingDays"] == {"required": 4, "done": 3}


# --- live_metrics -----------------------------------------------------------------------


def test_live_metrics_are_the_runs_metrics_document() -> None:
    # Arrange
    progress = day_one_progress()

    # Act
    metrics = live_metrics(progress)

    # Assert
    assert metrics == audition_metrics(progress).to_document()
    assert metrics["balance"] == "103000.000000"
    assert metrics["trading_days"] == 2
    assert metrics["ended_at"] == at(1, 14).isoformat()


# --- outcome_of -------------------------------------------------------------------------


def test_outcome_of_a_running_progress_is_none() -> None:
    # Arrange
    progress = day_one_progress()

    # Act / Assert
    assert progress.status is AuditionStatus.RUNNING
    assert outcome_of(progress) is None


def test_outcome_of_a_passed_progress_is_the_pass_evaluate_returned() -> None:
    # Arrange
    before, _outcomes = run([*trading_days(0, 4), mark(at(3, 12), 105_000)])
    last = mark(at(3, 18), 110_000)

    # Act
    progress, returned = evaluate(before, FTMO_100K, last)

    # Assert
    assert isinstance(returned, Passed)
    assert outcome_of(progress) == returned
    assert outcome_of(persisted(progress)) == returned


@pytest.mark.parametrize(
    ("observations", "rule"),
    [
        pytest.param(
            [mark(at(0, 12), 100_000, equity="94999.999999")],
            BreachRule.DAILY_LOSS,
            id="daily_loss",
        ),
        # Day 2's reference is 91,000 (daily floor 86,000): only the 90,000 max floor breaks.
        pytest.param(
            [
                mark(at(0, 12), 95_000),
                mark(at(1, 12), 91_000),
                mark(at(2, 12), 91_000, equity="89999.999999"),
            ],
            BreachRule.MAX_LOSS,
            id="max_loss",
        ),
    ],
)
def test_outcome_of_a_failed_progress_is_the_failure_evaluate_returned(
    observations: list[object], rule: BreachRule
) -> None:
    # Arrange
    *earlier, last = observations
    before, _outcomes = run(earlier)  # type: ignore[arg-type]

    # Act
    progress, returned = evaluate(before, FTMO_100K, last)  # type: ignore[arg-type]

    # Assert
    assert isinstance(returned, Failed)
    assert returned.rule is rule
    assert outcome_of(progress) == returned
    assert outcome_of(persisted(progress)) == returned


def test_outcome_of_a_deadline_failure_is_the_failure_evaluate_returned() -> None:
    # Arrange
    rules = ftmo(deadline=timedelta(days=2))
    before = AuditionProgress.start(rules, START_AT)

    # Act
    progress, returned = evaluate(before, rules, tick(START_AT + timedelta(days=3)))

    # Assert
    assert returned == Failed(
        START_AT + timedelta(days=2), BreachRule.DEADLINE, Decimal(100_000), None
    )
    assert outcome_of(progress) == returned
    assert outcome_of(persisted(progress)) == returned
