"""Property tests of the prop ledger (STYLE rule 20), through ``PropLedger`` on the POPO store.

The state machine drives ONE account with random commands (orders that pass and fail the
gates, idempotent retries and conflicting client order ids, mark moves that fire stops and
liquidations, funding, admin actions) and checks after every step: postings balance; the
collateral is the fold of its postings and of the totals (backstop settlements included);
replay == live state == incremental projection; a rejected order changes no money or
position; a reduce-only fill never grows or flips a position; no float anywhere; equity is
collateral plus unrealized PnL. Plain ``@given`` tests pin the fill path: a zero-slippage
round trip costs exactly its two fees, equity at arbitrary marks, and a flip passes the margin
gate.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Callable
from dataclasses import is_dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_CEILING, Decimal, localcontext
from functools import partial
from typing import Any
from uuid import UUID

import pytest
from hypothesis import event, example, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from domain.clock import SimulatedClock
from domain.market.instruments import (
    Instrument,
    Rounding,
    allowed_price_decimals,
    floor_size,
    quantize_price,
)
from domain.market.model import MarginTier, PerpSpec
from domain.prop.account import PropAccount
from domain.prop.application import PropLedger
from domain.prop.errors import AccountNotOpen, InvalidCommand, OrderConflict
from domain.prop.money import (
    ADMIN_ADJUSTMENTS,
    USDC,
    VENUE_FEES,
    VENUE_FUNDING,
    VENUE_PNL,
    InexactAmount,
    Posting,
    balanced,
    charge_micros,
    collateral_account,
    micros_to_decimal,
)
from domain.prop.orders import MarketOrder
from domain.prop.positions import CONTEXT, Side
from domain.prop.rules import Purpose, RuleSet
from domain.prop.trading import TREASURY, VENUE_BACKSTOP, OrderOutcome
from domain.prop.valuation import value_account

T0 = datetime(2024, 3, 1, tzinfo=UTC)
D = Decimal
ASSETS = ("BTC", "ETH", "SOL")
BASE_MARKS = {"BTC": D("100000"), "ETH": D("3000"), "SOL": D("150")}
# An on-grid size worth about 10 USDC at the base mark (the minimum notional).
UNITS = {"BTC": D("0.0001"), "ETH": D("0.0034"), "SOL": D("0.07")}
TAKER = D("0.00045")


def _instrument(name: str, size_decimals: int, max_leverage: int, *tiers: MarginTier) -> Instrument:
    spec = PerpSpec(
        name, 0, size_decimals, max_leverage, tiers or (MarginTier(D(0), max_leverage),)
    )
    return Instrument(spec, 1, T0, TAKER, D("0.00015"), D("10"))


INSTRUMENTS = {
    "BTC": _instrument("BTC", 5, 40, MarginTier(D(0), 40), MarginTier(D(150_000), 20)),
    "ETH": _instrument("ETH", 4, 25, MarginTier(D(0), 25), MarginTier(D(100_000), 10)),
    "SOL": _instrument("SOL", 2, 20),
}


class FixedMarket:
    """Instruments and marks from a table the test sets (the MarketView port)."""

    def __init__(self) -> None:
        self.marks = dict(BASE_MARKS)

    def instrument(self, asset: str, at: datetime) -> Instrument | None:
        return INSTRUMENTS.get(asset)

    def mark(self, asset: str, at: datetime) -> Decimal | None:
        return self.marks.get(asset)


class RecordingLedger(PropLedger):
    """The real ledger, keeping the last aggregate each command saved: the live state."""

    def __init__(self, *, clock: SimulatedClock) -> None:
        super().__init__(clock=clock)
        self.live: dict[UUID, PropAccount] = {}

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        for obj in objs:
            if isinstance(obj, PropAccount):
                self.live[obj.id] = obj
        return super().save(*objs, **kwargs)


MACHINE_RULES = RuleSet(
    allowed_assets=ASSETS,
    max_leverage=20,
    max_position_notional_micros={"ETH": 15_000_000_000},
    max_open_positions=2,
    slippage_bps=D("5"),
)


def size_decimals(asset: str) -> int:
    return INSTRUMENTS[asset].spec.size_decimals


def on_grid(price: Decimal, asset: str) -> Decimal:
    """``price`` moved down onto the asset's price grid."""
    return quantize_price(price, size_decimals(asset), Rounding.DOWN)


