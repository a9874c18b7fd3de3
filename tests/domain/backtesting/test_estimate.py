"""The run estimate and the per-run caps: windows, measures, and every tier at the boundary."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.backtesting.errors import BadBacktestWindow, CapViolation
from domain.backtesting.estimate import (
    ANSWER_TOKENS_PER_ASSET,
    PROMPT_BASE_TOKENS,
    TOKENS_PER_ASSET,
    TOKENS_PER_CHANNEL_LABEL,
    TOKENS_PER_CHANNEL_VALUE,
    Estimate,
    ReplayWindow,
    check_caps,
    custom_window,
    estimate,
    last_6h,
    tokens_per_call,
)
from domain.clones.graph import compile_graph, parse_graph
from domain.clones.tiers import DEFAULT_TIERS, TierLimits
from domain.trading.context import SERIES_LENGTH
from domain.trading.spec import StrategySpec
from tests.domain.clones.graph_examples import ASSETS, ema_crossover, find, llm_strategy

NOW = datetime(2021, 7, 3, 7, 3, 20, tzinfo=UTC)  # market time, mid-candle
SIX = datetime(2021, 7, 3, 7, 0, tzinfo=UTC)


def spec_of(graph: dict[str, Any]) -> StrategySpec:
    return compile_graph(parse_graph(graph, known_assets=ASSETS))


def model_on_5m() -> StrategySpec:
    """The model strategy with both assets on 5-minute cadences."""
    graph = llm_strategy()
    find(graph, "btc")["params"]["interval"] = "5m"
    find(graph, "eth")["params"]["interval"] = "5m"
    return spec_of(graph)


RULES = spec_of(ema_crossover())  # BTC at 5 minutes, no model node
MODEL = spec_of(llm_strategy())  # BTC at 1 hour, ETH at 15 minutes, a model node


# --- windows -------------------------------------------------------------------------------


def test_last_6h_ends_at_the_latest_close_and_holds_72_five_minute_steps() -> None:
    window = last_6h(RULES, NOW)
    assert (window.shape, window.start, window.end) == ("last_6h", SIX - timedelta(hours=6), SIX)
    assert estimate(RULES, window).steps == 72


def test_last_6h_is_aligned_to_the_fastest_cadence() -> None:
    window = last_6h(MODEL, NOW)  # 15 minutes is the fastest
    assert window.end == SIX
    assert estimate(MODEL, window).steps == 24


def test_a_custom_window_is_floored_to_the_cadence() -> None:
    window = custom_window(RULES, SIX - timedelta(minutes=62), SIX - timedelta(seconds=1), NOW)
    assert (window.shape, window.start, window.end) == (
        "custom",
        SIX - timedelta(minutes=65),
        SIX - timedelta(minutes=5),
    )
    assert estimate(RULES, window).steps == 12


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (SIX, SIX),  # empty
        (SIX, SIX - timedelta(hours=1)),  # reversed
        (SIX + timedelta(minutes=1), SIX + timedelta(minutes=3)),  # no whole step
        (SIX - timedelta(hours=1), NOW + timedelta(seconds=1)),  # after the market's now
        (datetime(2021, 7, 3), SIX),  # naive
    ],
)
def test_a_bad_custom_window_is_refused(start: datetime, end: datetime) -> None:
    with pytest.raises(BadBacktestWindow):
        custom_window(RULES, start, end, NOW)


def test_a_window_ending_exactly_at_the_markets_now_is_allowed() -> None:
    window = custom_window(RULES, SIX - timedelta(hours=1), SIX, SIX)
    assert estimate(RULES, window).steps == 12


# --- measures ------------------------------------------------------------------------------


def test_a_rules_strategy_calls_no_model() -> None:
    assert estimate(RULES, last_6h(RULES, NOW)) == Estimate(72, 72, 1, 0, 0)


def test_a_model_strategy_calls_once_per_tick_instant_of_any_asset() -> None:
    found = estimate(MODEL, last_6h(MODEL, NOW))
    # ETH ticks 24 times at 15 minutes, BTC 6 times at 1 hour, always with ETH.
    assert (found.steps, found.decision_ticks, found.active_assets) == (24, 30, 2)
    assert found.decision_calls == 24
    assert found.estimated_tokens == 24 * tokens_per_call(MODEL)


def test_cadences_that_do_not_divide_each_other_call_at_each_distinct_instant() -> None:
    graph = llm_strategy()
    find(graph, "btc")["params"]["interval"] = "3m"
    find(graph, "eth")["params"]["interval"] = "5m"
    spec = spec_of(graph)
    window = ReplayWindow("custom", SIX - timedelta(hours=1), SIX)
    found = estimate(spec, window)
    # 20 instants at 3 minutes, 12 at 5 minutes, 4 shared (every 15 minutes).
    assert (found.steps, found.decision_ticks, found.decision_calls) == (20, 32, 28)


def test_the_per_call_token_estimate_follows_the_documented_formula() -> None:
    assert MODEL.model is not None
    channels, assets = len(MODEL.channels), len(MODEL.assets)
    instructions = -(-len(MODEL.model.instructions) // 4)
    expected = (
        PROMPT_BASE_TOKENS
        + instructions
        + assets * (TOKENS_PER_ASSET + ANSWER_TOKENS_PER_ASSET)
        + channels * (SERIES_LENGTH * TOKENS_PER_CHANNEL_VALUE + TOKENS_PER_CHANNEL_LABEL)
    )
    assert tokens_per_call(MODEL) == expected
    assert tokens_per_call(RULES) == 0


def test_decision_ticks_never_exceed_steps_times_assets() -> None:
    spec = model_on_5m()
    found = estimate(spec, last_6h(spec, NOW))
    assert found.decision_ticks == found.steps * found.active_assets == 144
    assert found.decision_calls == found.steps


def test_cost_figures_are_shown_only_when_revealed() -> None:
    found = estimate(MODEL, last_6h(MODEL, NOW))
    assert found.to_document(reveal_costs=False) == {
        "steps": 24,
        "decisionTicks": 30,
        "activeAssets": 2,
    }
    assert found.to_document(reveal_costs=True)["decisionCalls"] == 24
    assert Estimate.from_record(found.to_record()) == found


# --- caps, per tier at the boundary --------------------------------------------------------


def at_caps(tier: TierLimits) -> Estimate:
    return Estimate(
        steps=tier.backtest_max_replay_steps,
        decision_ticks=tier.backtest_max_replay_steps,
        active_assets=tier.backtest_max_assets,
        decision_calls=tier.backtest_max_decision_calls,
        estimated_tokens=tier.backtest_max_tokens,
    )


CAPS = {
    "replay_steps": "steps",
    "active_assets": "active_assets",
    "decision_calls": "decision_calls",
    "estimated_tokens": "estimated_tokens",
}


@pytest.mark.parametrize("tier", DEFAULT_TIERS, ids=lambda t: t.name)
def test_exactly_at_every_cap_fits(tier: TierLimits) -> None:
    assert check_caps(at_caps(tier), tier) == []


@pytest.mark.parametrize("cap", sorted(CAPS))
@pytest.mark.parametrize("tier", DEFAULT_TIERS, ids=lambda t: t.name)
def test_one_over_a_cap_names_that_cap(tier: TierLimits, cap: str) -> None:
    found = at_caps(tier)
    measure = CAPS[cap]
    over = replace(found, **{measure: getattr(found, measure) + 1})
    assert check_caps(over, tier) == [
        CapViolation(cap, getattr(found, measure), getattr(over, measure))
    ]


def test_the_roadmap_defaults_are_the_tier_caps() -> None:
    caps = [
        (t.name, t.backtest_daily_runs, t.backtest_max_decision_calls, t.backtest_max_assets,
         t.backtest_max_tokens)
        for t in DEFAULT_TIERS
    ]  # fmt: skip
    assert caps == [
        ("starter", 3, 24, 3, 120_000),
        ("builder", 10, 100, 6, 500_000),
        ("pro", 25, 200, 10, 1_000_000),
    ]


def test_a_starter_model_strategy_fits_two_hours_at_five_minutes_but_not_six() -> None:
    starter = DEFAULT_TIERS[0]
    spec = model_on_5m()
    two_hours = ReplayWindow("custom", SIX - timedelta(hours=2), SIX)
    assert check_caps(estimate(spec, two_hours), starter) == []
    six_hours = estimate(spec, last_6h(spec, NOW))
    assert [v.cap for v in check_caps(six_hours, starter)] == ["decision_calls"]


def test_cost_caps_hide_their_figures_unless_revealed() -> None:
    hidden = CapViolation("decision_calls", 24, 72).to_document(reveal_costs=False)
    shown = CapViolation("replay_steps", 288, 289).to_document(reveal_costs=False)
    assert hidden == {"cap": "decision_calls"}
    assert shown == {"cap": "replay_steps", "limit": 288, "value": 289}
