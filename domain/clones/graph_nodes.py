"""The params of each node kind: which keys exist, which values they accept, typed results.

Mass-assignment rule: a key a kind does not define is an error, never ignored, so a typo
(``stoploss``) cannot silently drop a limit. Numbers that are money-like (thresholds,
fractions, percents) are decimals: a decimal string such as ``"0.1"``, an integer, or a
``Decimal`` (what ``json.loads(..., parse_float=Decimal)`` gives); a float is refused
because its binary value is not what the user typed. Decimals are plain (no exponent, at
most 18 digits each side) and normalised (``"70.0"`` becomes ``70``), so equal strategies
compile to equal bytes. Integers (leverage, position counts) must be JSON integers. An
optional param set to ``null`` is absent (the canonical document leaves it out).

Feature channels are market-memory channel keys (``ema:12``, ``macd:12,26,9``, ``funding``)
parsed by :meth:`ChannelSpec.parse`; the point series that are not about a perp asset
(``probability``, ``tvl_change``) are refused for now.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from decimal import Decimal
from typing import Any

from domain.clones.graph_errors import ErrorLog, shown
from domain.clones.graph_model import (
    ActionParams,
    FeatureParams,
    MarketParams,
    ModelParams,
    NodeParams,
    RiskParams,
    RuleParams,
)
from domain.market.channels import ChannelSpec
from domain.market.intervals import INTERVALS
from domain.trading.spec import COMPARISONS, CROSSOVERS, LOGICAL, MODEL_TIERS, RiskLimits

PROMPT_TEMPLATES = ("v1",)
MAX_INSTRUCTIONS = 2000
MAX_TEXT = 64
COMPONENTS: Mapping[str, tuple[str, ...]] = {"macd": ("macd", "signal", "histogram")}
UNSUPPORTED_CHANNELS = frozenset({"probability", "tvl_change"})
RULE_OPS = (*sorted(COMPARISONS | CROSSOVERS), "and", "or", "not")
_DECIMAL = re.compile(r"-?(0|[1-9][0-9]{0,17})(\.[0-9]{1,18})?")
_MISSING = object()


class ParamReader:
    """Reads one node's params, reporting unknown, missing and malformed keys to the log."""

    def __init__(
        self,
        node: str | None,
        params: Mapping[Any, Any],
        allowed: Collection[str],
        log: ErrorLog,
        known_assets: Collection[str] = (),
    ) -> None:
        self.node, self.params, self.log = node, params, log
        self.known_assets = known_assets
        self.ok = True
        for key in params:
            if key not in allowed:
                names = ", ".join(allowed) or "none"
                self.fail(str(key), "unknown_param", f"unknown param {shown(key)}; known: {names}")

    def fail(self, name: str, code: str, message: str) -> None:
        """Record a problem with param ``name``."""
        self.ok = False
        self.log.add(self.node, f"params.{name}", code, message)

    def get(self, name: str, *, required: bool) -> object:
        """The raw value, or ``_MISSING`` (reported when required; ``null`` is missing)."""
        if self.params.get(name) is not None:
            return self.params[name]
        if required:
            self.fail(name, "missing_param", f"param {name} is required")
        return _MISSING

    def text(self, name: str, *, required: bool = True, limit: int = MAX_TEXT) -> str | None:
        """A string param of at most ``limit`` characters."""
        value = self.get(name, required=required)
        if value is _MISSING:
            return None
        if not isinstance(value, str) or len(value) > limit:
            self.fail(name, "bad_param", f"{name} must be text of at most {limit} characters")
            return None
        return value

    def choice(self, name: str, choices: Collection[str], *, code: str = "bad_param") -> str | None:
        """A string param that must be one of ``choices``."""
        value = self.text(name)
        if value is not None and value not in choices:
            self.fail(name, code, f"{name} {shown(value)} is not one of {', '.join(choices)}")
            return None
        return value

    def decimal(
        self, name: str, low: Decimal, high: Decimal, *, required: bool = True
    ) -> Decimal | None:
        """A decimal param in ``(low, high]``."""
        value = self.get(name, required=required)
        if value is _MISSING:
            return None
        number = to_decimal(value)
        if number is None or not low < number <= high:
            rule = f'a decimal string (such as "0.5") in ({low}, {high}]'
            self.fail(name, "bad_param", f"{name} must be {rule}; it is {shown(value)}")
            return None
        return number

    def integer(self, name: str, low: int, high: int, *, default: int | None = None) -> int | None:
        """An integer param in ``[low, high]`` (``default`` when absent and not required)."""
        value = self.get(name, required=default is None)
        if value is _MISSING:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.fail(name, "bad_param", f"{name} must be an integer in [{low}, {high}]")
            return None
        return value