def off_grid(price: Decimal, asset: str) -> Decimal:
    """A price one digit finer than the grid allows (a precision-gate reject)."""
    gridded = on_grid(price, asset)
    decimals = allowed_price_decimals(gridded, size_decimals(asset))
    return gridded + D(1).scaleb(-(decimals + 1))


def totals(account: PropAccount) -> dict[str, Any]:
    """Money and positions of an account (what a rejected order must not touch)."""
    return {
        "collateral": account.collateral_micros,
        "fees": account.fees_micros,
        "funding": account.funding_micros,
        "realized": account.realized_micros,
        "adjustments": account.adjustments_micros,
        "liquidations": account.liquidations,
        "backstop": account.backstop_micros,
        "positions": copy.deepcopy(account.positions),
    }


def state_of(account: PropAccount) -> dict[str, Any]:
    """Everything an aggregate holds (bar the pending events, emptied on save)."""
    return {k: v for k, v in vars(account).items() if k != "_pending_events"}


PLAIN = (int, str, UUID, datetime, type(None))  # bool is an int


def assert_no_float(value: object, name: str) -> None:
    """Walk ``value``: only finite Decimal, int, bool, str, None, UUID, datetime, containers."""
    stack: list[tuple[object, tuple[object, ...]]] = [(value, (name,))]
    while stack:
        item, path = stack.pop()
        if isinstance(item, Decimal):
            assert item.is_finite(), f"{path}: {item!r} is not finite"
        elif isinstance(item, PLAIN):
            continue
        elif isinstance(item, dict):
            stack += [(key, (*path, "key")) for key in item]
            stack += [(v, (*path, key)) for key, v in item.items()]
        elif isinstance(item, list | tuple | set | frozenset):
            stack += [(v, (*path, index)) for index, v in enumerate(item)]
        elif is_dataclass(item) and not isinstance(item, type):
            stack.append((vars(item), (*path, type(item).__name__)))
        else:
            raise AssertionError(f"{path}: {item!r} has type {type(item).__name__}")


def unrealized_sum(account: PropAccount, marks: dict[str, Decimal]) -> Decimal:
    """Sum of ``size * (mark - entry)``; a position without a mark counts at its entry."""
    with localcontext(CONTEXT):
        return sum(
            (
                p["size"] * (marks.get(a, p["entry_price"]) - p["entry_price"])
                for a, p in account.positions.items()
            ),
            start=D(0),
        )


def abs_size(account: PropAccount, asset: str) -> Decimal:
    held = account.positions.get(asset)
    return abs(held["size"]) if held else D(0)


seconds = st.integers(min_value=1, max_value=3_600)
assets = st.sampled_from(ASSETS)
sides = st.sampled_from(Side)
size_kinds = st.sampled_from(["grid"] * 6 + ["tiny", "off_grid"])
units = st.one_of(st.integers(1, 40), st.integers(40, 2_500))
price_kinds = st.sampled_from(["none"] * 5 + ["on_grid"] * 4 + ["off_grid"])
price_offsets = st.integers(min_value=-30, max_value=30)  # percent from the mark


