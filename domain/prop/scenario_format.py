"""The scenario format: what the simulator (``clash prop simulate``) reads, validated whole.

A scenario is one JSON object: ``start``, optional ``instruments`` (entries replace or add to
the seeded BTC/ETH/SOL), ``account`` (collateral, purpose, rules) and ``steps``, each with its
``at`` and exactly one of ``marks``, ``order``, ``funding`` or ``admin``. Field by field, with
a worked example and its output: ``docs/prop-scenarios.md``.

Strictness is the point, since support replays disputed accounts with it: decimals are JSON
strings (``"0.1"``, never a number, so nothing passes through a float), times are ISO 8601
with an offset, unknown fields are refused, USDC amounts are whole micros, steps never go
back in time and name only known assets. Every error names the field by its path
(``steps[3].order.size``). Values the ledger itself judges (an order's size, leverage, stop
prices) are passed through, so its gates can reject them with their reason codes.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from domain.market.instruments import Instrument
from domain.market.model import MarginTier, PerpSpec
from domain.prop.money import exact_micros
from domain.prop.orders import MarketOrder
from domain.prop.positions import Side
from domain.prop.rules import RuleSet

MICRO = Decimal("0.000001")
_DECIMAL_TEXT = re.compile(r"-?\d+(\.\d+)?")
# The registry's seed (adapters.asset_registry.SEED_SPECS, which domain/ may not import; a
# test keeps the two equal) and the default fee schedule (Settings' defaults).
SEEDED_SPECS = (
    PerpSpec("BTC", 0, 5, 40, (MarginTier(Decimal(0), 40), MarginTier(Decimal(150_000_000), 20))),
    PerpSpec("ETH", 1, 4, 25, (MarginTier(Decimal(0), 25), MarginTier(Decimal(100_000_000), 15))),
    PerpSpec("SOL", 5, 2, 20, (MarginTier(Decimal(0), 20), MarginTier(Decimal(70_000_000), 10))),
)
TAKER_FEE_RATE, MAKER_FEE_RATE, MIN_NOTIONAL = Decimal("0.00045"), Decimal("0.00015"), Decimal(10)


class ScenarioError(ValueError):
    """Raised when a scenario is invalid or cannot be replayed (the message names the step)."""


def _decimal(value: object) -> Decimal:
    if not isinstance(value, str) or not _DECIMAL_TEXT.fullmatch(value):
        raise ValueError(f'write decimals as strings such as "0.1", not {value!r}')
    return Decimal(value)


def _usdc(value: object) -> Decimal:
    amount = _decimal(value)
    if amount != amount.quantize(MICRO):
        raise ValueError(f"USDC amounts have at most 6 decimals (whole micros): {value}")
    return amount


def _instant(value: object) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"write times as ISO 8601 strings, not {value!r}")
    instant = datetime.fromisoformat(value)
    if instant.utcoffset() is None:
        raise ValueError(f"times need a UTC offset (Z or +00:00): {value}")
    return instant.astimezone(UTC)


Dec = Annotated[Decimal, BeforeValidator(_decimal)]
Positive = Annotated[Decimal, BeforeValidator(_decimal), Field(gt=0)]
Usdc = Annotated[Decimal, BeforeValidator(_usdc)]
Instant = Annotated[datetime, BeforeValidator(_instant)]


class _Model(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class InstrumentInput(_Model):
    """A perp the scenario trades: replaces the seeded spec of that name, or adds one."""

    size_decimals: int = Field(ge=0, le=6)
    max_leverage: int = Field(ge=1)
    margin_tiers: dict[str, int] | None = Field(default=None, min_length=1)
    taker_fee_rate: Dec = TAKER_FEE_RATE
    maker_fee_rate: Dec = MAKER_FEE_RATE
    min_notional: Annotated[Dec, Field(ge=0)] = MIN_NOTIONAL
    delisted: bool = False

    @model_validator(mode="after")
    def _tiers_start_at_zero(self) -> InstrumentInput:
        given = self.margin_tiers or {"0": 1}
        if not all(_DECIMAL_TEXT.fullmatch(bound) for bound in given):
            raise ValueError(f"margin_tiers: lower bounds are decimal strings: {list(given)}")
        bounds = [Decimal(bound) for bound in given]
        if min(bounds) != 0 or len(set(bounds)) < len(bounds) or min(given.values()) < 1:
            raise ValueError("margin_tiers: distinct lower bounds from 0, leverages at least 1")
        return self

    def spec(self, name: str) -> PerpSpec:
        """This entry as a registry spec (one tier at ``max_leverage`` unless tiers are given)."""
        given = self.margin_tiers or {"0": self.max_leverage}
        bounds = sorted((_decimal(bound), leverage) for bound, leverage in given.items())
        tiers = tuple(MarginTier(bound, leverage) for bound, leverage in bounds)
        return PerpSpec(name, 0, self.size_decimals, self.max_leverage, tiers, self.delisted)


class RulesInput(_Model):
    """The account's rule set; notional limits in USDC (the ledger stores micros)."""

    allowed_assets: list[str] = Field(default_factory=lambda: ["BTC", "ETH", "SOL"])
    max_leverage: int = Field(default=10, ge=1)
    max_position_notional: dict[str, Usdc] = Field(default_factory=dict)
    max_open_positions: int = Field(default=3, ge=0)
    slippage_bps: Annotated[Dec, Field(ge=0, lt=10_000)] = Decimal(5)

    def rule_set(self) -> RuleSet:
        """These rules as the ledger takes them."""
        limits = sorted(self.max_position_notional.items())
        return RuleSet(
            allowed_assets=tuple(self.allowed_assets),
            max_leverage=self.max_leverage,
            max_position_notional_micros={a: exact_micros(v) for a, v in limits},
            max_open_positions=self.max_open_positions,
            slippage_bps=self.slippage_bps,
        )


