"""The perp precision rules (trading-math 1.7): 5 significant figures, 6 - szDecimals decimals."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.market.instruments import (
    PriceBelowGrid,
    Rounding,
    allowed_price_decimals,
    floor_size,
    is_valid_price,
    is_valid_size,
    quantize_price,
)


@pytest.mark.parametrize(
    ("price", "size_decimals", "valid"),
    [
        ("1234.5", 0, True),
        ("1234.56", 0, False),
        ("0.001234", 0, True),
        ("0.0012345", 0, False),
        ("123456", 5, True),
        ("12345.6", 5, False),
        ("66344", 5, True),
        ("3421.5", 4, True),
        ("3421.55", 4, False),
        ("150.12", 2, True),
        ("150.123", 2, False),
        ("0", 2, False),
        ("-1", 2, False),
    ],
)
def test_price_rule_matches_documented_examples(
    price: str, size_decimals: int, valid: bool
) -> None:
    assert is_valid_price(Decimal(price), size_decimals) is valid


def test_quantize_moves_against_the_trader() -> None:
    assert quantize_price(Decimal("3421.55"), 4, Rounding.UP) == Decimal("3421.6")
    assert quantize_price(Decimal("3421.55"), 4, Rounding.DOWN) == Decimal("3421.5")


def test_quantize_up_across_a_magnitude_stays_valid() -> None:
    assert quantize_price(Decimal("99999.7"), 5, Rounding.UP) == Decimal("100000")


prices = st.decimals(min_value=Decimal("0.000001"), max_value=Decimal("1000000"), places=8)


@given(price=prices, size_decimals=st.integers(0, 5))
def test_quantized_prices_are_valid_and_adverse(price: Decimal, size_decimals: int) -> None:
    up = quantize_price(price, size_decimals, Rounding.UP)
    assert is_valid_price(up, size_decimals)
    assert price <= up
    smallest_step = Decimal(1).scaleb(-(6 - size_decimals))
    if price >= smallest_step:
        down = quantize_price(price, size_decimals, Rounding.DOWN)
        assert is_valid_price(down, size_decimals)
        assert down <= price


def test_price_below_the_grid_cannot_round_down() -> None:
    with pytest.raises(PriceBelowGrid):
        quantize_price(Decimal("0.0000001"), 1, Rounding.DOWN)


def test_allowed_decimals_for_small_prices_follow_significance() -> None:
    assert allowed_price_decimals(Decimal("0.5"), 0) == 5
    assert allowed_price_decimals(Decimal("0.5"), 2) == 4


def test_size_rule_and_floor() -> None:
    assert is_valid_size(Decimal("0.00012"), 5)
    assert not is_valid_size(Decimal("0.000123"), 5)
    assert floor_size(Decimal("0.000129"), 5) == Decimal("0.00012")