class LedgerMachine(RuleBasedStateMachine):
    """Random commands on one account of a real PropLedger (POPO store, simulated clock)."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = SimulatedClock(T0)
        self.market = FixedMarket()
        self.ledger = RecordingLedger(clock=self.clock)
        self.ledger.bind_market(self.market)
        self.account_id: UUID | None = None
        self.initial_micros = 0
        self.projection: PropAccount | None = None
        self.submitted: dict[str, tuple[MarketOrder, OrderOutcome]] = {}
        # This step's submits: (order, totals before, totals after, outcome).
        self.step_submits: list[tuple[MarketOrder, dict[str, Any], dict[str, Any], OrderOutcome]]
        self.step_submits = []
        self.last_funding: tuple[str, datetime] | None = None
        self.observed: tuple[list[Any], PropAccount] | None = None
        self.walked = 0  # stored events already checked for floats

    # -- helpers ---------------------------------------------------------------------------

    @property
    def id(self) -> UUID:
        assert self.account_id is not None
        return self.account_id

    def tick(self, delta: int) -> None:
        """Start a step: move the market clock and forget the previous step's records."""
        self.clock.advance(timedelta(seconds=delta))
        self.step_submits = []
        self.observed = None

    def account(self) -> PropAccount:
        """The live aggregate: the last one a command saved (the invariants replay it)."""
        return self.ledger.live[self.id]

    def events(self) -> list[Any]:
        return list(self.ledger.events.get(self.id))

    def stored(self) -> tuple[list[Any], PropAccount]:
        """The stored events and a fresh replay of them, read once per step for the invariants."""
        if self.observed is None:
            self.observed = (self.events(), self.ledger.repository.get(self.id))
        return self.observed

    def size_for(self, asset: str, kind: str, k: int) -> Decimal:
        step = D(1).scaleb(-size_decimals(asset))
        if kind == "tiny":
            return step
        if kind == "off_grid":
            return k * UNITS[asset] + step / 10
        return k * UNITS[asset]

    def trigger(self, asset: str, kind: str, offset: int) -> Decimal | None:
        if kind == "none":
            return None
        price = self.market.marks[asset] * (1 + D(offset) / 100)
        return on_grid(price, asset) if kind == "on_grid" else off_grid(price, asset)

    def submit(self, order: MarketOrder) -> None:
        before, version = totals(self.account()), self.account().version
        outcome = self.ledger.submit_order(self.id, order)
        new = list(self.ledger.events.get(self.id, gt=version))
        assert [type(e).__name__ for e in new] == [
            "OrderFilled" if outcome.status == "filled" else "OrderRejected"
        ]
        self.submitted[order.client_order_id] = (order, outcome)
        self.step_submits.append((order, before, totals(self.account()), outcome))
        event(f"order: {outcome.reason or 'filled'}")

    def expect_nothing_recorded(self, error: type[Exception], command: Callable[[], Any]) -> None:
        """``command`` raises ``error`` and the store holds no new event."""
        count = len(self.events())
        with pytest.raises(error):
            command()
        assert len(self.events()) == count

    # -- rules -----------------------------------------------------------------------------

    @initialize(
        usdc=st.one_of(st.integers(500, 5_000), st.integers(5_000, 50_000)),
        micros=st.integers(0, 999_999),
        seed=st.lists(
            st.tuples(assets, sides, st.integers(5, 60), st.integers(1, 20)),
            max_size=3,
            unique_by=lambda t: t[0],
        ),
    )
    def open_account(self, usdc: int, micros: int, seed: list[tuple[str, Side, int, int]]) -> None:
        """Open the account, then open geared positions (``pct`` % of collateral as margin)."""
        self.initial_micros = usdc * 1_000_000 + micros
        self.account_id = self.ledger.open_account(
            cause="property:1",
            owner="owner-1",
            purpose=Purpose.SANDBOX,
            rules=MACHINE_RULES,
            collateral_micros=self.initial_micros,
        )
        for asset, side, pct, leverage in seed:
            notional = micros_to_decimal(self.initial_micros) * leverage * pct / 100
            size = floor_size(notional / self.market.marks[asset], size_decimals(asset))
            if size > 0:
                cid = f"seed{len(self.submitted)}"
                self.submit(MarketOrder(cid, asset, side, size, leverage))

    @rule(
        asset=assets,
        side=sides,
        kind=size_kinds,
        k=units,
        leverage=st.sampled_from([*range(1, 21)] * 3 + [*range(21, 31)]),
        reduce_only=st.sampled_from([False, False, False, True]),
        stop=st.tuples(price_kinds, price_offsets),
        take=st.tuples(price_kinds, price_offsets),
        reuse=st.integers(0, 9),
        delta=seconds,
    )
    def submit_order(
        self,
        asset: str,
        side: Side,
        kind: str,
        k: int,
        leverage: int,
        reduce_only: bool,
        stop: tuple[str, int],
        take: tuple[str, int],
        reuse: int,
        delta: int,
    ) -> None:
        """Any order: sizes on and off the grid or tiny, leverage 1-30, stops on and off the
        price grid, reduce-only, and now and then a client order id already used."""
        self.tick(delta)
        cid = f"o{len(self.submitted)}"
        if reuse == 0 and self.submitted:
            cid = sorted(self.submitted)[k % len(self.submitted)]
        order = MarketOrder(
            cid,
            asset,
            side,
            self.size_for(asset, kind, k),
            leverage,
            reduce_only,
            self.trigger(asset, *stop),
            self.trigger(asset, *take),
        )
        known = self.submitted.get(cid)
        if known is None:
            self.submit(order)
        elif known[0].fingerprint() == order.fingerprint():
            self.retry(order, known[1])
        else:
            event("order: client_order_id conflict")
            self.expect_nothing_recorded(
                OrderConflict, partial(self.ledger.submit_order, self.id, order)
            )

    @rule(
        asset=assets,
        side=sides,
        k=units,
        leverage=st.integers(1, 20),
        stop=st.tuples(st.sampled_from(["none", "on_grid"]), price_offsets),
        take=st.tuples(st.sampled_from(["none", "on_grid"]), price_offsets),
        delta=seconds,
    )
    def submit_valid_order(
        self,
        asset: str,
        side: Side,
        k: int,
        leverage: int,
        stop: tuple[str, int],
        take: tuple[str, int],
        delta: int,
    ) -> None:
        """An order that passes the precision and leverage gates (margin may still refuse)."""
        self.tick(delta)
        size = k * UNITS[asset]
        stops = self.trigger(asset, *stop), self.trigger(asset, *take)
        self.submit(
            MarketOrder(f"o{len(self.submitted)}", asset, side, size, leverage, False, *stops)
        )

    @precondition(lambda self: self.account_id and self.ledger.live[self.account_id].positions)
    @rule(pick=st.integers(0, 2), k=units, whole=st.booleans(), delta=seconds)
    def reduce_position(self, pick: int, k: int, whole: bool, delta: int) -> None:
        """A reduce-only order against a held position (the whole of it, or k units)."""
        self.tick(delta)
        held = self.account().positions
        asset = sorted(held)[pick % len(held)]
        size = abs(held[asset]["size"]) if whole else k * UNITS[asset]
        side = Side(-Side.of(held[asset]["size"]))
        self.submit(MarketOrder(f"o{len(self.submitted)}", asset, side, size, 1, True))
        event(f"reduce-only: {'whole' if whole else 'units'}")

    @precondition(lambda self: self.submitted)
    @rule(pick=st.integers(0, 10**6), delta=seconds)
    def retry_order(self, pick: int, delta: int) -> None:
        self.tick(delta)
        self.retry(*self.submitted[sorted(self.submitted)[pick % len(self.submitted)]])

    def retry(self, order: MarketOrder, first: OrderOutcome) -> None:
        """The same client order id with the same content: the first outcome, no new event."""
        count = len(self.events())
        assert self.ledger.submit_order(self.id, order) == first
        assert len(self.events()) == count
        event("order: idempotent retry")

    @rule(
        moves=st.fixed_dictionaries({a: st.integers(-2_000, 2_000) for a in ASSETS}), delta=seconds
    )
    def move_marks(self, moves: dict[str, int], delta: int) -> None:
        """A random walk: every mark moves by up to 20 % (kept within 0.4x-3x of its base)."""
        self.tick(delta)
        for asset, bps in moves.items():
            self.move(asset, bps)
        self.apply_marks()

    @precondition(lambda self: self.account_id and self.ledger.live[self.account_id].positions)
    @rule(pick=st.integers(0, 2), bps=st.integers(100, 2_000), delta=seconds)
    def move_against_position(self, pick: int, bps: int, delta: int) -> None:
        """A move of 1-20 % against a held position (what stops and liquidations need)."""
        self.tick(delta)
        held = self.ledger.live[self.id].positions
        asset = sorted(held)[pick % len(held)]
        self.move(asset, -bps if held[asset]["size"] > 0 else bps)
        self.apply_marks()

    def move(self, asset: str, bps: int) -> None:
        base = BASE_MARKS[asset]
        moved = self.market.marks[asset] * (1 + D(bps) / 10_000)
        self.market.marks[asset] = on_grid(min(max(moved, base * D("0.4")), base * 3), asset)

    def apply_marks(self) -> None:
        before = self.account()
        fired = self.ledger.apply_marks(self.id, dict(self.market.marks))
        after = self.account()
        for what in fired:
            event(f"marks: {what.split(':')[0]}")
            if what != "liquidation":
                assert what.split(":")[1] not in after.positions
        if "liquidation" in fired:
            settled = self.events()[-1]
            assert after.positions == {}
            assert after.liquidations == before.liquidations + 1
            assert after.collateral_micros >= 0, "a liquidated account never owes the venue"
            assert after.collateral_micros == 0 or not settled.backstop
            event(f"marks: liquidation backstop={settled.backstop}")

    @rule(asset=assets, rate=st.integers(-1_000, 1_000), again=st.booleans(), delta=seconds)
    def apply_funding(self, asset: str, rate: int, again: bool, delta: int) -> None:
        self.tick(delta)
        period = self.clock.now().replace(minute=0, second=0, microsecond=0)
        if again and self.last_funding is not None:
            asset, period = self.last_funding
        self.last_funding = (asset, period)
        before = self.account()
        held = before.positions.get(asset)
        expected = held is not None and f"{asset}@{period.isoformat()}" not in (
            before.funding_periods
        )
        oracle = self.market.marks[asset]
        applied = self.ledger.apply_funding(
            self.id, asset=asset, period=period, rate=D(rate).scaleb(-6), oracle_price=oracle
        )
        assert applied is expected
        paid = self.account().funding_micros - before.funding_micros
        if expected:
            assert held is not None
            with localcontext(CONTEXT):
                assert paid == charge_micros(held["size"] * oracle * D(rate).scaleb(-6))
            event("funding: applied")
        else:
            assert paid == 0

    @rule(chance=st.integers(0, 3), delta=seconds)
    def freeze(self, chance: int, delta: int) -> None:
        self.tick(delta)
        if chance:  # a frozen account rejects every order: keep freezes rare
            return
        if self.admin(partial(self.ledger.freeze, self.id, reason="review", admin="admin-1")):
            assert self.account().status == "frozen"

    @rule(delta=seconds)
    def unfreeze(self, delta: int) -> None:
        self.tick(delta)
        if self.admin(partial(self.ledger.unfreeze, self.id, reason="cleared", admin="admin-1")):
            assert self.account().status == "open"

    @rule(micros=st.integers(-(10**9), 10**9).filter(bool), inexact=st.booleans(), delta=seconds)
    def adjust(self, micros: int, inexact: bool, delta: int) -> None:
        """A stated whole-micro correction (or a sub-micro one, which records nothing)."""
        self.tick(delta)
        before = self.account()
        amount = micros_to_decimal(micros) + (D("0.0000005") if inexact else 0)
        command = partial(
            self.ledger.adjust, self.id, amount=amount, reason="correction", admin="admin-1"
        )
        if inexact and before.status != "closed":
            self.expect_nothing_recorded(InexactAmount, command)
        elif self.admin(command):
            after = self.account()
            assert after.adjustments_micros - before.adjustments_micros == micros
            assert after.collateral_micros - before.collateral_micros == micros

    @rule(delta=seconds)
    def close_all(self, delta: int) -> None:
        self.tick(delta)
        held = len(self.account().positions)
        if self.admin(partial(self.ledger.close_all, self.id, admin="admin-1"), returns=held):
            assert self.account().positions == {}

    @rule(chance=st.integers(0, 15), delta=seconds)
    def close_account(self, chance: int, delta: int) -> None:
        self.tick(delta)
        if chance:  # closing ends the interesting part of a run: keep it rare
            return
        command = partial(self.ledger.close_account, self.id, reason="done", admin="admin-1")
        if self.account().positions:
            self.expect_nothing_recorded(InvalidCommand, command)
        elif self.admin(command):
            assert self.account().status == "closed"
            event("account: closed")

    def admin(self, command: Callable[[], object], returns: object = None) -> bool:
        """Run an admin command; on a closed account it must raise and record nothing."""
        if self.account().status == "closed":
            self.expect_nothing_recorded(AccountNotOpen, command)
            return False
        assert command() == returns
        return True

    # -- invariants ------------------------------------------------------------------------

    @invariant()
    def postings_balance(self) -> None:
        if self.account_id is None:
            return
        everything: list[Posting] = []
        for stored in self.stored()[0]:
            legs = [Posting(*leg) for leg in getattr(stored, "postings", [])]
            assert balanced(legs), f"{type(stored).__name__} v{stored.originator_version}: {legs}"
            everything += legs
        assert balanced(everything)
        assert {p.currency for p in everything} <= {USDC}

    @invariant()
    def collateral_is_the_fold_of_postings_and_totals(self) -> None:
        if self.account_id is None:
            return
        folded: defaultdict[str, int] = defaultdict(int)
        for stored in self.stored()[0]:
            for name, _, micros in getattr(stored, "postings", []):
                folded[name] += micros
        account = self.stored()[1]
        assert account.collateral_micros == folded[collateral_account(str(self.id))]
        assert account.collateral_micros == (
            self.initial_micros
            + account.realized_micros
            - account.fees_micros
            - account.funding_micros
            + account.adjustments_micros
            + account.backstop_micros
        )
        assert folded[TREASURY] == -self.initial_micros
        assert folded[VENUE_FEES] == account.fees_micros
        assert folded[VENUE_FUNDING] == account.funding_micros
        assert folded[VENUE_PNL] == -account.realized_micros
        assert folded[ADMIN_ADJUSTMENTS] == -account.adjustments_micros
        assert folded[VENUE_BACKSTOP] == -account.backstop_micros

    @invariant()
    def replay_equals_live_state_and_incremental_projection(self) -> None:
        if self.account_id is None:
            return
        live = self.ledger.live[self.id]
        replayed = self.stored()[1]
        assert replayed is not live
        for stored in self.ledger.events.get(
            self.id, gt=self.projection.version if self.projection else None
        ):
            self.projection = stored.mutate(self.projection)
        assert state_of(replayed) == state_of(live)
        assert state_of(self.projection) == state_of(live)

    @invariant()
    def rejected_order_changed_no_money_or_position(self) -> None:
        for order, before, after, outcome in self.step_submits:
            if outcome.status == "rejected":
                assert after == before, f"{order} was rejected ({outcome.reason})"

    @invariant()
    def reduce_only_fill_never_grows_or_flips(self) -> None:
        for order, before, after, outcome in self.step_submits:
            if not (order.reduce_only and outcome.status == "filled"):
                continue
            held = before["positions"].get(order.asset)
            assert held is not None, f"{order} filled on a flat book"
            left = after["positions"].get(order.asset)
            if left is not None:
                assert abs(left["size"]) < abs(held["size"]), f"{order} grew {held}"
                assert (left["size"] > 0) == (held["size"] > 0), f"{order} flipped {held}"

    @invariant()
    def no_float_anywhere(self) -> None:
        if self.account_id is None:
            return
        assert_no_float(state_of(self.ledger.live[self.id]), "live")
        events, replayed = self.stored()
        assert_no_float(state_of(replayed), "replayed")
        for stored in events[self.walked :]:
            assert_no_float(vars(stored), f"{type(stored).__name__}")
        self.walked = len(events)

    @invariant()
    def equity_is_collateral_plus_unrealized(self) -> None:
        if self.account_id is None:
            return
        account = self.stored()[1]
        valued = value_account(account, self.market.marks, INSTRUMENTS)
        assert_no_float(vars(valued), "valuation")
        with localcontext(CONTEXT):
            expected = account.collateral + unrealized_sum(account, self.market.marks)
        assert valued.account_value == expected


