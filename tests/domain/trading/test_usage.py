"""What model calls cost, worked by hand: prices per million tokens, one rounding per call."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from domain.trading.errors import BadUsageRange
from domain.trading.usage import (
    ModelPrice,
    PriceBook,
    ReportRange,
    UsageLine,
    usage_lines,
    usd,
    usd_to_micros,
)

MINI = ModelPrice(Decimal("0.15"), Decimal("0.60"))
PRICES = PriceBook({"gpt-4o-mini": MINI})


def _attempt(outcome: str, provider: str = "openai-compatible", model: str = "gpt-4o-mini"):
    return {"provider": provider, "model": model, "outcome": outcome, "latency_ms": 10}


def test_a_call_costs_its_tokens_at_the_price_per_million_rounded_half_up_once() -> None:
    # 1,234 * 0.15 + 567 * 0.60 = 185.1 + 340.2 = 525.3 micro-USD -> 525 (0.000525 USD)
    assert MINI.cost_micros(1_234, 567) == 525
    assert usd(525) == "0.000525"
    # exactly half a micro-USD rounds up: 1 token at 0.5 USD per million
    assert ModelPrice(Decimal("0.5"), Decimal(0)).cost_micros(1, 0) == 1
    assert ModelPrice(Decimal("0.4999"), Decimal(0)).cost_micros(1, 0) == 0


def test_a_routing_counts_every_attempt_and_charges_only_the_answer() -> None:
    # Arrange: a 500, then a 429, then an answer, then (fallback tier) nothing more
    attempts = [_attempt("server_error"), _attempt("rate_limited"), _attempt("ok")]

    # Act
    lines = usage_lines(attempts, (1_234, 567), PRICES)

    # Assert
    assert lines == (UsageLine("openai-compatible", "gpt-4o-mini", 3, 2, 1_234, 567, 525, 0),)


def test_a_fallback_to_the_rules_is_a_free_call_of_its_own() -> None:
    attempts = [_attempt("timeout"), _attempt("ok", provider="rules", model="rules")]

    lines = usage_lines(attempts, (0, 0), PRICES)

    assert lines == (
        UsageLine("openai-compatible", "gpt-4o-mini", calls=1, errors=1),
        UsageLine("rules", "rules", calls=1),
    )


def test_an_unpriced_model_costs_nothing_and_says_so() -> None:
    lines = usage_lines([_attempt("ok", model="llama-3.1-8b")], (900, 100), PRICES)

    assert lines == (UsageLine("openai-compatible", "llama-3.1-8b", 1, 0, 900, 100, 0, 1),)


def test_no_routing_is_no_usage() -> None:
    assert usage_lines([], (0, 0), PRICES) == ()


def test_lines_of_the_same_model_add_up() -> None:
    one = UsageLine("p", "m", 1, 0, 10, 5, 7, 0)
    assert one + one == UsageLine("p", "m", 2, 0, 20, 10, 14, 0)


def test_usd_amounts_convert_to_whole_micro_usd_or_are_refused() -> None:
    assert usd_to_micros(Decimal("0.50")) == 500_000
    assert usd_to_micros(Decimal("50")) == 50_000_000
    with pytest.raises(ValueError, match="six decimal places"):
        usd_to_micros(Decimal("0.0000001"))


def test_a_report_range_is_ordered_and_at_most_366_days() -> None:
    assert ReportRange.of(date(2026, 1, 1), date(2026, 12, 31)).end == date(2026, 12, 31)
    with pytest.raises(BadUsageRange, match="after"):
        ReportRange.of(date(2026, 2, 1), date(2026, 1, 1))
    with pytest.raises(BadUsageRange, match="366 days"):
        ReportRange.of(date(2025, 1, 1), date(2026, 1, 2))
