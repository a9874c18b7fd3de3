"""Daily model budgets: ok, soft past the ratio, exhausted at the limit; the clone's first."""

from __future__ import annotations

from decimal import Decimal

from domain.trading.budgets import BudgetPolicy, BudgetState

POLICY = BudgetPolicy(
    global_daily_micros=50_000_000,
    per_clone_daily_micros={"starter": 500_000, "frozen": 0},
    soft_ratio=Decimal("0.8"),
)


def test_a_budget_is_soft_from_its_ratio_and_exhausted_at_its_limit() -> None:
    spent = (0, 399_999, 400_000, 500_000)

    states = [POLICY.status("clone", "starter", used, 500_000).state for used in spent]

    assert states == [BudgetState.OK, BudgetState.OK, BudgetState.SOFT, BudgetState.EXHAUSTED]


def test_the_clones_budget_stops_before_the_global_one() -> None:
    stop = POLICY.stop("starter", clone_used=500_123, global_used=50_000_000)

    assert stop is not None
    assert stop.reason() == (
        "budget_exhausted: scope=clone tier=starter used_usd=0.500123 limit_usd=0.500000"
    )


def test_the_global_budget_stops_every_tier_even_without_a_clone_budget() -> None:
    stop = POLICY.stop("pro", clone_used=1, global_used=50_000_001)

    assert stop is not None
    assert (stop.scope, stop.tier, stop.ratio) == ("global", None, Decimal("1.0000"))


def test_under_every_limit_nothing_stops_and_a_raised_limit_resumes() -> None:
    raised = BudgetPolicy(per_clone_daily_micros={"starter": 1_000_000})

    assert POLICY.stop("starter", clone_used=499_999, global_used=10) is None
    assert raised.stop("starter", clone_used=500_000, global_used=10) is None
    assert POLICY.stop(None, clone_used=10**9, global_used=10) is None  # no tier: no clone limit


def test_a_zero_budget_stops_every_call_of_its_scope() -> None:
    stop = POLICY.stop("frozen", clone_used=0, global_used=0)

    assert stop is not None
    assert stop.ratio == Decimal(1)


def test_without_budgets_nothing_is_configured() -> None:
    assert not BudgetPolicy().configured
    assert BudgetPolicy().stop("starter", 10**12, 10**12) is None