LedgerMachine.TestCase.settings = settings(max_examples=40, stateful_step_count=30, deadline=None)
TestLedgerMachine = LedgerMachine.TestCase


# -- the fill path, one property at a time --------------------------------------------------

ZERO_SLIPPAGE = RuleSet(allowed_assets=ASSETS, max_leverage=10, slippage_bps=D(0))
RICH = 10**15  # a billion USDC: the margin gate never decides these tests


def _ledger() -> tuple[RecordingLedger, FixedMarket]:
    market = FixedMarket()
    ledger = RecordingLedger(clock=SimulatedClock(T0))
    ledger.bind_market(market)
    return ledger, market


def _open(ledger: PropLedger, rules: RuleSet, collateral_micros: int) -> UUID:
    return ledger.open_account(
        cause="property:fills",
        owner="owner-1",
        purpose=Purpose.SANDBOX,
        rules=rules,
        collateral_micros=collateral_micros,
    )


@st.composite
def gridded_prices(draw: st.DrawFn, asset: str) -> Decimal:
    """A price on ``asset``'s grid within 1/100 to 100 times its base mark."""
    mantissa = draw(st.integers(10_000, 99_999))
    shift = draw(st.integers(-2, 2))
    exponent = BASE_MARKS[asset].adjusted() - 4 + shift
    return on_grid(D(mantissa).scaleb(exponent), asset)


