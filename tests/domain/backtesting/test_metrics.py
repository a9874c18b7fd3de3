"""Performance metrics: the notes' 3.5 test vector, the edge cases, and properties.

Worked example (notes/trading-math.md 3.5): start equity 10,000, daily closes 10,100,
10,050, 10,200, 10,150, 10,300; trades 100, -50, 150, -50, 150. The published figures are
rounded, so each is compared at the precision the notes give (half a unit of their last
digit, plus half a unit of our 6th decimal).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.backtesting.equity_curve import CurveOutOfOrder
from domain.backtesting.metrics import (
    ClosedTrade,
    ClosedTradeInvalid,
    ExposureLengthMismatch,
    Metrics,
    StartEquityNotPositive,
    compute_metrics,
)

FAST = settings(max_examples=80, deadline=None)
T0 = datetime(2024, 1, 1, tzinfo=UTC)
START = Decimal(10_000)
VECTOR_CLOSES = (10_100, 10_050, 10_200, 10_150, 10_300)
VECTOR_PNLS = (100, -50, 150, -50, 150)


def a_trade(pnl: Decimal | int, *, fees: str = "0", funding: str = "0") -> ClosedTrade:
    return ClosedTrade(
        asset="BTC",
        side="long",
        opened_at=T0,
        closed_at=T0 + timedelta(hours=1),
        size=Decimal("0.1"),
        entry_price=Decimal(60_000),
        exit_price=Decimal(61_000),
        pnl=Decimal(pnl),
        fees=Decimal(fees),
        funding=Decimal(funding),
    )


def daily_curve(closes: Sequence[int | str]) -> list[tuple[datetime, Decimal]]:
    # One sample per day, at 23:00 UTC.
    return [(T0 + timedelta(days=i, hours=23), Decimal(c)) for i, c in enumerate(closes)]


def vector_metrics() -> Metrics:
    trades = [a_trade(p) for p in VECTOR_PNLS]
    return compute_metrics(daily_curve(VECTOR_CLOSES), trades, start_equity=START)


def assert_matches_notes(actual: Decimal | None, published: str) -> None:
    expected = Decimal(published)
    places = len(published.partition(".")[2])
    tolerance = Decimal(1).scaleb(-places) / 2 + Decimal("0.0000005")
    assert actual is not None
    assert abs(actual - expected) <= tolerance, (actual, published)


# --- the notes' 3.5 vector ------------------------------------------------------------


def test_vector_sharpe_matches_notes():
    assert_matches_notes(vector_metrics().sharpe, "11.2459")


def test_vector_sortino_matches_notes():
    assert_matches_notes(vector_metrics().sortino, "36.6091")


def test_vector_max_drawdown_matches_notes():
    metrics = vector_metrics()

    assert_matches_notes(metrics.max_drawdown_pct, "0.0049505")
    assert metrics.max_drawdown == Decimal(50)


def test_vector_cagr_over_five_days_matches_notes():
    metrics = vector_metrics()

    assert metrics.days == 5
    assert_matches_notes(metrics.cagr, "7.652")  # 765.2 %


def test_vector_total_return_and_end_equity():
    metrics = vector_metrics()

    assert metrics.total_return == Decimal("0.03")
    assert metrics.end_equity == Decimal(10_300)


def test_vector_calmar_is_cagr_over_drawdown_fraction():
    metrics = vector_metrics()

    # 7.652018 / (50 / 10,100), from unrounded intermediates.
    assert_matches_notes(metrics.calmar, "1545.7076")


def test_vector_trade_stats_match_notes():
    metrics = vector_metrics()

    assert metrics.trades == 5
    assert metrics.profit_factor == Decimal("4.0")
    assert metrics.win_rate == Decimal("0.6")
    assert metrics.expectancy == Decimal(60)


def test_vector_figures_are_quantized_to_six_places():
    metrics = vector_metrics()

    assert metrics.sharpe == Decimal("11.245866")
    assert metrics.max_drawdown_pct == Decimal("0.004950")
    assert metrics.expectancy is not None
    assert metrics.expectancy.as_tuple().exponent == -6


# --- edge cases -----------------------------------------------------------------------


def test_empty_curve_and_no_trades_has_no_ratios():
    metrics = compute_metrics([], [], start_equity=START)

    assert metrics.end_equity == START
    assert metrics.total_return == 0
    assert metrics.days == 0
    assert (metrics.cagr, metrics.sharpe, metrics.sortino, metrics.calmar) == (None,) * 4
    assert (metrics.win_rate, metrics.profit_factor, metrics.expectancy) == (None,) * 3
    assert (metrics.max_drawdown, metrics.max_drawdown_pct, metrics.exposure) == (0, 0, 0)


def test_one_daily_return_has_no_sharpe():
    metrics = compute_metrics(daily_curve([9_900]), [], start_equity=START)

    assert metrics.sharpe is None
    assert metrics.sortino is not None


def test_constant_returns_have_no_sharpe():
    metrics = compute_metrics(daily_curve([10_000, 10_000, 10_000]), [], start_equity=START)

    assert metrics.sharpe is None


def test_no_negative_return_has_no_sortino():
    metrics = compute_metrics(daily_curve([10_100, 10_100, 10_300]), [], start_equity=START)

    assert metrics.sortino is None
    assert metrics.sharpe is not None


def test_ruined_end_equity_has_no_cagr_and_full_drawdown():
    metrics = compute_metrics(daily_curve([5_000, -100]), [], start_equity=START)

    assert metrics.cagr is None
    assert metrics.calmar is None
    assert metrics.max_drawdown_pct == 1
    assert metrics.max_drawdown == Decimal(10_100)


def test_intra_day_drawdown_counts_though_the_day_closes_flat():
    curve = [
        (T0 + timedelta(hours=1), Decimal(9_000)),
        (T0 + timedelta(hours=2), Decimal(10_000)),
    ]

    metrics = compute_metrics(curve, [], start_equity=START)

    assert metrics.max_drawdown == Decimal(1_000)
    assert metrics.max_drawdown_pct == Decimal("0.1")
    assert metrics.total_return == 0


def test_zero_pnl_trade_counts_as_a_trade_not_a_win():
    trades = [a_trade(10), a_trade(0), a_trade(-5), a_trade(0)]

    metrics = compute_metrics([], trades, start_equity=START)

    assert metrics.win_rate == Decimal("0.25")
    assert metrics.expectancy == Decimal("1.25")
    assert metrics.profit_factor == 2


def test_no_losing_trade_has_no_profit_factor():
    metrics = compute_metrics([], [a_trade(10), a_trade(0)], start_equity=START)

    assert metrics.profit_factor is None


def test_fees_and_funding_are_summed_over_trades():
    trades = [a_trade(1, fees="1.5", funding="-0.25"), a_trade(2, fees="0.5", funding="1")]

    metrics = compute_metrics([], trades, start_equity=START)

    assert (metrics.fees, metrics.funding) == (Decimal(2), Decimal("0.75"))


def test_exposure_is_the_fraction_of_samples_with_a_position():
    curve = daily_curve([10_000, 10_000, 10_000, 10_000])

    metrics = compute_metrics(curve, [], start_equity=START, exposed=[True, False, True, True])

    assert metrics.exposure == Decimal("0.75")


def test_exposure_flags_not_one_per_sample_raise():
    with pytest.raises(ExposureLengthMismatch):
        compute_metrics(daily_curve([10_000]), [], start_equity=START, exposed=[True, False])


def test_start_equity_not_positive_raises():
    with pytest.raises(StartEquityNotPositive):
        compute_metrics([], [], start_equity=Decimal(0))


def test_curve_out_of_order_raises():
    curve = list(reversed(daily_curve([1, 2])))

    with pytest.raises(CurveOutOfOrder):
        compute_metrics(curve, [], start_equity=START)


def test_usage_counters_are_copied_through():
    metrics = compute_metrics(
        [], [], start_equity=START, decision_calls=3, tokens_in=1_000, tokens_out=200
    )

    assert (metrics.decision_calls, metrics.tokens_in, metrics.tokens_out) == (3, 1_000, 200)


def test_to_document_writes_decimals_as_strings_and_keeps_none():
    document = compute_metrics([], [], start_equity=START).to_document()

    assert document["start_equity"] == "10000.000000"
    assert document["total_return"] == "0.000000"
    assert document["sharpe"] is None
    assert document["trades"] == 0
    assert list(document) == list(Metrics.__dataclass_fields__)


def test_to_document_never_writes_a_negative_zero():
    # A loss below half a micro rounds to zero: it must read "0.000000", not "-0.000000".
    curve = daily_curve(["9999.9999999999"])

    document = compute_metrics(curve, [], start_equity=START).to_document()

    assert document["total_return"] == "0.000000"


def test_closed_trade_rejects_a_float_amount():
    with pytest.raises(ClosedTradeInvalid) as raised:
        ClosedTrade(
            asset="BTC",
            side="long",
            opened_at=T0,
            closed_at=T0,
            size=Decimal(1),
            entry_price=Decimal(1),
            exit_price=Decimal(1),
            pnl=0.1,  # type: ignore[arg-type]
            fees=Decimal(0),
            funding=Decimal(0),
        )

    assert "field='pnl'" in str(raised.value)


def test_closed_trade_rejects_an_unknown_side():
    with pytest.raises(ClosedTradeInvalid):
        ClosedTrade("BTC", "flat", T0, T0, *(Decimal(1),) * 3, *(Decimal(0),) * 3)


def test_closed_trade_rejects_closing_before_opening():
    with pytest.raises(ClosedTradeInvalid):
        ClosedTrade("BTC", "short", T0, T0 - timedelta(1), *(Decimal(1),) * 3, *(Decimal(0),) * 3)


# --- properties -----------------------------------------------------------------------

equities = st.decimals(min_value=-1_000_000, max_value=10**9, places=6)
positive = st.decimals(min_value=Decimal("0.000001"), max_value=10**9, places=6)
offsets = st.integers(min_value=0, max_value=20 * 24 * 3600)


@st.composite
def curves(draw: st.DrawFn, values: st.SearchStrategy[Decimal] = equities) -> list:
    seconds = sorted(draw(st.lists(offsets, max_size=50)))
    return [(T0 + timedelta(seconds=s), draw(values)) for s in seconds]


trades = st.lists(st.builds(a_trade, st.decimals(-1_000, 1_000, places=6)), max_size=10)


@FAST
@given(curve=curves(), closed=trades, start=positive, data=st.data())
def test_property_any_curve_gives_metrics_without_raising(curve, closed, start, data):
    exposed = data.draw(st.lists(st.booleans(), min_size=len(curve), max_size=len(curve)))

    metrics = compute_metrics(curve, closed, start_equity=start, exposed=exposed)

    assert metrics.trades == len(closed)
    assert 0 <= metrics.exposure <= 1


@FAST
@given(curve=curves(), start=positive)
def test_property_max_drawdown_fraction_within_zero_and_one(curve, start):
    metrics = compute_metrics(curve, [], start_equity=start)

    assert 0 <= metrics.max_drawdown_pct <= 1
    assert metrics.max_drawdown >= 0


@FAST
@given(start=positive, steps=st.lists(st.decimals(0, 10_000, places=6), max_size=40))
def test_property_rising_curve_has_no_drawdown_and_no_calmar(start, steps):
    levels = [start + sum(steps[: i + 1], Decimal(0)) for i in range(len(steps))]
    curve = [(T0 + timedelta(hours=6 * i), level) for i, level in enumerate(levels)]

    metrics = compute_metrics(curve, [], start_equity=start)

    assert metrics.max_drawdown == 0
    assert metrics.max_drawdown_pct == 0
    assert metrics.calmar is None


@FAST
@given(curve=curves(), closed=trades, start=positive)
def test_property_compute_metrics_is_deterministic(curve, closed, start):
    first = compute_metrics(curve, closed, start_equity=start)
    second = compute_metrics(list(curve), list(closed), start_equity=start)

    assert first == second
    assert first.to_document() == second.to_document()
