"""Rule evaluation: does a compiled condition hold at this decision tick?

Dry runs, backtests and live trading all call :func:`evaluate`, so a rule means the same
thing everywhere. Its input is a :data:`Window`: for each channel, the previous and the
current value knowable at the tick (no look-ahead is the caller's contract, met by reading
market memory with ``knowable_at <= tick``).

Semantics:

- ``gt``/``gte``/``lt``/``lte`` compare the current values (``left op right``, or ``left op
  threshold``).
- ``crosses_above``: ``prev_left <= prev_right`` and ``cur_left > cur_right``; touching and
  then moving above counts, staying equal does not. ``crosses_below`` mirrors it
  (``prev_left >= prev_right`` and ``cur_left < cur_right``). A threshold is the constant on
  both instants.
- Not enough data is never a signal: a comparison or crossover that needs a value the
  window lacks (absent channel, ``None``, NaN) is *unknown*. ``and``/``or``/``not`` follow
  three-valued (Kleene) logic, so ``not`` of unknown stays unknown, ``and`` with a false
  child is false and ``or`` with a true child is true; the final answer is ``True`` only
  when the condition is known to hold.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from domain.trading.spec import ChannelRef, Condition

Window = Mapping[ChannelRef, tuple[Decimal | None, Decimal | None]]
_NOTHING: tuple[None, None] = (None, None)


def evaluate(condition: Condition, window: Window) -> bool:
    """Whether ``condition`` is known to hold on ``window`` (missing data gives ``False``)."""
    return _truth(condition, window) is True


def _truth(condition: Condition, window: Window) -> bool | None:
    op = condition.op
    if op == "and":
        return _all(condition.children, window)
    if op == "or":
        return _any(condition.children, window)
    if op == "not":
        inner = _truth(condition.children[0], window)
        return None if inner is None else not inner
    if condition.left is None:
        return None
    prev_left, left = window.get(condition.left, _NOTHING)
    prev_right, right = _right(condition, window)
    if op in _COMPARE:
        return _compare(op, left, right)
    if op == "crosses_above":
        return _both(_compare("lte", prev_left, prev_right), _compare("gt", left, right))
    if op == "crosses_below":
        return _both(_compare("gte", prev_left, prev_right), _compare("lt", left, right))
    raise ValueError(f"op={op!r} is not a condition operator")


def _right(condition: Condition, window: Window) -> tuple[Decimal | None, Decimal | None]:
    if condition.threshold is not None:
        return condition.threshold, condition.threshold
    if condition.right is None:
        return _NOTHING
    return window.get(condition.right, _NOTHING)


def _compare(op: str, left: Decimal | None, right: Decimal | None) -> bool | None:
    if left is None or right is None or left.is_nan() or right.is_nan():
        return None
    return _COMPARE[op](left, right)


def _both(first: bool | None, second: bool | None) -> bool | None:
    if first is False or second is False:
        return False
    if first is None or second is None:
        return None
    return True


def _all(children: tuple[Condition, ...], window: Window) -> bool | None:
    result: bool | None = True
    for child in children:
        result = _both(result, _truth(child, window))
        if result is False:
            return False
    return result


def _any(children: tuple[Condition, ...], window: Window) -> bool | None:
    result: bool | None = False
    for child in children:
        value = _truth(child, window)
        if value is True:
            return True
        if value is None:
            result = None
    return result


_COMPARE = {
    "gt": Decimal.__gt__,
    "gte": Decimal.__ge__,
    "lt": Decimal.__lt__,
    "lte": Decimal.__le__,
}