@st.composite
def sized_at(draw: st.DrawFn, asset: str, price: Decimal) -> Decimal:
    """An on-grid size whose notional at ``price`` is between 10 and about 2,000,000 USDC."""
    step = D(1).scaleb(-size_decimals(asset))
    least = int((D(10) / (price * step)).to_integral_value(rounding=ROUND_CEILING))
    return draw(st.integers(max(least, 1), max(least, 1) * 200_000)) * step


@st.composite
def round_trips(draw: st.DrawFn) -> tuple[str, Decimal, Decimal]:
    asset = draw(assets)
    price = draw(gridded_prices(asset))
    return asset, price, draw(sized_at(asset, price))


@settings(max_examples=60, deadline=None)
@given(trip=round_trips(), first=sides, leverage=st.integers(1, 10))
def test_round_trip_at_one_reference_price_costs_exactly_two_fees(
    trip: tuple[str, Decimal, Decimal], first: Side, leverage: int
) -> None:
    # Arrange
    asset, price, size = trip
    ledger, _ = _ledger()
    account_id = _open(ledger, ZERO_SLIPPAGE, RICH)
    there = MarketOrder("there", asset, first, size, leverage, reference_price=price)
    back = MarketOrder("back", asset, Side(-first), size, leverage, reference_price=price)
    # Act
    outcomes = [ledger.submit_order(account_id, o) for o in (there, back)]
    # Assert
    account = ledger.account(account_id)
    fills = list(ledger.events.get(account_id))[1:]
    fee_legs = [m for e in fills for name, _, m in e.postings if name == VENUE_FEES]
    assert [o.status for o in outcomes] == ["filled", "filled"]
    assert [e.fill_price for e in fills] == [price, price]
    assert account.positions == {}
    assert account.realized_micros == 0
    assert [e.realized_pnl_micros for e in fills] == [0, 0]
    with localcontext(CONTEXT):
        assert fee_legs == [charge_micros(size * price * TAKER)] * 2
    assert account.collateral_micros == RICH - sum(fee_legs)


