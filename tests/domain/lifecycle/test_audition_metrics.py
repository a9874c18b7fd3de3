"""Audition metrics: the ranking score (return over max drawdown, floored) and its figures."""

from __future__ import annotations

from decimal import Decimal

from domain.backtesting.metrics import Metrics
from domain.lifecycle.audition_evaluator import Passed
from domain.lifecycle.audition_metrics import DRAWDOWN_FLOOR, audition_metrics
from tests.domain.lifecycle.audition_kit import at, fill, mark, run, trading_days


def test_score_is_return_over_max_drawdown():
    # Arrange: +12 % closed, equity once 4 % under its 104,000 peak (99,840).
    progress, _outcomes = run(
        [mark(at(0, 9), 100_000, equity=104_000), mark(at(0, 10), 100_000, equity=99_840)]
    )
    progress, _outcomes = run(
        [fill(at(0, 11), 12_000), mark(at(0, 12), 112_000)], progress=progress
    )

    # Act
    metrics = audition_metrics(progress)

    # Assert
    assert (metrics.total_return, metrics.max_drawdown_pct) == (Decimal("0.12"), Decimal("0.04"))
    assert metrics.max_drawdown == Decimal(4_160)
    assert metrics.score == Decimal(3)


def test_score_floors_a_tiny_drawdown_at_one_percent():
    # Arrange: a straight line up, never below its peak.
    progress, _outcomes = run([fill(at(0, 10), 10_000), mark(at(0, 11), 110_000)])

    # Act
    metrics = audition_metrics(progress)

    # Assert
    assert metrics.max_drawdown_pct == Decimal(0)
    assert metrics.score == Decimal("0.1") / DRAWDOWN_FLOOR


def test_passed_outcome_carries_the_metrics_of_the_passed_run():
    # Arrange
    observations = [*trading_days(0, 3), fill(at(3, 10), 11_000, fee=5), mark(at(3, 11), 110_995)]

    # Act
    progress, outcomes = run(observations)

    # Assert
    assert isinstance(outcomes[0], Passed)
    metrics = outcomes[0].metrics
    assert metrics == audition_metrics(progress)
    assert (metrics.profit, metrics.trading_days, metrics.best_day_profit) == (
        Decimal(10_995),
        4,
        Decimal(10_995),
    )
    assert metrics.best_day_share == Decimal(1)
    assert metrics.ended_at == at(3, 11)


def test_metrics_with_a_curve_add_the_backtest_figures():
    # Arrange
    progress, _outcomes = run([fill(at(0, 10), 1_000), mark(at(1, 11), 101_000)])
    curve = [(at(0, 23), Decimal(100_500)), (at(1, 23), Decimal(101_000))]

    # Act
    metrics = audition_metrics(progress, curve)

    # Assert
    assert isinstance(metrics.curve, Metrics)
    assert metrics.curve.days == 2
    assert metrics.curve.total_return == Decimal("0.01")


def test_metrics_document_is_json_ready():
    # Arrange
    progress, _outcomes = run([fill(at(0, 10), 1_000), mark(at(0, 11), 101_000)])

    # Act
    document = audition_metrics(progress).to_document()

    # Assert
    assert document["score"] == "1.000000"
    assert document["ended_at"] == "2025-03-03T11:00:00+00:00"
    assert document["curve"] is None
    assert document["trading_days"] == 1