class AccountInput(_Model):
    """The account the scenario opens at ``start``."""

    collateral: Annotated[Usdc, Field(gt=0)]
    purpose: Literal["sandbox", "audition", "arena", "race"] = "sandbox"
    rules: RulesInput = Field(default_factory=RulesInput)
    cause: str = Field(default="scenario", min_length=1)
    owner: str = Field(default="scenario", min_length=1)


class OrderInput(_Model):
    """A market order; ``price`` is a stated reference price (default: the latest mark)."""

    client_order_id: str = Field(alias="id", min_length=1)
    asset: str
    side: Literal["buy", "sell"]
    size: Dec
    leverage: int
    reduce_only: bool = False
    stop_loss: Dec | None = None
    take_profit: Dec | None = None
    reference_price: Positive | None = Field(default=None, alias="price")

    def market_order(self) -> MarketOrder:
        """This order as the ledger takes it."""
        side = Side.BUY if self.side == "buy" else Side.SELL
        return MarketOrder(**self.model_dump(exclude={"side"}), side=side)


class FundingInput(_Model):
    """One funding settlement; ``period`` defaults to the hour the step falls in."""

    asset: str
    rate: Dec
    oracle_price: Positive = Field(alias="oracle")
    period: Instant | None = None


class AdminInput(_Model):
    """An operator action; ``amount`` (USDC, negative takes out) only with ``adjust``."""

    action: Literal["freeze", "unfreeze", "adjust", "close_all", "close"]
    reason: str = ""
    amount: Usdc | None = None
    admin: str = Field(default="support", min_length=1)

    @model_validator(mode="after")
    def _amount_only_for_adjust(self) -> AdminInput:
        if (self.amount is None) == (self.action == "adjust"):
            raise ValueError("amount is required for adjust and allowed for adjust only")
        return self


class StepInput(_Model):
    """One step: its market time and exactly one action."""

    at: Instant
    note: str | None = None
    marks: dict[str, Positive] | None = Field(default=None, min_length=1)
    order: OrderInput | None = None
    funding: FundingInput | None = None
    admin: AdminInput | None = None

    @model_validator(mode="after")
    def _one_action(self) -> StepInput:
        if [self.marks, self.order, self.funding, self.admin].count(None) != 3:
            raise ValueError("a step has exactly one of marks, order, funding, admin")
        return self

    @property
    def action(self) -> str:
        """What the step does: ``marks``, ``order``, ``funding`` or ``admin``."""
        actions = ("marks", "order", "funding", "admin")
        return next(name for name in actions if getattr(self, name) is not None)

    def assets(self) -> list[str]:
        """The assets the step names."""
        named = sorted(self.marks or {})
        named += [self.order.asset] if self.order else []
        return named + ([self.funding.asset] if self.funding else [])


class Scenario(_Model):
    """A validated scenario."""

    start: Instant
    instruments: dict[str, InstrumentInput] = Field(default_factory=dict)
    account: AccountInput
    steps: list[StepInput] = Field(min_length=1)

    def instruments_in_force(self) -> dict[str, Instrument]:
        """The seeded instruments with the scenario's entries applied, by name (version 1)."""
        seeded = {
            spec.name: (spec, TAKER_FEE_RATE, MAKER_FEE_RATE, MIN_NOTIONAL) for spec in SEEDED_SPECS
        }
        given = {
            name: (entry.spec(name), entry.taker_fee_rate, entry.maker_fee_rate, entry.min_notional)
            for name, entry in self.instruments.items()
        }
        return {
            name: Instrument(spec, 1, self.start, taker, maker, minimum)
            for name, (spec, taker, maker, minimum) in sorted((seeded | given).items())
        }


def parse_scenario(document: object) -> Scenario:
    """Validate ``document`` whole, or raise :class:`ScenarioError` naming each bad field."""
    try:
        scenario = Scenario.model_validate(document)
    except ValidationError as exc:
        lines = [
            f"{_where(error['loc'])}: {error['msg'].removeprefix('Value error, ')}"
            for error in exc.errors()
        ]
        raise ScenarioError("invalid scenario:\n  " + "\n  ".join(lines)) from None
    known = scenario.instruments_in_force()
    previous, previous_name = scenario.start, "start"
    for index, step in enumerate(scenario.steps):
        if step.at < previous:
            raise ScenarioError(
                f"steps[{index}].at: {step.at.isoformat()} is before {previous_name}"
                f" {previous.isoformat()}: time never goes backwards"
            )
        previous, previous_name = step.at, f"steps[{index}].at"
        for asset in step.assets():
            if asset not in known:
                raise ScenarioError(
                    f"steps[{index}].{step.action}: unknown asset {asset}"
                    f" (known: {', '.join(known)}; add it under instruments)"
                )
    return scenario


def _where(loc: tuple[int | str, ...]) -> str:
    path = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc)
    return path.lstrip(".") or "scenario"
