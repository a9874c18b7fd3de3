"""Micro-USDC conversion (always against the account), formatting, postings and their balance."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.market.instruments import Rounding
from domain.prop.money import (
    ADMIN_ADJUSTMENTS,
    USDC,
    VENUE_FEES,
    VENUE_FUNDING,
    VENUE_PNL,
    BadAccountName,
    BadCurrency,
    InexactAmount,
    NotADecimal,
    NotFinite,
    NotMicros,
    Posting,
    UnbalancedPostings,
    adjustment_postings,
    balanced,
    charge_micros,
    collateral_account,
    credit_micros,
    exact_micros,
    fill_postings,
    format_micros,
    funding_postings,
    micros_to_decimal,
    require_balanced,
    to_micros,
    transfer,
    unbalanced_totals,
)

ALICE = collateral_account("alice")
amounts = st.decimals(min_value=-(10**9), max_value=10**9, places=12)
micros = st.integers(min_value=-(10**18), max_value=10**18)


@pytest.mark.parametrize(
    ("amount", "charged", "credited"),
    [
        ("1.25", 1_250_000, 1_250_000),
        ("0.0000001", 1, 0),
        ("-0.0000001", 0, -1),
        ("5.4398401", 5_439_841, 5_439_840),
        ("-2.0000009", -2_000_000, -2_000_001),
        ("0", 0, 0),
    ],
)
def test_conversion_inexact_amount_rounds_against_the_account(
    amount: str, charged: int, credited: int
) -> None:
    # Arrange / Act / Assert: a charge rounds up, a credit down, whatever the sign.
    assert charge_micros(Decimal(amount)) == charged
    assert credit_micros(Decimal(amount)) == credited


def test_to_micros_explicit_rounding_matches_the_named_helpers() -> None:
    assert to_micros(Decimal("0.1234567"), Rounding.UP) == charge_micros(Decimal("0.1234567"))
    assert to_micros(Decimal("0.1234567"), Rounding.DOWN) == credit_micros(Decimal("0.1234567"))


@given(amounts)
def test_conversion_any_amount_brackets_the_exact_value_within_one_micro(amount: Decimal) -> None:
    # Act
    up, down = micros_to_decimal(charge_micros(amount)), micros_to_decimal(credit_micros(amount))
    # Assert
    assert down <= amount <= up
    assert up - down <= Decimal("0.000001")


def test_conversion_float_amount_is_rejected() -> None:
    with pytest.raises(NotADecimal):
        charge_micros(1.25)  # type: ignore[arg-type]


def test_conversion_nan_amount_is_rejected() -> None:
    with pytest.raises(NotFinite):
        credit_micros(Decimal("NaN"))


def test_exact_micros_whole_micros_converts() -> None:
    assert exact_micros(Decimal("10000.5")) == 10_000_500_000


def test_exact_micros_seventh_decimal_is_rejected() -> None:
    with pytest.raises(InexactAmount):
        exact_micros(Decimal("1.0000001"))


@pytest.mark.parametrize(
    ("amount_micros", "text"),
    [(0, "0.000000"), (1, "0.000001"), (-1, "-0.000001"), (1_250_000, "1.250000"),
     (-12_345_678_901, "-12345.678901")],
)  # fmt: skip
def test_format_micros_renders_six_decimals(amount_micros: int, text: str) -> None:
    assert format_micros(amount_micros) == text


@given(micros)
def test_format_micros_round_trips_through_decimal(amount_micros: int) -> None:
    # Act
    text = format_micros(amount_micros)
    # Assert
    assert Decimal(text) == micros_to_decimal(amount_micros)
    assert exact_micros(Decimal(text)) == amount_micros


@pytest.mark.parametrize("amount", [1.5, True, Decimal(1)])
def test_posting_non_integer_amount_is_rejected(amount: object) -> None:
    with pytest.raises(NotMicros):
        Posting(ALICE, USDC, amount)  # type: ignore[arg-type]


@pytest.mark.parametrize("account", ["collateral", "prop::collateral", "prop:a b:collateral", ""])
def test_posting_malformed_account_is_rejected(account: str) -> None:
    with pytest.raises(BadAccountName):
        Posting(account, USDC, 1)


def test_posting_lower_case_currency_is_rejected() -> None:
    with pytest.raises(BadCurrency):
        Posting(ALICE, "usdc", 1)


def test_chart_of_accounts_names_are_valid_posting_accounts() -> None:
    for account in (ALICE, VENUE_FEES, VENUE_FUNDING, VENUE_PNL, ADMIN_ADJUSTMENTS):
        assert Posting(account, USDC, 0).account == account


def test_balanced_per_currency_not_across_currencies() -> None:
    # Arrange: +1 USDC and -1 ETH sum to zero overall but balance in neither currency.
    postings = [Posting(ALICE, USDC, 1), Posting(VENUE_FEES, "ETH", -1)]
    # Act / Assert
    assert not balanced(postings)
    assert unbalanced_totals(postings) == {USDC: 1, "ETH": -1}
    with pytest.raises(UnbalancedPostings):
        require_balanced(postings)


def test_transfer_moves_the_amount_out_of_source_into_destination() -> None:
    assert transfer(ALICE, VENUE_FEES, 5) == (
        Posting(ALICE, USDC, -5),
        Posting(VENUE_FEES, USDC, 5),
    )
    assert transfer(ALICE, VENUE_FEES, 0) == ()


def test_fill_postings_winning_fill_credits_pnl_down_and_charges_fee_up() -> None:
    # Act: +100.0000009 realized, fee 5.4398401.
    postings = fill_postings(ALICE, Decimal("100.0000009"), Decimal("5.4398401"))
    # Assert
    assert postings == (
        Posting(VENUE_PNL, USDC, -100_000_000),
        Posting(ALICE, USDC, 100_000_000),
        Posting(ALICE, USDC, -5_439_841),
        Posting(VENUE_FEES, USDC, 5_439_841),
    )


def test_fill_postings_losing_fill_pays_the_loss_rounded_up() -> None:
    postings = fill_postings(ALICE, Decimal("-0.0000001"), Decimal(0))
    assert postings == (Posting(VENUE_PNL, USDC, 1), Posting(ALICE, USDC, -1))


def test_funding_postings_long_paying_funding_moves_it_to_venue_funding() -> None:
    assert funding_postings(ALICE, Decimal("1.25")) == (
        Posting(ALICE, USDC, -1_250_000),
        Posting(VENUE_FUNDING, USDC, 1_250_000),
    )


def test_funding_postings_received_funding_rounds_down() -> None:
    postings = funding_postings(ALICE, Decimal("-1.2500009"))
    assert postings == (Posting(ALICE, USDC, 1_250_000), Posting(VENUE_FUNDING, USDC, -1_250_000))


def test_adjustment_postings_deposit_comes_from_admin_adjustments() -> None:
    assert adjustment_postings(ALICE, Decimal(10_000)) == (
        Posting(ADMIN_ADJUSTMENTS, USDC, -10_000_000_000),
        Posting(ALICE, USDC, 10_000_000_000),
    )


@given(amounts, amounts, amounts, st.decimals(min_value=-(10**9), max_value=10**9, places=6))
def test_postings_any_movement_balances(
    realized: Decimal, fee: Decimal, funding: Decimal, deposit: Decimal
) -> None:
    # Act
    movements = [
        fill_postings(ALICE, realized, fee),
        funding_postings(ALICE, funding),
        adjustment_postings(ALICE, deposit),
    ]
    # Assert: each movement balances on its own, hence so does the journal.
    assert all(balanced(movement) for movement in movements)
    assert balanced(posting for movement in movements for posting in movement)
