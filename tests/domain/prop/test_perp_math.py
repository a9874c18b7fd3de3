"""Perp math on Hyperliquid rules: the trading-math vectors, netting cases and invariants."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal, localcontext
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from domain.market.model import MarginTier, PerpSpec
from domain.prop.money import (
    USDC,
    VENUE_FEES,
    VENUE_PNL,
    Posting,
    adjustment_postings,
    balanced,
    charge_micros,
    collateral_account,
    credit_micros,
    fill_postings,
    funding_postings,
)
from domain.prop.perp_math import (
    CONTEXT,
    AssetMismatch,
    BadLeverage,
    BadMarginTiers,
    BadSlippage,
    Fill,
    NonPositivePrice,
    Position,
    Side,
    ZeroSize,
    account_value,
    apply_fill,
    cross_liquidation_price,
    fee,
    fill_price,
    flat_tiers,
    funding_payment,
    initial_margin,
    is_liquidatable,
    isolated_liquidation_price,
    liquidation_price,
    maintenance_margin,
    maintenance_required,
    portfolio_liquidation_price,
    reduce_only_size,
    tier_terms,
    tiers_of,
    unrealized_pnl,
)

BTC_TIERS = (MarginTier(Decimal(0), 40), MarginTier(Decimal(150_000_000), 20))
MICRO = Decimal("0.000001")
TINY = Decimal("1e-30")  # bound on the one inexact step, the weighted-average entry


def d(text: str | int) -> Decimal:
    return Decimal(text)


def cents(value: Decimal | None) -> Decimal:
    assert value is not None
    return value.quantize(d("0.01"), rounding=ROUND_HALF_UP)


def btc(size: str, entry: str = "100000") -> Position:
    return Position("BTC", d(size), d(entry))


def fill(size: str, price: str, asset: str = "BTC") -> Fill:
    return Fill(asset, d(size), d(price))


# --- trading-math 1.3: liquidation vectors ------------------------------------------------


def test_liquidation_isolated_long_at_10x_matches_the_notes_vector() -> None:
    # Arrange: 1 BTC @ 100,000, leverage 10 (IM 10,000), maxLeverage 40 (MM 1,250).
    margin = initial_margin(d(100_000), 10)
    # Act
    liq = isolated_liquidation_price(btc("1"), margin, flat_tiers(40))
    # Assert: 100,000 - 8,750 / 0.9875
    assert cents(liq) == d("91139.24")


def test_liquidation_isolated_short_at_10x_matches_the_notes_vector() -> None:
    liq = isolated_liquidation_price(btc("-1"), initial_margin(d(100_000), 10), flat_tiers(40))
    assert cents(liq) == d("108641.98")  # 100,000 + 8,750 / 1.0125


def test_liquidation_cross_with_account_value_20000_matches_the_notes_vector() -> None:
    liq = cross_liquidation_price(btc("1"), d(20_000), d(100_000), flat_tiers(40))
    assert cents(liq) == d("81012.66")  # 100,000 - 18,750 / 0.9875


def test_liquidation_isolated_long_equity_equals_maintenance_at_the_price() -> None:
    # Arrange
    position, margin = btc("1"), d(10_000)
    # Act
    liq = isolated_liquidation_price(position, margin, flat_tiers(40))
    # Assert: the notes' check, 10,000 + (liq - 100,000) == liq * 0.0125 (not the 91,250 shortcut)
    assert liq is not None
    assert abs(margin + unrealized_pnl(position, liq) - liq * d("0.0125")) < TINY


def test_liquidation_short_crossing_into_the_next_tier_uses_that_tiers_line() -> None:
    # Arrange: short 2,000 BTC @ 70,000 (140M, 40x tier), 20M cross collateral.
    position = btc("-2000", "70000")
    # Act
    liq = cross_liquidation_price(position, d(20_000_000), d(70_000), BTC_TIERS)
    # Assert: liq notional 157.9M is in the 20x tier; equity there is 20M - 2,000 * 8,963.41
    # = 2,073,170.73 = 157.9M * 2.5 % - 1.875M. The flat 40x answer would be 79,012.35.
    assert cents(liq) == d("78963.41")
    assert cents(cross_liquidation_price(position, d(20_000_000), d(70_000), flat_tiers(40))) == (
        d("79012.35")
    )


def test_liquidation_long_margin_covering_a_fall_to_zero_has_no_price() -> None:
    assert liquidation_price(btc("1"), d(200_000), flat_tiers(40)) is None


def test_liquidation_portfolio_prices_one_asset_with_the_others_at_their_marks() -> None:
    # Arrange: long 1 BTC and short 10 ETH (25x, mmr 2 %), both at entry, 20,000 collateral.
    eth = Position("ETH", d(-10), d(4_000))
    marks = {"BTC": d(100_000), "ETH": d(4_000)}
    tiers = {"BTC": flat_tiers(40), "ETH": flat_tiers(25)}
    # Act
    liq = portfolio_liquidation_price("BTC", d(20_000), [btc("1"), eth], marks, tiers)
    # Assert: available = 20,000 - 1,250 - 800; liq = 100,000 - 17,950 / 0.9875
    assert cents(liq) == d("81822.78")
    assert liq is not None
    at_liq = {**marks, "BTC": liq}
    equity = account_value(d(20_000), [btc("1"), eth], at_liq)
    assert abs(equity - maintenance_required([btc("1"), eth], at_liq, tiers)) < TINY


@given(
    size=st.decimals(min_value=d("0.001"), max_value=100, places=3),
    side=st.sampled_from([1, -1]),
    price=st.integers(min_value=100, max_value=200_000),
    available=st.decimals(min_value=-(10**6), max_value=10**7, places=2),
    bounds=st.lists(st.integers(1, 10**7), min_size=1, max_size=3, unique=True),
    leverages=st.lists(st.integers(1, 50), min_size=3, max_size=3),
)
def test_liquidation_tiered_price_solves_equity_equals_maintenance(
    size: Decimal,
    side: int,
    price: int,
    available: Decimal,
    bounds: list[int],
    leverages: list[int],
) -> None:
    # Arrange: a table whose bounds sit where random positions cross them.
    tiers = [MarginTier(d(0), leverages[0])] + [
        MarginTier(d(bound), lev) for bound, lev in zip(sorted(bounds), leverages[1:], strict=False)
    ]
    position, px = Position("BTC", side * size, d(price)), d(price)
    # Act
    liq = liquidation_price(position, available, tiers, price=px)
    # Assert: at liq, equity (moving side*|sz| per unit of price) equals tiered MM.
    with localcontext(CONTEXT):
        value = available + maintenance_margin(size * px, tiers)
        if liq is None:
            # No positive root: side * (equity - MM) is already >= 0 at price zero.
            assert side * (value - side * size * px) >= 0
            return
        equity = value + side * size * (liq - px)
        assert abs(equity - maintenance_margin(size * liq, tiers)) < TINY


# --- fees and funding ---------------------------------------------------------------------


def test_fee_arena_btc_taker_fill_formula_value() -> None:
    # Act: 0.12 BTC @ 113,330 at the >$5M taker rate 0.040 %.
    amount = fee(d("0.12"), d(113_330), d("0.0004"))
    # Assert: the formula gives 5.43984. The Arena record's 5.439832 is 0.0004 of 13,599.58:
    # the real (average) fill was about 113,329.83, shown rounded to 113,330 in the record.
    assert amount == d("5.43984")
    assert charge_micros(amount) == 5_439_840
    assert d("5.439832") / d("0.0004") == d("13599.58")
    assert fee(d("0.12"), d("113329.83"), d("0.0004")).quantize(MICRO) == d("5.439832")


def test_fee_arena_sol_maker_fill_formula_value() -> None:
    # 28.23 SOL @ 198.14 at 0.012 %: 0.671219064. The record's 0.671217 is 0.00012 of 5,593.475,
    # a real fill of about 198.1394 (again shown rounded).
    amount = fee(d("28.23"), d("198.14"), d("0.00012"))
    assert amount == d("0.671219064")
    assert charge_micros(amount) == 671_220
    assert fee(d("28.23"), d("198.1394"), d("0.00012")).quantize(MICRO) == d("0.671217")


def test_fee_sell_is_charged_on_the_magnitude() -> None:
    assert fee(d("-0.12"), d(113_330), d("0.0004")) == d("5.43984")


def test_funding_long_with_positive_rate_pays_the_notes_example() -> None:
    assert funding_payment(d(1), d(100_000), d("0.0000125")) == d("1.25")


def test_funding_short_with_positive_rate_receives() -> None:
    assert funding_payment(d(-1), d(100_000), d("0.0000125")) == d("-1.25")


@pytest.mark.parametrize(("rate", "payment"), [("0.1", "4000"), ("-0.5", "-4000")])
def test_funding_rate_beyond_four_percent_is_capped(rate: str, payment: str) -> None:
    assert funding_payment(d(1), d(100_000), d(rate)) == d(payment)


# --- fill pricing -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reference", "side", "bps", "size_decimals", "expected"),
    [
        ("100000", Side.BUY, "5", 5, "100050"),
        ("100000", Side.SELL, "5", 5, "99950"),
        ("3421.57", Side.BUY, "10", 4, "3425.0"),  # 3424.99157 up to one decimal
        ("3421.57", Side.SELL, "10", 4, "3418.1"),  # 3418.14843 down
        ("150.12", Side.BUY, "0", 2, "150.12"),
    ],
)
def test_fill_price_moves_adversely_then_onto_the_grid_adversely(
    reference: str, side: Side, bps: str, size_decimals: int, expected: str
) -> None:
    assert fill_price(d(reference), side, d(bps), size_decimals) == d(expected)


@pytest.mark.parametrize("bps", ["-1", "10000"])
def test_fill_price_slippage_out_of_range_is_rejected(bps: str) -> None:
    with pytest.raises(BadSlippage):
        fill_price(d(100), Side.SELL, d(bps), 2)


# --- netting ------------------------------------------------------------------------------


def test_apply_fill_on_flat_book_opens_at_the_fill_price() -> None:
    effect = apply_fill(None, fill("0.5", "100000"))
    assert effect.position == btc("0.5")
    assert (effect.realized_pnl, effect.closed_size, effect.opened_size) == (d(0), d(0), d("0.5"))


def test_apply_fill_increase_averages_the_entry() -> None:
    effect = apply_fill(btc("1", "100000"), fill("3", "104000"))
    assert effect.position == btc("4", "103000")
    assert effect.realized_pnl == 0


def test_apply_fill_partial_close_of_a_long_realizes_and_keeps_the_entry() -> None:
    effect = apply_fill(btc("2", "100000"), fill("-0.5", "110000"))
    assert effect.position == btc("1.5", "100000")
    assert effect.realized_pnl == d(5_000)
    assert (effect.closed_size, effect.opened_size) == (d("0.5"), d(0))


def test_apply_fill_partial_close_of_a_short_at_a_higher_price_loses() -> None:
    effect = apply_fill(btc("-2", "100000"), fill("1", "101000"))
    assert effect.position == btc("-1", "100000")
    assert effect.realized_pnl == d(-1_000)


def test_apply_fill_closing_to_zero_leaves_no_position() -> None:
    effect = apply_fill(btc("1", "100000"), fill("-1", "90000"))
    assert effect.position is None
    assert effect.realized_pnl == d(-10_000)


def test_apply_fill_flip_realizes_the_closed_part_and_opens_the_rest_at_the_fill() -> None:
    # Act: long 1 @ 100,000 sells 3 @ 105,000.
    effect = apply_fill(btc("1", "100000"), fill("-3", "105000"))
    # Assert: +5,000 on the closed 1, then short 2 @ 105,000.
    assert effect.position == btc("-2", "105000")
    assert effect.realized_pnl == d(5_000)
    assert (effect.closed_size, effect.opened_size) == (d(1), d(2))


def test_apply_fill_other_asset_is_rejected() -> None:
    with pytest.raises(AssetMismatch):
        apply_fill(btc("1"), fill("1", "3000", asset="ETH"))


def test_position_zero_size_and_non_positive_price_are_rejected() -> None:
    with pytest.raises(ZeroSize):
        btc("0")
    with pytest.raises(NonPositivePrice):
        btc("1", "0")


@pytest.mark.parametrize(
    ("position", "size", "allowed"),
    [(None, "1", "0"), (btc("1"), "0.5", "0"), (btc("1"), "-0.4", "-0.4"),
     (btc("1"), "-3", "-1"), (btc("-2"), "5", "2")],
)  # fmt: skip
def test_reduce_only_size_clamps_to_the_closing_part(
    position: Position | None, size: str, allowed: str
) -> None:
    assert reduce_only_size(position, d(size)) == d(allowed)


# --- margin -------------------------------------------------------------------------------


def test_initial_margin_is_notional_over_leverage() -> None:
    assert initial_margin(d(100_000), 10) == d(10_000)
    with pytest.raises(BadLeverage):
        initial_margin(d(100_000), 0)


@pytest.mark.parametrize(
    ("notional", "expected"),
    [("100000", "1250"), ("150000000", "1875000"), ("200000000", "3125000")],
)
def test_maintenance_margin_btc_table_values(notional: str, expected: str) -> None:
    # 40x (1.25 %) to 150M then 20x (2.5 %) minus the deduction 150M * 1.25 % = 1.875M.
    assert maintenance_margin(d(notional), BTC_TIERS) == d(expected)


def test_maintenance_margin_btc_table_is_continuous_at_the_tier_bound() -> None:
    # Arrange
    below, at = tier_terms(BTC_TIERS)
    # Act / Assert: the lower tier's line and the upper tier's agree at 150M.
    assert below.margin(d(150_000_000)) == at.margin(d(150_000_000))


@given(
    bounds=st.lists(st.integers(1, 10**9), min_size=1, max_size=5, unique=True),
    leverages=st.lists(st.integers(1, 100), min_size=6, max_size=6),
)
def test_maintenance_margin_any_table_is_continuous_and_non_decreasing(
    bounds: list[int], leverages: list[int]
) -> None:
    # Arrange
    tiers = [MarginTier(d(0), leverages[0])] + [
        MarginTier(d(b), lev) for b, lev in zip(sorted(bounds), leverages[1:], strict=False)
    ]
    terms = tier_terms(tiers)
    # Act / Assert
    for lower, upper in pairwise(terms):
        assert abs(lower.margin(upper.lower_bound) - upper.margin(upper.lower_bound)) < TINY
    samples = sorted({d(0), *(d(b) for b in bounds), *(d(b) + d("0.5") for b in bounds)})
    margins = [maintenance_margin(n, tiers) for n in samples]
    assert all(a <= b + TINY for a, b in pairwise(margins))


def test_margin_tiers_must_start_at_zero_and_ascend() -> None:
    with pytest.raises(BadMarginTiers):
        maintenance_margin(d(1), [MarginTier(d(10), 40)])
    with pytest.raises(BadMarginTiers):
        maintenance_margin(d(1), [MarginTier(d(0), 40), MarginTier(d(0), 20)])


def test_tiers_of_spec_without_table_is_flat_at_max_leverage() -> None:
    spec = PerpSpec("XYZ", 9, 2, 10, ())
    assert tiers_of(spec) == flat_tiers(10)


def test_is_liquidatable_strictly_below_maintenance_only() -> None:
    # Arrange: long 1 BTC @ 100,000 with 10,000 collateral; liquidation at 91,139.24...
    tiers = {"BTC": flat_tiers(40)}
    # Act / Assert
    assert not is_liquidatable(d(10_000), [btc("1")], {"BTC": d("91139.25")}, tiers)
    assert is_liquidatable(d(10_000), [btc("1")], {"BTC": d("91139.24")}, tiers)


# --- invariants -----------------------------------------------------------------------------

sizes = st.decimals(min_value=d("-5"), max_value=d("5"), places=3).filter(lambda s: s != 0)
prices = st.integers(min_value=1, max_value=10**7).map(lambda c: d(c).scaleb(-2))
rates = st.decimals(min_value=d("-0.0002"), max_value=d("0.001"), places=6)


@given(size=sizes, price=prices, rate=rates)
def test_round_trip_at_one_price_costs_exactly_the_two_fees(
    size: Decimal, price: Decimal, rate: Decimal
) -> None:
    # Arrange
    alice = collateral_account("alice")
    opened = apply_fill(None, Fill("BTC", size, price))
    # Act
    closed = apply_fill(opened.position, Fill("BTC", -size, price))
    postings = [
        *fill_postings(alice, opened.realized_pnl, fee(size, price, rate)),
        *fill_postings(alice, closed.realized_pnl, fee(size, price, rate)),
    ]
    # Assert
    assert closed.position is None
    assert closed.realized_pnl == 0
    assert _balance(postings, alice) == -2 * charge_micros(fee(size, price, rate))


positions = st.builds(
    Position,
    asset=st.sampled_from(["BTC", "ETH", "SOL"]),
    size=sizes,
    entry_price=prices,
)


@given(
    collateral=st.decimals(min_value=-(10**6), max_value=10**7, places=6),
    held=st.lists(positions, max_size=3, unique_by=lambda p: p.asset),
    marks=st.fixed_dictionaries({"BTC": prices, "ETH": prices, "SOL": prices}),
)
def test_account_value_is_collateral_plus_unrealized(
    collateral: Decimal, held: list[Position], marks: dict[str, Decimal]
) -> None:
    # Arrange: uPnL computed independently as mark value minus entry value.
    expected = collateral + sum(
        (p.size * marks[p.asset] - p.size * p.entry_price for p in held), start=d(0)
    )
    # Act / Assert
    assert account_value(collateral, held, marks) == expected


@given(position=st.none() | positions.map(lambda p: btc(str(p.size), str(p.entry_price))),
       size=sizes, price=prices)  # fmt: skip
def test_reduce_only_fill_never_grows_or_flips_the_position(
    position: Position | None, size: Decimal, price: Decimal
) -> None:
    # Act
    allowed = reduce_only_size(position, size)
    # Assert
    if allowed == 0:
        return
    assert position is not None
    after = apply_fill(position, Fill("BTC", allowed, price)).position
    assert after is None or (after.side is position.side and abs(after.size) < abs(position.size))


@given(fills=st.lists(st.tuples(sizes, prices), min_size=1, max_size=30), mark=prices)
def test_fill_sequence_pnl_equals_independent_cash_flows(
    fills: Sequence[tuple[Decimal, Decimal]], mark: Decimal
) -> None:
    with localcontext(CONTEXT):  # the test's own sums must not round at 28 digits
        # Arrange: cash flows computed without netting: pay size*price per fill, hold sum(size).
        cash = -sum((size * price for size, price in fills), start=d(0))
        held = sum((size for size, _ in fills), start=d(0))
        # Act
        position, realized = None, d(0)
        for size, price in fills:
            effect = apply_fill(position, Fill("BTC", size, price))
            position, realized = effect.position, realized + effect.realized_pnl
        unrealized = unrealized_pnl(position, mark) if position else d(0)
        # Assert
        assert (position.size if position else d(0)) == held
        assert abs(realized + unrealized - (cash + held * mark)) < TINY


def _balance(postings: Sequence[Posting], account: str) -> int:
    return sum(p.amount_micros for p in postings if p.account == account)


class PropLedgerMachine(RuleBasedStateMachine):
    """Deposits, fills and funding on one account: the journal always balances."""

    def __init__(self) -> None:
        super().__init__()
        self.account = collateral_account("alice")
        self.journal: list[Posting] = []
        self.position: Position | None = None
        self.expected_collateral = 0
        self.realized_micros = 0
        self.fee_micros = 0

    @rule(amount=st.integers(min_value=1, max_value=10**6))
    def deposit(self, amount: int) -> None:
        self.journal += adjustment_postings(self.account, d(amount))
        self.expected_collateral += amount * 1_000_000

    @rule(size=sizes, price=prices, rate=rates)
    def trade(self, size: Decimal, price: Decimal, rate: Decimal) -> None:
        effect = apply_fill(self.position, Fill("BTC", size, price))
        self.position = effect.position
        self.journal += fill_postings(self.account, effect.realized_pnl, fee(size, price, rate))
        self.realized_micros += credit_micros(effect.realized_pnl)
        self.expected_collateral += credit_micros(effect.realized_pnl)
        self.expected_collateral -= charge_micros(fee(size, price, rate))
        self.fee_micros += charge_micros(fee(size, price, rate))

    @rule(oracle=prices, rate=st.decimals(min_value=d("-0.05"), max_value=d("0.05"), places=7))
    def settle_funding(self, oracle: Decimal, rate: Decimal) -> None:
        if self.position is None:
            return
        payment = funding_payment(self.position.size, oracle, rate)
        self.journal += funding_postings(self.account, payment)
        self.expected_collateral -= charge_micros(payment)

    @invariant()
    def journal_balances(self) -> None:
        assert balanced(self.journal)

    @invariant()
    def collateral_is_the_fold_of_its_movements(self) -> None:
        assert _balance(self.journal, self.account) == self.expected_collateral
        assert _balance(self.journal, VENUE_PNL) == -self.realized_micros
        assert _balance(self.journal, VENUE_FEES) == self.fee_micros
        assert all(p.currency == USDC for p in self.journal)


TestPropLedgerMachine = PropLedgerMachine.TestCase
