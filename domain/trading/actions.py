"""The action schema a model answers in, and the validation that turns its text into actions.

Why it exists: a model's answer is untrusted text. Whatever it says, a decision tick must
end with exactly one action per traded asset, and every number that reaches sizing must be
inside the strategy's caps. So :func:`parse_actions` never raises: anything it cannot accept
becomes ``hold`` for the asset concerned, with an error that names the asset and the field,
and the raw text stays in the audit next to it.

The answer (:data:`ACTION_SCHEMA`, also sent to OpenAI-compatible servers as the
``response_format`` json_schema) is ``{"actions": [...]}`` with, per asset:

- ``asset`` (required): one of the strategy's assets; ``signal`` (required): ``open_long``,
  ``open_short``, ``close`` or ``hold``.
- ``sizeFraction``: margin as a fraction of equity, in (0, 1] and at most the strategy's
  ``RiskLimits.size_fraction``; absent means the strategy's own fraction.
- ``leverage``: an integer from 1 to ``RiskLimits.leverage``; absent means the cap.
- ``stopLoss``, ``takeProfit``: positive prices; absent means the strategy's percentages.
  The engine enforces them; they are never checked against the market here.
- ``confidence``: 0 to 1; ``justification``: at most 500 characters.

Decimals may be JSON numbers or decimal strings; ``null`` is the same as absent. Numbers are
decoded straight to ``Decimal`` from their printed form (``parse_float``/``parse_int``), so no
float ever holds a price. Rules of the whole answer:

- Not JSON (a fenced ```json block is unwrapped first, as chat models like to send one), or
  not the top-level shape: every asset holds, one ``malformed_json:`` or ``schema:`` error.
- An action with an unknown asset is dropped with an error; one with any invalid or unknown
  field makes its asset hold; two actions for one asset make it hold; an asset not mentioned
  holds without an error (holding is a legitimate answer).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from domain.trading.spec import RiskLimits

ACTION_SIGNALS = ("open_long", "open_short", "close", "hold")
MAX_JUSTIFICATION = 500
_DECIMAL_TEXT = r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$"
_DECIMAL_RE = re.compile(_DECIMAL_TEXT)
_FENCE_RE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL | re.IGNORECASE)
_DECIMAL: dict[str, Any] = {"type": ["string", "number", "null"], "pattern": _DECIMAL_TEXT}
_PRICE: dict[str, Any] = {**_DECIMAL, "exclusiveMinimum": 0}

ACTION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["actions"],
    "properties": {
        "actions": {
            "type": "array",
            "description": "One action per traded asset.",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["asset", "signal"],
                "properties": {
                    "asset": {"type": "string"},
                    "signal": {"enum": list(ACTION_SIGNALS)},
                    "sizeFraction": {**_DECIMAL, "exclusiveMinimum": 0, "maximum": 1},
                    "leverage": {"type": ["integer", "null"], "minimum": 1},
                    "stopLoss": _PRICE,
                    "takeProfit": _PRICE,
                    "confidence": {**_DECIMAL, "minimum": 0, "maximum": 1},
                    "justification": {
                        "type": ["string", "null"],
                        "maxLength": MAX_JUSTIFICATION,
                    },
                },
            },
        }
    },
}


@dataclass(frozen=True)
class Action:
    """One asset's decision; ``None`` fields fall back to the strategy's risk limits."""

    asset: str
    signal: str
    size_fraction: Decimal | None = None
    leverage: int | None = None
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None
    confidence: Decimal | None = None
    justification: str = ""

    @classmethod
    def hold(cls, asset: str) -> Action:
        """Hold ``asset``: the answer whenever nothing acceptable was said about it."""
        return cls(asset, "hold")

    def to_document(self) -> dict[str, Any]:
        """The document in the schema's own field names (decimals as strings)."""
        return {
            "asset": self.asset,
            "signal": self.signal,
            "sizeFraction": _text(self.size_fraction),
            "leverage": self.leverage,
            "stopLoss": _text(self.stop_loss),
            "takeProfit": _text(self.take_profit),
            "confidence": _text(self.confidence),
            "justification": self.justification,
        }


@dataclass(frozen=True)
class ActionSet:
    """Exactly one action per asset, in asset order, and what was wrong with the answer."""

    actions: tuple[Action, ...]
    errors: tuple[str, ...] = ()

    @property
    def valid(self) -> bool:
        """Whether the answer was accepted as it stood (no errors)."""
        return not self.errors

    def to_document(self) -> dict[str, Any]:
        """The document kept with the decision."""
        return {
            "actions": [action.to_document() for action in self.actions],
            "errors": list(self.errors),
            "valid": self.valid,
        }


def parse_actions(text: str, *, assets: Sequence[str], risk: RiskLimits) -> ActionSet:
    """Read a model's answer into one action per asset; never raise (see the module doc)."""
    wanted = tuple(dict.fromkeys(assets))
    items, error = _action_items(text)
    if error is not None:
        return ActionSet(tuple(Action.hold(asset) for asset in wanted), (error,))
    errors: list[str] = []
    chosen: dict[str, Action | None] = {}
    repeated: set[str] = set()
    for index, item in enumerate(items):
        asset, action, problems = _read_action(index, item, wanted, risk)
        errors += problems
        if asset is not None and asset in chosen:
            repeated.add(asset)
        elif asset is not None:
            chosen[asset] = action
    for asset in wanted:
        if asset in repeated:
            errors.append(f"action: asset={asset} field=asset: more than one action")
    actions = tuple(
        (None if asset in repeated else chosen.get(asset)) or Action.hold(asset) for asset in wanted
    )
    return ActionSet(actions, tuple(errors))


