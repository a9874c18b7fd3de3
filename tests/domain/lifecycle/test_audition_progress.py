"""An audition's progress: its start, its figures and its stored document."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from domain.lifecycle.audition_progress import (
    AuditionProgress,
    AuditionStatus,
    BreachRule,
    InstantNaive,
    ProgressDocumentInvalid,
)
from tests.domain.lifecycle.audition_kit import FTMO_100K, START_AT, at, fill, mark, persisted, run


def test_start_sits_on_the_starting_collateral():
    # Act
    progress = AuditionProgress.start(FTMO_100K, START_AT)

    # Assert
    start = Decimal(100_000)
    assert (progress.day, progress.day_reference, progress.eod_high) == (
        START_AT.date(),
        start,
        start,
    )
    assert (progress.balance, progress.equity, progress.peak_equity) == (start, start, start)
    assert progress.status is AuditionStatus.RUNNING
    assert progress.trading_days == frozenset()
    assert progress.best_day_profit is None


def test_start_with_a_naive_instant_raises():
    with pytest.raises(InstantNaive):
        AuditionProgress.start(FTMO_100K, START_AT.replace(tzinfo=None))


def test_fills_add_net_pnl_per_day_and_to_the_balance():
    # Act
    progress, _outcomes = run(
        [fill(at(0, 10), 300, fee=2), fill(at(0, 11), -100, fee=2), fill(at(2, 10), 50, fee=1)]
    )

    # Assert
    assert progress.day_pnl == ((at(0).date(), Decimal(196)), (at(2).date(), Decimal(49)))
    assert progress.balance == Decimal(100_245)
    assert progress.total_profit == Decimal(245)
    assert progress.best_day_profit == Decimal(196)


def test_marks_track_the_drawdown_of_equity_from_its_peak():
    # Act
    progress, _outcomes = run(
        [mark(at(0, 9), 100_000, equity=102_000), mark(at(0, 10), 100_000, equity=96_900)]
    )

    # Assert
    assert progress.peak_equity == Decimal(102_000)
    assert progress.max_drawdown == Decimal(5_100)
    assert progress.max_drawdown_pct == Decimal("0.05")


def test_running_progress_document_round_trips():
    # Arrange
    progress, _outcomes = run(
        [fill(at(0, 10), 1_000, fee=1), mark(at(1, 9), 100_999, equity=101_500)]
    )

    # Act / Assert
    assert persisted(progress) == progress


def test_failed_progress_document_round_trips_with_its_breach():
    # Arrange
    progress, _outcomes = run([mark(at(0, 9), 100_000, equity=94_000)])

    # Act
    again = persisted(progress)

    # Assert
    assert again == progress
    assert again.breach is not None
    assert again.breach.rule is BreachRule.DAILY_LOSS


def test_progress_document_shape():
    # Arrange
    progress, _outcomes = run([fill(at(0, 10), "12.5")])

    # Act
    document = progress.to_document()

    # Assert
    assert document["day_pnl"] == {"2025-03-03": "12.5"}
    assert document["started_at"] == "2025-03-03T08:00:00+00:00"
    assert document["balance"] == "100012.5"
    assert (document["status"], document["ended_at"], document["breach"]) == ("running", None, None)


def _document(**changes: object) -> dict[str, object]:
    progress, _outcomes = run([fill(at(0, 10), 5)])
    return progress.to_document() | changes


@pytest.mark.parametrize(
    "document",
    [
        [],
        {"status": "running"},
        _document(balance=100_000.0),
        _document(balance="lots"),
        _document(equity="NaN"),
        _document(started_at="2025-03-03T08:00:00"),  # naive
        _document(last_at="yesterday"),
        _document(day="03/03/2025"),
        _document(day_pnl=[["2025-03-03", "5"]]),
        _document(day_pnl={"2025-03-03": "5", "20250303": "1"}),  # one day twice
        _document(status="paused"),
        _document(status="passed"),  # without an end
        _document(status="failed", ended_at="2025-03-04T00:00:00+00:00"),  # without a breach
        _document(
            status="failed",
            ended_at="2025-03-04T00:00:00+00:00",
            breach={
                "rule": "margin_call",
                "equity": "1",
                "at": "2025-03-04T00:00:00+00:00",
                "limit": None,
            },
        ),
        _document(extra=1),
    ],
)
def test_progress_document_that_does_not_fit_raises(document):
    with pytest.raises(ProgressDocumentInvalid):
        AuditionProgress.from_document(document)


def test_trading_days_are_the_days_with_fills():
    progress, _outcomes = run([fill(at(0, 10)), fill(at(0, 11)), fill(at(3, 10))])
    assert progress.trading_days == {date(2025, 3, 3), date(2025, 3, 6)}
