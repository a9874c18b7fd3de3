"""The prop ledger through its Python API, on the in-memory store and a simulated clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID

import pytest

from domain.clock import SimulatedClock
from domain.market.instruments import Instrument
from domain.market.model import MarginTier, PerpSpec
from domain.prop.application import PropLedger
from domain.prop.errors import AccountNotOpen, OrderConflict
from domain.prop.money import Posting, balanced
from domain.prop.orders import MarketOrder
from domain.prop.positions import Side
from domain.prop.rules import Purpose, RuleSet

T0 = datetime(2021, 7, 3, tzinfo=UTC)
D = Decimal


def _instrument(name: str, size_decimals: int, max_leverage: int, delisted: bool = False):
    spec = PerpSpec(
        name, 0, size_decimals, max_leverage, (MarginTier(D(0), max_leverage),), delisted=delisted
    )
    return Instrument(spec, 1, T0, D("0.00045"), D("0.00015"), D("10"))


class FixedMarket:
    """Instruments and marks from a table the test sets."""

    def __init__(self) -> None:
        self.instruments = {
            "BTC": _instrument("BTC", 5, 40),
            "ETH": _instrument("ETH", 4, 25),
            "SOL": _instrument("SOL", 2, 20),
            "DOGE": _instrument("DOGE", 0, 10, delisted=True),
        }
        self.marks = {"BTC": D("100000"), "ETH": D("3000"), "SOL": D("150"), "DOGE": D("0.2")}

    def instrument(self, asset: str, at: datetime) -> Instrument | None:
        return self.instruments.get(asset)

    def mark(self, asset: str, at: datetime) -> Decimal | None:
        return self.marks.get(asset)


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(T0)


@pytest.fixture
def market() -> FixedMarket:
    return FixedMarket()


@pytest.fixture
def ledger(clock: SimulatedClock, market: FixedMarket) -> PropLedger:
    app = PropLedger(clock=clock)
    app.bind_market(market)
    return app


RULES = RuleSet(
    allowed_assets=("BTC", "ETH", "SOL", "DOGE"),
    max_leverage=20,
    max_position_notional_micros={"ETH": 50_000_000_000},
    max_open_positions=2,
    slippage_bps=D("5"),
)


def _open(ledger: PropLedger, collateral: int = 10_000_000_000) -> UUID:
    return ledger.open_account(
        cause="test:1",
        owner="user-1",
        purpose=Purpose.SANDBOX,
        rules=RULES,
        collateral_micros=collateral,
    )


def _order(
    cid: str = "o1",
    asset: str = "BTC",
    side: Side = Side.BUY,
    size: str = "0.1",
    leverage: int = 10,
    **extra: object,
) -> MarketOrder:
    return MarketOrder(cid, asset, side, D(size), leverage, **extra)  # type: ignore[arg-type]


def _postings(ledger: PropLedger, account_id: UUID) -> list[Posting]:
    return [Posting(*p) for e in ledger.events.get(account_id) for p in getattr(e, "postings", [])]


def test_open_is_idempotent_by_cause(ledger: PropLedger) -> None:
    first, second = _open(ledger), _open(ledger)
    account = ledger.account(first)
    assert first == second
    assert account.version == 1
    assert account.collateral == D("10000")


def test_buy_fills_at_slipped_grid_price_and_pays_taker_fee(ledger: PropLedger) -> None:
    account_id = _open(ledger)
    outcome = ledger.submit_order(account_id, _order())
    account = ledger.account(account_id)
    fill = list(ledger.events.get(account_id))[-1]
    assert outcome.status == "filled"
    assert fill.fill_price == D("100050")  # 100,000 + 5 bps, rounded up to the grid
    assert fill.fee_micros == 4_502_250  # 0.1 * 100,050 * 0.00045 = 4.50225
    assert account.positions["BTC"]["size"] == D("0.1")
    assert account.collateral == D("10000") - D("4.50225")


def test_event_timestamps_come_from_the_market_clock(ledger: PropLedger, clock) -> None:
    account_id = _open(ledger)
    clock.advance(timedelta(minutes=5))
    ledger.submit_order(account_id, _order())
    stamps = [e.timestamp for e in ledger.events.get(account_id)]
    assert stamps == [T0, T0 + timedelta(minutes=5)]


@pytest.mark.parametrize(
    ("order", "reason"),
    [
        (_order(asset="XRP"), "asset_not_allowed"),
        (_order(asset="DOGE", size="100"), "asset_not_allowed"),
        (_order(size="0.000001"), "size_precision"),
        (_order(stop_loss=D("95000.5")), "price_precision"),
        (_order(leverage=25), "leverage_above_limit"),
        (_order(leverage=0), "leverage_above_limit"),
        (_order(side=Side.SELL, reduce_only=True), "reduce_only_would_increase"),
        (_order(size="0.00009"), "below_min_notional"),
        (_order(asset="ETH", size="20"), "position_notional_limit"),
        (_order(size="2", leverage=10), "insufficient_margin"),
    ],
)
def test_gate_rejects_with_reason_and_records_it(
    ledger: PropLedger, order: MarketOrder, reason: str
) -> None:
    account_id = _open(ledger)
    outcome = ledger.submit_order(account_id, order)
    account = ledger.account(account_id)
    assert (outcome.status, outcome.reason) == ("rejected", reason)
    assert account.collateral == D("10000")
    assert account.positions == {}


def test_max_open_positions_gate(ledger: PropLedger) -> None:
    account_id = _open(ledger)
    ledger.submit_order(account_id, _order("a", "BTC"))
    ledger.submit_order(account_id, _order("b", "ETH", size="1"))
    assert ledger.submit_order(account_id, _order("c", "SOL", size="1")).reason == (
        "max_open_positions"
    )


def test_frozen_and_closed_accounts_reject_orders(ledger: PropLedger) -> None:
    account_id = _open(ledger)
    ledger.freeze(account_id, reason="review", admin="admin-1")
    assert ledger.submit_order(account_id, _order("a")).reason == "account_frozen"
    ledger.unfreeze(account_id, reason="cleared", admin="admin-1")
    ledger.close_account(account_id, reason="done", admin="admin-1")
    assert ledger.submit_order(account_id, _order("b")).reason == "account_closed"
    with pytest.raises(AccountNotOpen):
        ledger.freeze(account_id, reason="again", admin="admin-1")


def test_retried_client_order_id_returns_first_outcome(ledger: PropLedger) -> None:
    account_id = _open(ledger)
    first = ledger.submit_order(account_id, _order())
    again = ledger.submit_order(account_id, _order())
    assert again == first
    assert ledger.account(account_id).version == 2
    with pytest.raises(OrderConflict):
        ledger.submit_order(account_id, _order(size="0.2"))


def test_partial_close_realizes_pnl_then_flip_opens_rest(
    ledger: PropLedger, market: FixedMarket
) -> None:
    account_id = _open(ledger)
    ledger.submit_order(account_id, _order("open", size="0.2"))  # fills at 100,050
    market.marks["BTC"] = D("110000")
    ledger.submit_order(account_id, _order("half", side=Side.SELL, size="0.1"))  # 109,945
    account = ledger.account(account_id)
    assert account.positions["BTC"]["size"] == D("0.1")
    assert account.realized_micros == 989_500_000  # (109,945 - 100,050) * 0.1
    ledger.submit_order(account_id, _order("flip", side=Side.SELL, size="0.3"))
    flipped = ledger.account(account_id).positions["BTC"]
    assert flipped["size"] == D("-0.2")
    assert flipped["entry_price"] == D("109945")


def test_stop_loss_fires_at_gapped_mark(ledger: PropLedger, clock) -> None:
    account_id = _open(ledger)
    ledger.submit_order(account_id, _order(stop_loss=D("95000"), take_profit=D("120000")))
    clock.advance(timedelta(minutes=5))
    fired = ledger.apply_marks(account_id, {"BTC": D("94000")})
    account = ledger.account(account_id)
    fill = list(ledger.events.get(account_id))[-1]
    assert fired == ["stop_loss:BTC"]
    assert (fill.origin, fill.fill_price) == ("stop_loss", D("94000"))
    assert account.positions == {}


def test_take_profit_fires_at_trigger(ledger: PropLedger) -> None:
    account_id = _open(ledger)
    ledger.submit_order(account_id, _order(take_profit=D("120000")))
    assert ledger.apply_marks(account_id, {"BTC": D("120000")}) == ["take_profit:BTC"]
    assert list(ledger.events.get(account_id))[-1].fill_price == D("120000")


def test_liquidation_closes_at_mark_below_maintenance(ledger: PropLedger) -> None:
    account_id = _open(ledger, collateral=1_100_000_000)  # 1,100 USDC
    ledger.submit_order(account_id, _order(size="0.1", leverage=10))  # ~10,005 notional
    fired = ledger.apply_marks(account_id, {"BTC": D("90000")})  # loses ~1,005
    account = ledger.account(account_id)
    assert fired == ["liquidation"]
    assert account.positions == {}
    assert account.liquidations == 1


def test_funding_applies_once_per_period_and_longs_pay(ledger: PropLedger) -> None:
    account_id = _open(ledger)
    ledger.submit_order(account_id, _order(size="1", leverage=20))
    period = T0 + timedelta(hours=1)
    args = {"asset": "BTC", "period": period, "rate": D("0.0000125"), "oracle_price": D("100000")}
    assert ledger.apply_funding(account_id, **args) is True
    assert ledger.apply_funding(account_id, **args) is False
    assert ledger.account(account_id).funding_micros == 1_250_000


def test_admin_adjust_and_close_all(ledger: PropLedger) -> None:
    account_id = _open(ledger)
    ledger.submit_order(account_id, _order())
    ledger.adjust(account_id, amount=D("-1.5"), reason="fee correction", admin="admin-1")
    assert ledger.close_all(account_id, admin="admin-1") == 1
    account = ledger.account(account_id)
    assert account.positions == {}
    assert account.adjustments_micros == -1_500_000


def test_postings_balance_and_collateral_is_their_fold(
    ledger: PropLedger, market: FixedMarket
) -> None:
    account_id = _open(ledger)
    ledger.submit_order(account_id, _order("a", size="0.3"))
    market.marks["BTC"] = D("97000")
    ledger.submit_order(account_id, _order("b", side=Side.SELL, size="0.5"))
    ledger.apply_funding(
        account_id, asset="BTC", period=T0, rate=D("0.0001"), oracle_price=D("97000")
    )
    postings = _postings(ledger, account_id)
    mine = sum(
        p.amount_micros
        for p in postings
        if p.account.endswith(":collateral") and p.account.startswith("prop:")
    )
    assert balanced(postings)
    assert ledger.account(account_id).collateral_micros == mine


def test_flip_through_zero_passes_the_margin_gate(ledger: PropLedger) -> None:
    account_id = _open(ledger)
    ledger.submit_order(account_id, _order("long", size="0.1"))
    outcome = ledger.submit_order(account_id, _order("flip", side=Side.SELL, size="5"))
    assert (outcome.status, outcome.reason) == ("rejected", "insufficient_margin")


def test_deep_liquidation_leaves_no_debt_and_no_margin(ledger: PropLedger) -> None:
    account_id = _open(ledger, collateral=20_045_000_000)
    ledger.submit_order(account_id, _order(size="1", leverage=10, reference_price=D("100000")))
    ledger.apply_marks(account_id, {"BTC": D("70000")})  # value far below 2/3 maintenance
    account = ledger.account(account_id)
    postings = _postings(ledger, account_id)
    assert account.positions == {}
    assert account.collateral_micros == 0
    assert balanced(postings)


def test_close_all_without_a_mark_is_a_clear_error(ledger: PropLedger, market: FixedMarket) -> None:
    from domain.prop.errors import InvalidCommand

    account_id = _open(ledger)
    ledger.submit_order(account_id, _order())
    del market.marks["BTC"]
    with pytest.raises(InvalidCommand):
        ledger.close_all(account_id, admin="admin-1")


def test_close_position_flattens_with_a_reduce_only_order(ledger: PropLedger) -> None:
    account_id = _open(ledger)
    ledger.submit_order(account_id, _order(size="0.3"))
    outcome = ledger.close_position(account_id, "BTC", client_order_id="close-1")
    assert outcome.status == "filled"
    assert ledger.account(account_id).positions == {}
    flat = ledger.close_position(account_id, "BTC", client_order_id="close-2")
    assert (flat.status, flat.reason) == ("rejected", "reduce_only_would_increase")


def test_reducing_order_keeps_stops_and_leverage(ledger: PropLedger) -> None:
    account_id = _open(ledger)
    ledger.submit_order(
        account_id,
        _order("open", size="0.02", leverage=10, stop_loss=D("90000"), take_profit=D("120000")),
    )
    ledger.submit_order(
        account_id, _order("trim", side=Side.SELL, size="0.01", leverage=1, reduce_only=True)
    )
    held = ledger.account(account_id).positions["BTC"]
    assert (held["stop_loss"], held["take_profit"], held["leverage"]) == (
        D("90000"),
        D("120000"),
        10,
    )