def _action_items(text: str) -> tuple[list[Any], str | None]:
    fenced = None if text.lstrip().startswith("{") else _FENCE_RE.search(text)
    body = fenced.group(1) if fenced else text
    try:
        document = json.loads(body, parse_float=Decimal, parse_int=Decimal, parse_constant=Decimal)
    except (ValueError, ArithmeticError, RecursionError) as exc:
        # ArithmeticError: a number whose exponent no Decimal can hold.
        return [], f"malformed_json: {_clip(str(exc) or type(exc).__name__, 80)}"
    if not isinstance(document, dict):
        return [], "schema: the answer is not a JSON object"
    unknown = sorted(set(document) - {"actions"})
    if unknown:
        return [], f"schema: unknown top-level field {_show(unknown[0])}"
    items = document.get("actions")
    if not isinstance(items, list):
        return [], "schema: the answer has no actions array"
    return items, None


def _read_action(
    index: int, item: object, wanted: tuple[str, ...], risk: RiskLimits
) -> tuple[str | None, Action | None, list[str]]:
    if not isinstance(item, dict):
        return None, None, [f"action: actions[{index}]: not an object"]
    asset = item.get("asset")
    if not isinstance(asset, str):
        return None, None, [f"action: actions[{index}] field=asset: missing or not a string"]
    if asset not in wanted:
        return None, None, [f"action: asset={_clip(asset, 40)} field=asset: not a traded asset"]
    values: dict[str, Any] = {}
    problems = [
        f"action: asset={asset} field={_clip(name, 40)}: unknown field"
        for name in sorted(set(item) - set(_READERS) - {"asset"})
    ]
    for name, reader in _READERS.items():
        try:
            values[name] = reader(item.get(name), risk)
        except _Invalid as exc:
            problems.append(f"action: asset={asset} field={name}: {exc}")
    if problems:
        return asset, None, problems
    return asset, Action(asset, **{_ATTRIBUTES[name]: value for name, value in values.items()}), []


class _Invalid(ValueError):
    pass


def _signal(value: object, _risk: RiskLimits) -> str:
    if value not in ACTION_SIGNALS:
        raise _Invalid(f"{_show(value)} is not one of {', '.join(ACTION_SIGNALS)}")
    return str(value)


def _size_fraction(value: object, risk: RiskLimits) -> Decimal | None:
    size = _decimal(value)
    cap = min(risk.size_fraction, Decimal(1))
    if size is not None and size <= 0:
        raise _Invalid(f"{size} is not above 0")
    if size is not None and size > cap:
        raise _Invalid(f"{size} is above the cap {cap}")
    return size


def _leverage(value: object, risk: RiskLimits) -> int | None:
    if value is None:
        return None
    if not isinstance(value, Decimal) or not value.is_finite() or value != value.to_integral():
        raise _Invalid(f"{_show(value)} is not an integer")
    # Range first: int() of a huge exponent would allocate without bound.
    if value < 1 or value > risk.leverage:
        raise _Invalid(f"{value} is outside 1..{risk.leverage}")
    return int(value)


def _price(value: object, _risk: RiskLimits) -> Decimal | None:
    price = _decimal(value)
    if price is not None and price <= 0:
        raise _Invalid(f"{price} is not a positive price")
    return price


def _confidence(value: object, _risk: RiskLimits) -> Decimal | None:
    confidence = _decimal(value)
    if confidence is not None and not 0 <= confidence <= 1:
        raise _Invalid(f"{confidence} is outside 0..1")
    return confidence


def _justification(value: object, _risk: RiskLimits) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _Invalid(f"{_show(value)} is not a string")
    if len(value) > MAX_JUSTIFICATION:
        raise _Invalid(f"{len(value)} characters is over {MAX_JUSTIFICATION}")
    return value


def _decimal(value: object) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, str) and _DECIMAL_RE.fullmatch(value):
        try:
            value = Decimal(value)
        except ArithmeticError:
            raise _Invalid(f"{_show(value)} is out of range") from None
    if not isinstance(value, Decimal):
        raise _Invalid(f"{_show(value)} is not a decimal number")
    if not value.is_finite():
        raise _Invalid(f"{value} is not a finite number")
    return value


_READERS: Mapping[str, Callable[[object, RiskLimits], object]] = {
    "signal": _signal,
    "sizeFraction": _size_fraction,
    "leverage": _leverage,
    "stopLoss": _price,
    "takeProfit": _price,
    "confidence": _confidence,
    "justification": _justification,
}
_ATTRIBUTES = {
    "signal": "signal",
    "sizeFraction": "size_fraction",
    "leverage": "leverage",
    "stopLoss": "stop_loss",
    "takeProfit": "take_profit",
    "confidence": "confidence",
    "justification": "justification",
}


def _show(value: object) -> str:
    return _clip(str(value) if isinstance(value, Decimal) else repr(value), 40)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)