def to_decimal(value: object) -> Decimal | None:
    """A plain, normalised decimal from a string, an int or a Decimal; ``None`` if not one."""
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        return None
    if isinstance(value, Decimal):
        if not value.is_finite() or not -19 <= value.adjusted() <= 18:
            return None
        value = format(value, "f")
    elif isinstance(value, int):
        if value.bit_length() > 64:
            return None
        value = str(value)
    if not _DECIMAL.fullmatch(value):
        return None
    number = Decimal(value).normalize()
    return Decimal(0) if number == 0 else Decimal(format(number, "f"))


def parse_params(
    node: str | None, kind: str, params: object, log: ErrorLog, known_assets: Collection[str]
) -> NodeParams | None:
    """Validate the params of a node of ``kind``; ``None`` (and errors logged) when invalid."""
    if not isinstance(params, dict):
        log.add(node, "params", "bad_param", "params must be an object")
        return None
    allowed, build = _KINDS[kind]
    reader = ParamReader(node, params, allowed, log, known_assets)
    result = build(reader)
    return result if reader.ok else None


def _market(reader: ParamReader) -> MarketParams | None:
    asset = reader.text("asset")
    interval = reader.choice("interval", tuple(INTERVALS), code="unknown_interval")
    if asset is not None and asset not in reader.known_assets:
        reader.fail("asset", "unknown_asset", f"asset {shown(asset)} is not in the registry")
        return None
    if asset is None or interval is None:
        return None
    return MarketParams(asset, interval)


def _feature(reader: ParamReader) -> FeatureParams | None:
    key = reader.text("channel")
    component = reader.text("component", required=False)
    if key is None:
        return None
    try:
        spec = ChannelSpec.parse(key)
    except ValueError as exc:  # FeatureError, or an integer too long to read
        reader.fail("channel", "bad_channel", f"channel {shown(key)} is not valid: {exc}")
        return None
    if spec.kind in UNSUPPORTED_CHANNELS:
        reader.fail(
            "channel",
            "unsupported_channel",
            f"channel {spec.kind} is not about a traded asset; graphs cannot read it yet",
        )
        return None
    names = COMPONENTS.get(spec.kind, ())
    if component is not None and component not in names:
        known = ", ".join(names) or "none"
        message = f"{spec.kind} has no component {shown(component)}; components: {known}"
        reader.fail("component", "bad_component", message)
        return None
    return FeatureParams(spec.key, component)


def _rule(reader: ParamReader) -> RuleParams | None:
    op = reader.choice("op", RULE_OPS)
    if op in LOGICAL and reader.params.get("threshold") is not None:
        reader.fail("threshold", "bad_param", f"a threshold does not apply to {op}")
        return None
    threshold = _threshold(reader)
    return None if op is None else RuleParams(op, threshold)


def _threshold(reader: ParamReader) -> Decimal | None:
    value = reader.get("threshold", required=False)
    if value is _MISSING:
        return None
    number = to_decimal(value)
    if number is None:
        message = f'threshold must be a decimal string such as "70"; it is {shown(value)}'
        reader.fail("threshold", "bad_param", message)
    return number


def _model(reader: ParamReader) -> ModelParams | None:
    template = reader.choice("promptTemplate", PROMPT_TEMPLATES)
    tier = reader.choice("modelTier", MODEL_TIERS)
    instructions = reader.text("instructions", required=False, limit=MAX_INSTRUCTIONS)
    if template is None or tier is None:
        return None
    return ModelParams(template, tier, instructions or "")


def _risk(reader: ParamReader) -> RiskParams | None:
    size = reader.decimal("sizeFraction", Decimal(0), Decimal(1))
    leverage = reader.integer("leverage", 1, 50)
    stop = reader.decimal("stopLossPct", Decimal(0), Decimal(50), required=False)
    take = reader.decimal("takeProfitPct", Decimal(0), Decimal(1000), required=False)
    positions = reader.integer("maxOpenPositions", 1, 10, default=1)
    if size is None or leverage is None or positions is None:
        return None
    return RiskParams(RiskLimits(size, leverage, stop, take, positions))


def _action(_reader: ParamReader) -> ActionParams:
    return ActionParams()


_KINDS: Mapping[str, tuple[tuple[str, ...], Callable[[ParamReader], NodeParams | None]]] = {
    "market": (("asset", "interval"), _market),
    "feature": (("channel", "component"), _feature),
    "rule": (("op", "threshold"), _rule),
    "model": (("promptTemplate", "modelTier", "instructions"), _model),
    "risk": (
        ("sizeFraction", "leverage", "stopLossPct", "takeProfitPct", "maxOpenPositions"),
        _risk,
    ),
    "action": ((), _action),
}
