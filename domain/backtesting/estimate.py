"""What a backtest would cost, known before it runs: the window, the estimate, the caps.

Replay multiplies provider calls and tokens, so every run is estimated and checked against
the clone's tier before it is accepted (inline preflight or async start), and the estimate
is kept on the job. All of it is arithmetic on the compiled spec and the window: no data
is read, so a preflight is cheap and never uses quota.

Windows (:func:`last_6h`, :func:`custom_window`) are aligned to the strategy's fastest
cadence and never reach past the market clock's now: ``last_6h`` ends at the latest market
time (now floored to the fastest cadence; 72 steps at 5 minutes); a custom window's ends
are floored to the cadence, and it must be aware, non-empty and end by the market's now.

A decision instant of a cadence is an epoch-aligned boundary ``t`` with
``start < t <= end``: the close of a bar inside the window, as the replay engine steps
(``domain.backtesting.replay``: bars closing in ``(start, end]``). Every bar of the window
is therefore knowable at its end; the orders of the decision at ``end`` stay unfilled.

The measures (:class:`Estimate`):

- ``steps``: decision instants of the fastest cadence (the replay's clock steps);
- ``decision_ticks``: the sum over assets of their own instants (at most steps x assets);
- ``active_assets``: the assets the spec trades;
- ``decision_calls``: instants at which a model node is asked: 0 for a rules strategy, one
  per distinct instant of any asset for a model strategy (all due assets in one call);
- ``estimated_tokens``: calls x :func:`tokens_per_call`, a documented upper-bound guess of
  prompt v1 plus the answer.

Steps, assets and ticks are user-facing; calls and tokens are cost figures, shown to
admins only (``reveal_costs``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import combinations
from typing import Any, Literal

from domain.backtesting.errors import BadBacktestWindow, CapViolation
from domain.clones.tiers import TierLimits
from domain.market.intervals import EPOCH, floor_to_interval, interval_length
from domain.trading.context import SERIES_LENGTH
from domain.trading.spec import StrategySpec

WindowShape = Literal["last_6h", "custom"]
LAST_6H = timedelta(hours=6)

# Per-call token estimate of prompt v1 (about 4 characters per token), an upper bound:
# the system text with the action schema, headers and account block; per asset its market
# line, hint line and a position line; per channel ``SERIES_LENGTH`` values and a label;
# the owner's instructions; and an answer allowance of one action object per asset.
PROMPT_BASE_TOKENS = 600
TOKENS_PER_ASSET = 80
TOKENS_PER_CHANNEL_VALUE = 6
TOKENS_PER_CHANNEL_LABEL = 15
ANSWER_TOKENS_PER_ASSET = 120
CHARACTERS_PER_TOKEN = 4


@dataclass(frozen=True)
class ReplayWindow:
    """The market-time span a run replays (bars closing in ``(start, end]``), and its shape."""

    shape: WindowShape
    start: datetime
    end: datetime

    def to_document(self) -> dict[str, str]:
        """The window as JSON-ready data."""
        return {"shape": self.shape, "start": _iso(self.start), "end": _iso(self.end)}


@dataclass(frozen=True)
class Estimate:
    """The measures of one run; see the module docstring."""

    steps: int
    decision_ticks: int
    active_assets: int
    decision_calls: int
    estimated_tokens: int

    def to_document(self, *, reveal_costs: bool) -> dict[str, int]:
        """camelCase figures; calls and tokens only with ``reveal_costs``."""
        found = {
            "steps": self.steps,
            "decisionTicks": self.decision_ticks,
            "activeAssets": self.active_assets,
        }
        if reveal_costs:
            found |= {
                "decisionCalls": self.decision_calls,
                "estimatedTokens": self.estimated_tokens,
            }
        return found

    def to_record(self) -> dict[str, int]:
        """Every figure, as stored on the job."""
        return {
            "steps": self.steps,
            "decision_ticks": self.decision_ticks,
            "active_assets": self.active_assets,
            "decision_calls": self.decision_calls,
            "estimated_tokens": self.estimated_tokens,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Estimate:
        """Rebuild from :meth:`to_record`."""
        return cls(**{name: int(record[name]) for name in cls.__dataclass_fields__})


def fastest_cadence(spec: StrategySpec) -> str:
    """The shortest cadence among the spec's assets."""
    return min((plan.cadence for plan in spec.assets), key=interval_length)