orders_at_prices = st.lists(
    st.tuples(assets, sides, st.integers(2, 400), st.integers(-500, 500)),
    min_size=1,
    max_size=8,
)


@settings(max_examples=60, deadline=None)
@given(
    orders=orders_at_prices,
    marks=st.fixed_dictionaries({a: st.none() | st.integers(-3_000, 3_000) for a in ASSETS}),
)
def test_equity_is_collateral_plus_unrealized_pnl_at_the_marks(
    orders: list[tuple[str, Side, int, int]], marks: dict[str, int | None]
) -> None:
    # Arrange: fills at stated reference prices (within +-5 % of the base), then new marks
    # (bps from the base; None: no mark, the position is valued at its entry).
    ledger, _ = _ledger()
    account_id = _open(ledger, RuleSet(allowed_assets=ASSETS, max_leverage=10), RICH)
    for n, (asset, side, k, bps) in enumerate(orders):
        reference = on_grid(BASE_MARKS[asset] * (1 + D(bps) / 10_000), asset)
        order = MarketOrder(f"o{n}", asset, side, k * UNITS[asset], 10, reference_price=reference)
        assert ledger.submit_order(account_id, order).status == "filled"
    at = {
        a: on_grid(BASE_MARKS[a] * (1 + D(bps) / 10_000), a)
        for a, bps in marks.items()
        if bps is not None
    }
    account = ledger.account(account_id)
    # Act
    valued = value_account(account, at, INSTRUMENTS)
    # Assert
    with localcontext(CONTEXT):
        expected = account.collateral + unrealized_sum(account, at)
        from_rows = account.collateral + sum(
            (p.unrealized_pnl for p in valued.positions), start=D(0)
        )
    assert valued.account_value == expected
    assert valued.account_value == from_rows
    assert valued.collateral == micros_to_decimal(account.collateral_micros)


