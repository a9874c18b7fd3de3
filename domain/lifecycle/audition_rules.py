"""Audition rules: what a paid audition must reach, and the losses it must never show.

Why a value of its own: the rules are configuration per tier, but an audition is judged by the
rules it started under. They are fixed when the audition starts (stored with it as the
document of :meth:`AuditionRules.to_document`), so a later configuration change never alters a
running audition, and the pure evaluator (:mod:`domain.lifecycle.audition_evaluator`) and the
API's "progress against each rule" read the same thresholds from the methods below.

The model is FTMO 2-step, phase 1 (notes/trading-math.md 4.1), with the variants of 4.2-4.4 as
options. Every fraction is a ``Decimal`` of a balance; ``start`` is the starting collateral:

- **profit target**: pass threshold ``start * (1 + profit_target)``, read on the balance;
- **max daily loss**: ``floor = day_reference - max_daily_loss * base``. The day reference is
  the balance at the last UTC midnight of the market clock (``daily_reference="balance"``,
  FTMO; ``"equity_or_balance_max"``, The5ers: the larger of balance and equity then); on the
  first day it is ``start``. The base of the allowance is ``start`` (``daily_loss_base=
  "starting_balance"``, FTMO: 5 % of initial capital, so a 104,000 midnight balance on 100k
  gives a 99,000 floor) or the day reference itself (``"reference"``, The5ers);
- **max total loss**: ``"static"``: ``floor = start - max_total_loss * start``;
  ``"eod_trailing"``: ``floor = max(highest end-of-day balance, start) - max_total_loss *
  start``, so it only rises, and only at midnights; with ``max_loss_lock`` it stops at
  ``start`` once it reaches it (Topstep; FTMO 1-step has no lock);
- **minimum trading days**: UTC days with at least one fill;
- **best day** (optional ``best_day_share``): at pass time no single day's profit may exceed
  that share of the total profit; it blocks a pass, never fails the audition;
- **deadline**: the length of the evaluation window (``None``: no deadline);
- **retries**: attempts per purchase are ``1 + retries``.

Money. Amounts are ``Decimal`` USDC; the starting collateral is a whole number of micro-USDC.
Each allowance (``fraction * base``) is quantized once, to the micro and rounded down, and the
target balance once, to the micro and rounded up: both against the account, as the ledger
rounds (:mod:`domain.prop.money`). A floor built on a whole-micro reference is therefore a whole
micro, and an equity *at* a floor is no breach while one micro below it is.

Documents use the field names as keys, decimals as strings (integers are accepted, floats
never), the enums by value, and the deadline as ``deadline_seconds`` (an integer or null).
:class:`AuditionRuleBook` holds the rules per tier (names as in :mod:`domain.clones.tiers`);
:data:`DEFAULT_AUDITION_RULES` are FTMO phase 1 (10 % target, 5 % daily, 10 % static max loss,
4 trading days, 30 days) for every tier, and the tiers differ only in what a larger fee buys:
collateral 10,000 / 25,000 / 50,000 USDC and retries 0 / 1 / 2.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, localcontext
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from domain.backtesting.equity_curve import CONTEXT, ONE, ZERO

__all__ = [
    "DEFAULT_AUDITION_RULES",
    "AuditionError",
    "AuditionRuleBook",
    "AuditionRules",
    "AuditionRulesInvalid",
    "DailyLossBase",
    "DailyReference",
    "MaxLossMode",
    "UnknownAuditionTier",
]

MICRO = Decimal("0.000001")
RulesDocument = dict[str, str | int | bool | None]
_TIER_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")
# Each Decimal field's upper bound (all must be > 0); 10**12 USDC keeps figures in 28 digits.
_BOUNDS = {
    "starting_collateral": Decimal(10**12),
    "profit_target": Decimal(100),
    "max_daily_loss": ONE,
    "max_total_loss": ONE,
    "best_day_share": ONE,
}


class AuditionError(Exception):
    """Root of every audition error; ``reason`` is stable, ``str`` is ``field=value`` pairs."""

    reason = "audition_error"

    def __init__(self, **fields: object) -> None:
        pairs = " ".join(f"{name}={value!r}" for name, value in fields.items())
        super().__init__(f"reason={self.reason} {pairs}".strip())
        self.fields = fields


class AuditionRulesInvalid(AuditionError):
    """Raised when audition rules (or their configuration document) break a bound."""

    reason = "audition_rules_invalid"


class UnknownAuditionTier(AuditionError):
    """Raised when a tier has no audition rules in the rule book."""

    reason = "unknown_audition_tier"


class DailyReference(StrEnum):
    """Which midnight figure the daily loss is measured from."""

    BALANCE = "balance"
    EQUITY_OR_BALANCE_MAX = "equity_or_balance_max"


class DailyLossBase(StrEnum):
    """What the daily loss fraction is a fraction of."""

    STARTING_BALANCE = "starting_balance"
    REFERENCE = "reference"


class MaxLossMode(StrEnum):
    """How the max total loss floor moves."""

    STATIC = "static"
    EOD_TRAILING = "eod_trailing"


@dataclass(frozen=True)
class AuditionRules:
    """The thresholds one audition is judged by; defaults are FTMO 2-step phase 1."""

    starting_collateral: Decimal
    profit_target: Decimal = Decimal("0.10")
    max_daily_loss: Decimal = Decimal("0.05")
    daily_reference: DailyReference = DailyReference.BALANCE
    daily_loss_base: DailyLossBase = DailyLossBase.STARTING_BALANCE
    max_total_loss: Decimal = Decimal("0.10")
    max_loss_mode: MaxLossMode = MaxLossMode.STATIC
    max_loss_lock: bool = False
    min_trading_days: int = 4
    best_day_share: Decimal | None = None
    deadline: timedelta | None = timedelta(days=30)
    retries: int = 0

    def __post_init__(self) -> None:
        _check_rules(self)

    @property
    def attempts(self) -> int:
        """How many runs one purchase allows: the first one plus the retries."""
        return 1 + self.retries

    @property
    def target_balance(self) -> Decimal:
        """Return the balance a pass needs, rounded up to the micro."""
        with localcontext(CONTEXT):
            target = self.starting_collateral * (ONE + self.profit_target)
        return target.quantize(MICRO, rounding=ROUND_CEILING, context=CONTEXT)

    def daily_loss_floor(self, day_reference: Decimal) -> Decimal:
        """Return the lowest equity allowed today, given the day's reference balance."""
        base = (
            self.starting_collateral
            if self.daily_loss_base is DailyLossBase.STARTING_BALANCE
            else day_reference
        )
        with localcontext(CONTEXT):
            return day_reference - _allowance(self.max_daily_loss, base)

    def max_loss_floor(self, eod_high: Decimal) -> Decimal:
        """Return the lowest equity ever allowed, given the highest end-of-day balance so far."""
        start = self.starting_collateral
        allowance = _allowance(self.max_total_loss, start)
        with localcontext(CONTEXT):
            if self.max_loss_mode is MaxLossMode.STATIC:
                return start - allowance
            trailing = max(eod_high, start) - allowance
            return min(trailing, start) if self.max_loss_lock else trailing

    def deadline_at(self, started_at: datetime) -> datetime | None:
        """Return the instant the evaluation window closes (``None``: it never does)."""
        return None if self.deadline is None else started_at + self.deadline

    def to_document(self) -> RulesDocument:
        """Return the configuration document (field names as keys, deadline in seconds)."""
        document: RulesDocument = {}
        for field in fields(self):
            document[_key(field.name)] = _dump(getattr(self, field.name))
        return document

    @classmethod
    def from_document(cls, document: object) -> AuditionRules:
        """Build rules from a document with exactly the keys of :meth:`to_document`."""
        if not isinstance(document, dict) or set(document) != set(_DOCUMENT_KEYS):
            raise AuditionRulesInvalid(keys=",".join(_DOCUMENT_KEYS))
        values: dict[str, Any] = {
            field.name: _load(field.name, document[_key(field.name)]) for field in fields(cls)
        }
        return cls(**values)