def last_6h(spec: StrategySpec, market_now: datetime) -> ReplayWindow:
    """The six hours ending at the latest market time (now floored to the fastest cadence)."""
    _require_aware(market_now, "market_now")
    end = floor_to_interval(market_now, fastest_cadence(spec))
    return ReplayWindow("last_6h", end - LAST_6H, end)


def custom_window(
    spec: StrategySpec, start: datetime, end: datetime, market_now: datetime
) -> ReplayWindow:
    """``(start, end]`` floored to the fastest cadence (raises BadBacktestWindow)."""
    _require_aware(start, "start")
    _require_aware(end, "end")
    if end > market_now:
        raise BadBacktestWindow(f"end={_iso(end)} is after the market's now={_iso(market_now)}")
    cadence = fastest_cadence(spec)
    floored = ReplayWindow(
        "custom", floor_to_interval(start, cadence), floor_to_interval(end, cadence)
    )
    if floored.start >= floored.end:
        raise BadBacktestWindow(
            f"start={_iso(start)} end={_iso(end)} hold no {cadence} step (start must be before end)"
        )
    return floored


def estimate(spec: StrategySpec, window: ReplayWindow) -> Estimate:
    """Estimate one run of ``spec`` over ``window``."""
    lengths = [_seconds(plan.cadence) for plan in spec.assets]
    steps = _instants(window, min(lengths))
    calls = _union_instants(window, set(lengths)) if spec.model is not None else 0
    return Estimate(
        steps=steps,
        decision_ticks=sum(_instants(window, length) for length in lengths),
        active_assets=len(spec.assets),
        decision_calls=calls,
        estimated_tokens=calls * tokens_per_call(spec),
    )


def tokens_per_call(spec: StrategySpec) -> int:
    """The token estimate of one model call of ``spec`` (0 for a rules strategy)."""
    if spec.model is None:
        return 0
    assets, channels = len(spec.assets), len(spec.channels)
    per_channel = SERIES_LENGTH * TOKENS_PER_CHANNEL_VALUE + TOKENS_PER_CHANNEL_LABEL
    instructions = math.ceil(len(spec.model.instructions) / CHARACTERS_PER_TOKEN)
    return (
        PROMPT_BASE_TOKENS
        + instructions
        + assets * (TOKENS_PER_ASSET + ANSWER_TOKENS_PER_ASSET)
        + channels * per_channel
    )


def check_caps(found: Estimate, tier: TierLimits) -> list[CapViolation]:
    """Every per-run cap of ``tier`` that ``found`` exceeds (empty when it fits).

    The daily quota is not a per-run cap: it is checked when a run is accepted.
    """
    caps = (
        ("replay_steps", tier.backtest_max_replay_steps, found.steps),
        ("active_assets", tier.backtest_max_assets, found.active_assets),
        ("decision_calls", tier.backtest_max_decision_calls, found.decision_calls),
        ("estimated_tokens", tier.backtest_max_tokens, found.estimated_tokens),
    )
    return [CapViolation(cap, limit, value) for cap, limit, value in caps if value > limit]


def _seconds(cadence: str) -> int:
    return int(interval_length(cadence).total_seconds())


def _instants(window: ReplayWindow, seconds: int) -> int:
    # Epoch-aligned multiples of the step in (start, end]: floor(end) - floor(start), exactly.
    step = timedelta(seconds=seconds)
    return max(0, (window.end - EPOCH) // step - (window.start - EPOCH) // step)


def _union_instants(window: ReplayWindow, lengths: set[int]) -> int:
    # Inclusion-exclusion over the distinct cadences: instants of any of them.
    total = 0
    for size in range(1, len(lengths) + 1):
        sign = 1 if size % 2 else -1
        for group in combinations(sorted(lengths), size):
            total += sign * _instants(window, math.lcm(*group))
    return total


def _require_aware(instant: datetime, name: str) -> None:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise BadBacktestWindow(f"{name}={instant.isoformat()} must carry a timezone")


def _iso(instant: datetime) -> str:
    return instant.isoformat().replace("+00:00", "Z")
