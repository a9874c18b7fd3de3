"""What model calls cost: prices per model, and one tick's calls as usage lines.

Why here: the trading worker, dry runs and backtests all call models through the same
router, and each must count its calls the same way; the arithmetic is pure, so it lives in
the domain and the adapters only store its result (``adapters.model_usage``).

Invariants:

- **Money is an integer of micro-USD.** A price is USD per million tokens (a ``Decimal``),
  so a call's cost in micro-USD is exactly ``tokens_in * input price + tokens_out * output
  price``: the two factors of a million cancel. That exact amount is quantized **once per
  call**, to a whole micro-USD, **half up** (1,234 in + 567 out tokens at 0.15/0.60 USD per
  million is 525.3, so 525 micro-USD, 0.000525 USD). Sums are sums of those integers.
- **Every routed attempt is a call**: the one that answered, and each failed attempt
  before it (timeouts, 429, 5xx, a body that is not chat-completions), which count as
  errors. Only the answering attempt carries tokens (a failed call reports none), so only
  it costs money.
- **Usage is keyed by the route's model name** (the one in ``CLASH_MODEL_ROUTES`` and in
  the price list), not the name the provider answers with (``gpt-4o-mini-2024-07-18``),
  which the decision row keeps.
- The ``rules`` provider is free. Any other model missing from the price list costs 0 and
  its answered calls are counted as ``unpriced_calls``, so a report can say so.
- A strategy without a model node (or a dry run without a grant) is answered by the rules
  directly, without routing: that is no model call and is not counted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from domain.trading.errors import BadUsageRange

MICROS_PER_USD = 1_000_000
FREE_PROVIDERS = frozenset({"rules"})
MAX_REPORT_DAYS = 366
_MICRO = Decimal("0.000001")


@dataclass(frozen=True)
class ModelPrice:
    """What a model charges, in USD per million tokens read and written."""

    input_per_million_usd: Decimal
    output_per_million_usd: Decimal

    def cost_micros(self, tokens_in: int, tokens_out: int) -> int:
        """One call's cost in micro-USD, rounded half up to a whole micro-USD."""
        exact = tokens_in * self.input_per_million_usd + tokens_out * self.output_per_million_usd
        return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


FREE = ModelPrice(Decimal(0), Decimal(0))


@dataclass(frozen=True)
class PriceBook:
    """Prices by model name (``CLASH_MODEL_PRICES``); the rules provider is always free."""

    prices: Mapping[str, ModelPrice]

    def price(self, provider: str, model: str) -> ModelPrice | None:
        """The model's price, ``FREE`` for free providers, ``None`` when unpriced."""
        if provider in FREE_PROVIDERS:
            return FREE
        return self.prices.get(model)


@dataclass(frozen=True)
class UsageLine:
    """One provider and model's calls: counts, tokens and cost in micro-USD."""

    provider: str
    model: str
    calls: int = 0
    errors: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_micros: int = 0
    unpriced_calls: int = 0

    def __add__(self, other: UsageLine) -> UsageLine:
        return UsageLine(
            self.provider,
            self.model,
            self.calls + other.calls,
            self.errors + other.errors,
            self.tokens_in + other.tokens_in,
            self.tokens_out + other.tokens_out,
            self.cost_micros + other.cost_micros,
            self.unpriced_calls + other.unpriced_calls,
        )


def usage_lines(
    attempts: Sequence[Mapping[str, Any]], tokens: tuple[int, int], prices: PriceBook
) -> tuple[UsageLine, ...]:
    """The calls of one routing (its attempts, oldest first) as lines per provider and model.

    ``tokens`` are the answering attempt's (prompt, completion) tokens: that attempt is the
    last one whose outcome is ``ok`` (routing stops at the first success).
    """
    answered = max((i for i, a in enumerate(attempts) if a.get("outcome") == "ok"), default=-1)
    lines = [_line(a, tokens if i == answered else None, prices) for i, a in enumerate(attempts)]
    return merge(lines)


def merge(lines: Iterable[UsageLine]) -> tuple[UsageLine, ...]:
    """Sum lines of the same provider and model (in first-seen order)."""
    merged: dict[tuple[str, str], UsageLine] = {}
    for line in lines:
        key = (line.provider, line.model)
        merged[key] = merged[key] + line if key in merged else line
    return tuple(merged.values())


def _line(
    attempt: Mapping[str, Any], tokens: tuple[int, int] | None, prices: PriceBook
) -> UsageLine:
    provider, model = str(attempt.get("provider")), str(attempt.get("model"))
    if tokens is None:  # a failed attempt: no tokens reported, nothing charged
        return UsageLine(provider, model, calls=1, errors=1)
    price = prices.price(provider, model)
    cost = 0 if price is None else price.cost_micros(*tokens)
    return UsageLine(provider, model, 1, 0, tokens[0], tokens[1], cost, int(price is None))


def usd(micros: int) -> str:
    """A micro-USD amount as a USD decimal string with six places (``525`` -> ``0.000525``)."""
    return str((Decimal(micros) / MICROS_PER_USD).quantize(_MICRO))


def usd_to_micros(amount: Decimal) -> int:
    """A USD amount in whole micro-USD (settings allow at most six decimal places)."""
    micros = amount * MICROS_PER_USD
    if micros != micros.to_integral_value():
        raise ValueError(f"amount={amount} has more than six decimal places")
    return int(micros)


@dataclass(frozen=True)
class ReportRange:
    """An inclusive range of UTC days a usage report covers."""

    start: date
    end: date

    @classmethod
    def of(cls, start: date, end: date) -> ReportRange:
        """Check the range: ``start`` not after ``end``, at most :data:`MAX_REPORT_DAYS` days."""
        if start > end:
            raise BadUsageRange(f"from={start} is after to={end}")
        if (end - start) >= timedelta(days=MAX_REPORT_DAYS):
            raise BadUsageRange(f"from={start} to={end} spans more than {MAX_REPORT_DAYS} days")
        return cls(start, end)
