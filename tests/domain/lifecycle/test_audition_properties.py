"""Properties of the audition evaluator on random observation sequences (STYLE rule 20).

- Resuming is invisible: folding a sequence in one go equals folding it with the progress
  stored to JSON and restored after every step (same progress, same outcomes).
- A run ends at most once, and once ended nothing changes it.
- A failure is reported at an observation's instant (a breach) or at the window's end (the
  deadline), and a breach's equity is below its limit.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.lifecycle.audition_evaluator import (
    Failed,
    FillObserved,
    MarkObserved,
    Observation,
    Tick,
    evaluate,
)
from domain.lifecycle.audition_progress import AuditionProgress, BreachRule
from domain.lifecycle.audition_rules import (
    AuditionRules,
    DailyLossBase,
    DailyReference,
    MaxLossMode,
)
from tests.domain.lifecycle.audition_kit import START_AT, persisted

FAST = settings(max_examples=150, deadline=None)
START = Decimal(100_000)
CENT = Decimal("0.01")
_EASY = AuditionRules(
    starting_collateral=START,
    profit_target=Decimal("0.03"),
    min_trading_days=2,
    deadline=timedelta(days=6),
)
RULE_VARIANTS = (
    _EASY,
    replace(_EASY, max_loss_mode=MaxLossMode.EOD_TRAILING, max_loss_lock=True, deadline=None),
    replace(
        _EASY,
        daily_reference=DailyReference.EQUITY_OR_BALANCE_MAX,
        daily_loss_base=DailyLossBase.REFERENCE,
        best_day_share=Decimal("0.5"),
        max_loss_mode=MaxLossMode.EOD_TRAILING,
    ),
)


@st.composite
def observation_sequences(draw: st.DrawFn) -> list[Observation]:
    at = START_AT
    balance = START
    observations: list[Observation] = []
    for _ in range(draw(st.integers(0, 40))):
        at += timedelta(minutes=draw(st.integers(0, 20 * 60)))
        kind = draw(st.sampled_from(("mark", "mark", "fill", "tick")))
        if kind == "fill":
            pnl = draw(st.integers(-300_000, 400_000)) * CENT
            fee = draw(st.integers(0, 1_000)) * CENT
            balance += pnl - fee
            observations.append(FillObserved(at, pnl, fee))
        elif kind == "mark":
            balance += draw(st.integers(-20_000, 20_000)) * CENT  # funding
            open_positions = draw(st.integers(0, 2))
            upnl = draw(st.integers(-800_000, 800_000)) * CENT if open_positions else Decimal(0)
            observations.append(MarkObserved(at, balance + upnl, balance, open_positions))
        else:
            observations.append(Tick(at))
    return observations


def fold(
    rules: AuditionRules, observations: list[Observation], *, restore: bool
) -> tuple[AuditionProgress, list[tuple[int, object]]]:
    progress = AuditionProgress.start(rules, START_AT)
    outcomes: list[tuple[int, object]] = []
    for index, observation in enumerate(observations):
        progress, outcome = evaluate(progress, rules, observation)
        if outcome is not None:
            outcomes.append((index, outcome))
        if restore:
            progress = persisted(progress)
    return progress, outcomes


@FAST
@given(rules=st.sampled_from(RULE_VARIANTS), observations=observation_sequences())
def test_evaluate_with_a_store_and_restore_after_every_step_ends_the_same(rules, observations):
    # Act
    straight = fold(rules, observations, restore=False)
    resumed = fold(rules, observations, restore=True)

    # Assert
    assert resumed == straight


@FAST
@given(rules=st.sampled_from(RULE_VARIANTS), observations=observation_sequences())
def test_evaluate_ends_at_most_once_and_a_finished_run_never_changes(rules, observations):
    # Arrange
    progress = AuditionProgress.start(rules, START_AT)
    outcomes = 0

    for observation in observations:
        # Act
        before = progress
        progress, outcome = evaluate(progress, rules, observation)

        # Assert
        if not before.running:
            assert (progress, outcome) == (before, None)
        outcomes += outcome is not None
        assert (outcome is not None) == (before.running and not progress.running)
    assert outcomes <= 1


@FAST
@given(rules=st.sampled_from(RULE_VARIANTS), observations=observation_sequences())
def test_failure_is_stamped_at_the_breach_or_the_window_end(rules, observations):
    # Act
    _progress, outcomes = fold(rules, observations, restore=False)

    # Assert
    for index, outcome in outcomes:
        if not isinstance(outcome, Failed):
            continue
        if outcome.rule is BreachRule.DEADLINE:
            assert outcome.at == rules.deadline_at(START_AT)
            assert outcome.at <= observations[index].at
        else:
            assert outcome.at == observations[index].at
            assert outcome.limit is not None
            assert outcome.equity < outcome.limit
