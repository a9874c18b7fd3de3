"""Risk sizing: sizes floored to the grid, exits rounded towards the mark, house rules."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

from domain.market.instruments import Instrument, is_valid_price
from domain.market.model import MarginTier, PerpSpec
from domain.prop.positions import Side
from domain.trading.actions import Action
from domain.trading.sizing import PlannedOrder, SkippedAction, exit_price, plan_orders
from domain.trading.spec import RiskLimits

D = Decimal
T0 = datetime(2021, 7, 3, tzinfo=UTC)
DECISION = UUID("00000000-0000-0000-0000-0000000000d1")


def _instrument(name: str, size_decimals: int, max_leverage: int) -> Instrument:
    spec = PerpSpec(name, 0, size_decimals, max_leverage, (MarginTier(D(0), max_leverage),))
    return Instrument(spec, 1, T0, D("0.00045"), D("0.00015"), D("10"))


INSTRUMENTS = {"BTC": _instrument("BTC", 5, 40), "ETH": _instrument("ETH", 4, 25)}
MARKS = {"BTC": D("33456.7"), "ETH": D("2150.35")}
RISK = RiskLimits(D("0.1"), 3, D("2"), D("4"), 1)


def _plan(actions: list[Action], positions: dict[str, Decimal] | None = None, risk=RISK):
    return plan_orders(
        actions,
        decision_id=DECISION,
        equity=D("10000"),
        positions=positions or {},
        marks=MARKS,
        instruments=INSTRUMENTS,
        risk=risk,
    )


def test_an_entry_is_sized_from_equity_fraction_and_leverage_and_floored() -> None:
    [plan] = _plan([Action("BTC", "open_long")])
    assert isinstance(plan, PlannedOrder)
    order = plan.order
    # 10,000 x 0.1 x 3 / 33,456.7 = 0.0896682... floored to 5 decimals
    assert order.size == D("0.08966")
    assert order.side is Side.BUY
    assert order.leverage == 3
    assert order.client_order_id == f"{DECISION}:BTC"
    assert order.stop_loss == D("32788")  # 32,787.566 rounded up, towards the mark
    assert order.take_profit == D("34794")  # 34,794.968 rounded down, towards the mark


def test_a_short_mirrors_its_exits() -> None:
    [plan] = _plan([Action("ETH", "open_short")])
    assert isinstance(plan, PlannedOrder)
    assert plan.order.side is Side.SELL
    assert plan.order.stop_loss == D("2193.3")  # 2,193.357 down, towards the mark
    assert plan.order.take_profit == D("2064.4")  # 2,064.336 up, towards the mark


def test_exit_prices_are_on_the_grid_and_never_further_than_asked() -> None:
    for mark in (D("33456.7"), D("0.123456"), D("2150.35"), D("99999")):
        for pct in (D("0.5"), D("2"), D("7.25")):
            for long in (True, False):
                for profit in (True, False):
                    price = exit_price(mark, pct, long, profit, 2)
                    assert price is not None
                    assert is_valid_price(price, 2)
                    assert abs(price - mark) <= mark * pct / 100


def test_the_model_may_ask_less_but_never_more_than_the_caps() -> None:
    [plan] = _plan([Action("BTC", "open_long", size_fraction=D("0.05"), leverage=2)])
    assert isinstance(plan, PlannedOrder)
    assert plan.order.size == D("0.02988")  # 10,000 x 0.05 x 2 / 33,456.7 = 0.029889...
    assert plan.order.leverage == 2


def test_no_pyramiding_and_no_close_without_a_position() -> None:
    plans = _plan([Action("BTC", "open_long"), Action("ETH", "close")], {"BTC": D("0.1")})
    reasons = {p.action.asset: p.reason for p in plans if isinstance(p, SkippedAction)}
    assert reasons == {"BTC": "position_exists", "ETH": "no_position"}


def test_closes_come_first_and_free_a_position_slot() -> None:
    plans = _plan([Action("ETH", "open_long"), Action("BTC", "close")], {"BTC": D("-0.5")})
    assert [type(p) for p in plans] == [PlannedOrder, PlannedOrder]
    close, entry = plans
    assert isinstance(close, PlannedOrder)
    assert isinstance(entry, PlannedOrder)
    assert (close.order.asset, close.order.side, close.order.size) == ("BTC", Side.BUY, D("0.5"))
    assert close.order.reduce_only
    assert entry.order.asset == "ETH"


def test_entries_beyond_max_open_positions_are_skipped() -> None:
    plans = _plan([Action("BTC", "open_long"), Action("ETH", "open_long")])
    assert isinstance(plans[0], PlannedOrder)
    assert isinstance(plans[1], SkippedAction)
    assert plans[1].reason == "max_open_positions"


def test_a_size_that_floors_to_zero_is_skipped() -> None:
    tiny = RiskLimits(D("0.0000001"), 1)
    [plan] = _plan([Action("BTC", "open_long")], risk=tiny)
    assert isinstance(plan, SkippedAction)
    assert plan.reason == "size_below_grid"