def _key(name: str) -> str:
    return "deadline_seconds" if name == "deadline" else name


_DOCUMENT_KEYS = tuple(_key(field.name) for field in fields(AuditionRules))
_ENUMS: Mapping[str, type[StrEnum]] = MappingProxyType(
    {
        "daily_reference": DailyReference,
        "daily_loss_base": DailyLossBase,
        "max_loss_mode": MaxLossMode,
    }
)


def _allowance(fraction: Decimal, base: Decimal) -> Decimal:
    with localcontext(CONTEXT):
        exact = fraction * base
    return exact.quantize(MICRO, rounding=ROUND_FLOOR, context=CONTEXT)


def _check_rules(rules: AuditionRules) -> None:
    for name, high in _BOUNDS.items():
        value = getattr(rules, name)
        if name == "best_day_share" and value is None:
            continue
        if not isinstance(value, Decimal) or not value.is_finite() or not ZERO < value <= high:
            raise AuditionRulesInvalid(**{name: value})
    collateral = rules.starting_collateral
    if collateral != collateral.quantize(MICRO, context=CONTEXT):
        raise AuditionRulesInvalid(starting_collateral=collateral)
    for name, kind in _ENUMS.items():
        if not isinstance(getattr(rules, name), kind):
            raise AuditionRulesInvalid(**{name: getattr(rules, name)})
    _check_counts(rules)