# -- flips add exposure: they pass the margin gate -------------------------------------------


@settings(max_examples=40, deadline=None)
@example(held=1, sell=20_000, leverage=10)  # 1,000 USDC: long 0.0001 BTC, then sell 2 BTC
@given(held=st.integers(1, 90), sell=st.integers(1, 40_000), leverage=st.integers(1, 10))
def test_fill_that_grows_or_flips_a_position_is_covered_by_initial_margin(
    held: int, sell: int, leverage: int
) -> None:
    # Arrange: a long of ``held`` units (10 USDC each) on 1,000 USDC of collateral.
    ledger, market = _ledger()
    account_id = _open(ledger, RuleSet(allowed_assets=ASSETS, max_leverage=10), 10**9)
    long = MarketOrder("long", "BTC", Side.BUY, held * UNITS["BTC"], leverage)
    assert ledger.submit_order(account_id, long).status == "filled"
    before = ledger.account(account_id).positions["BTC"]["size"]
    # Act: sell ``sell`` units, which may reduce, close or flip the long.
    order = MarketOrder("sell", "BTC", Side.SELL, sell * UNITS["BTC"], leverage)
    outcome = ledger.submit_order(account_id, order)
    # Assert: a fill that leaves a short (new exposure) passed the margin gate.
    account = ledger.account(account_id)
    after = account.positions.get("BTC")
    if outcome.status != "filled" or after is None or after["size"] > 0:
        return
    assert abs(after["size"]) == sell * UNITS["BTC"] - before
    fill_at = {"BTC": list(ledger.events.get(account_id))[-1].fill_price}
    valued = value_account(account, {**market.marks, **fill_at}, INSTRUMENTS)
    slack = D("0.000002")  # the fee and PnL postings round against the account by < 1 micro each
    assert valued.account_value + slack >= valued.margin_used