def _check_counts(rules: AuditionRules) -> None:
    if not isinstance(rules.max_loss_lock, bool):
        raise AuditionRulesInvalid(max_loss_lock=rules.max_loss_lock)
    if rules.max_loss_lock and rules.max_loss_mode is not MaxLossMode.EOD_TRAILING:
        raise AuditionRulesInvalid(max_loss_lock="a lock needs max_loss_mode=eod_trailing")
    for name in ("min_trading_days", "retries"):
        value = getattr(rules, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise AuditionRulesInvalid(**{name: value})
    deadline = rules.deadline
    if deadline is not None and (
        not isinstance(deadline, timedelta)
        or deadline <= timedelta(0)
        or deadline % timedelta(seconds=1)
    ):
        raise AuditionRulesInvalid(deadline=deadline)


def _dump(value: object) -> str | int | bool | None:
    if isinstance(value, timedelta):
        return value // timedelta(seconds=1)
    if isinstance(value, StrEnum):
        return value.value
    if value is None or isinstance(value, int):  # bool is an int
        return value
    return format(value, "f")  # a Decimal, by the checks of __post_init__


def _load(name: str, value: object) -> object:
    # Only converts; __post_init__ rejects whatever is left of the wrong type (floats too).
    if name in _ENUMS:
        if not isinstance(value, str) or value not in {choice.value for choice in _ENUMS[name]}:
            raise AuditionRulesInvalid(**{name: value})
        return _ENUMS[name](value)
    if name == "deadline" and isinstance(value, int) and not isinstance(value, bool):
        return timedelta(seconds=value)
    if name in _BOUNDS and isinstance(value, str | int):
        return _decimal(name, value)
    return value


def _decimal(name: str, value: str | int) -> Decimal:
    if isinstance(value, bool):
        raise AuditionRulesInvalid(**{name: value})
    try:
        return Decimal(value)
    except ArithmeticError:
        raise AuditionRulesInvalid(**{name: value}) from None


# The defaults and the book come last: building rules runs the checks above.


def _ftmo_phase_one(collateral: int, retries: int) -> AuditionRules:
    return AuditionRules(starting_collateral=Decimal(collateral), retries=retries)


DEFAULT_AUDITION_RULES: Mapping[str, AuditionRules] = MappingProxyType(
    {
        "starter": _ftmo_phase_one(10_000, retries=0),
        "builder": _ftmo_phase_one(25_000, retries=1),
        "pro": _ftmo_phase_one(50_000, retries=2),
    }
)


class AuditionRuleBook:
    """The audition rules of each tier; validated on construction."""

    def __init__(self, rules: Mapping[str, AuditionRules] = DEFAULT_AUDITION_RULES) -> None:
        if not rules:
            raise AuditionRulesInvalid(tiers="a rule book needs at least one tier")
        for name, entry in rules.items():
            if not isinstance(name, str) or not _TIER_NAME.fullmatch(name):
                raise AuditionRulesInvalid(tier=name)
            if not isinstance(entry, AuditionRules):
                raise AuditionRulesInvalid(tier=name, rules=entry)
        self._rules = MappingProxyType(dict(rules))

    @property
    def tiers(self) -> tuple[str, ...]:
        """Return the tier names the book has rules for."""
        return tuple(self._rules)

    def get(self, tier: str) -> AuditionRules:
        """Return the rules of ``tier`` (raises UnknownAuditionTier)."""
        try:
            return self._rules[tier]
        except KeyError:
            raise UnknownAuditionTier(tier=tier, known=",".join(self._rules)) from None

    def require_tiers(self, names: Iterable[str]) -> None:
        """Raise UnknownAuditionTier unless every tier in ``names`` has rules."""
        for name in names:
            self.get(name)

    def to_document(self) -> dict[str, RulesDocument]:
        """Return the configuration document: one rules document per tier."""
        return {name: rules.to_document() for name, rules in self._rules.items()}

    @classmethod
    def from_document(
        cls, document: object, *, base: Mapping[str, AuditionRules] = DEFAULT_AUDITION_RULES
    ) -> AuditionRuleBook:
        """Overlay a configuration document on ``base``, validated.

        Each entry maps a tier to the fields it overrides; a tier ``base`` lacks must state
        every field. Tiers the document does not name keep their ``base`` rules.
        """
        if not isinstance(document, dict):
            raise AuditionRulesInvalid(document="an object of tier names to rules")
        merged = dict(base)
        for tier, entry in document.items():
            if not isinstance(entry, dict):
                raise AuditionRulesInvalid(tier=tier, rules=entry)
            inherited = base[tier].to_document() if tier in base else {}
            merged[tier] = AuditionRules.from_document(inherited | entry)
        return cls(merged)
