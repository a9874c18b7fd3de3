"""Daily model budgets: a soft warning, then a hard stop, per clone (by tier) and globally.

Why: a model strategy calls a paid model every tick, and backtests multiply that; without
a ceiling one popular tier or one runaway clone spends without bound. Budgets are USD per
UTC day of the service clock (``CLASH_MODEL_BUDGETS``), held as integer micro-USD:

- ``global``: everything every clone spent on models today;
- per tier: what **one clone** of that tier may spend today (its tier is the clone's
  effective grant at the time of the check; a tier without a budget has no clone limit).

A budget is ``soft`` once today's spend reaches ``soft_ratio`` of it (alerts fire, calls
go on) and ``exhausted`` once the spend reaches the limit: from then on a model call that
this budget governs is not made (the tick holds with ``budget_exhausted``) until the next
UTC day, or until the limit or the clone's tier is raised. A limit of 0 therefore stops
every model call of its scope. The check comes before a call, so the call that crosses
the limit completes: a budget is overrun by at most one call per concurrent worker.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from domain.trading.usage import usd

BUDGET_EXHAUSTED = "budget_exhausted"
_RATIO = Decimal("0.0001")


class BudgetState(StrEnum):
    """How much of a budget today's spend used."""

    OK = "ok"
    SOFT = "soft"
    EXHAUSTED = "exhausted"


@dataclass(frozen=True)
class BudgetStatus:
    """One budget today: its scope, what was spent, its limit and its state."""

    scope: str  # global | clone
    tier: str | None
    used_micros: int
    limit_micros: int
    state: BudgetState

    @property
    def ratio(self) -> Decimal:
        """Spent / limit, to four places (1 for a spent limit of 0)."""
        if self.limit_micros == 0:
            return Decimal(1)
        exact = Decimal(self.used_micros) / Decimal(self.limit_micros)
        return exact.quantize(_RATIO, rounding=ROUND_HALF_UP)

    def facts(self) -> str:
        """The budget as ``field=value`` pairs."""
        tier = "" if self.tier is None else f" tier={self.tier}"
        used, limit = usd(self.used_micros), usd(self.limit_micros)
        return f"scope={self.scope}{tier} used_usd={used} limit_usd={limit}"

    def reason(self) -> str:
        """The error a held tick records: the code, then the facts."""
        return f"{BUDGET_EXHAUSTED}: {self.facts()}"


@dataclass(frozen=True)
class BudgetPolicy:
    """The configured budgets in micro-USD (none configured: nothing is ever stopped)."""

    global_daily_micros: int | None = None
    per_clone_daily_micros: Mapping[str, int] = field(default_factory=dict)
    soft_ratio: Decimal = Decimal("0.8")

    @property
    def configured(self) -> bool:
        """Whether any budget is set."""
        return self.global_daily_micros is not None or bool(self.per_clone_daily_micros)

    def status(self, scope: str, tier: str | None, used: int, limit: int) -> BudgetStatus:
        """Judge ``used`` micro-USD against ``limit``."""
        if used >= limit:
            state = BudgetState.EXHAUSTED
        elif used >= self.soft_ratio * limit:
            state = BudgetState.SOFT
        else:
            state = BudgetState.OK
        return BudgetStatus(scope, tier, used, limit, state)

    def global_status(self, used: int) -> BudgetStatus | None:
        """The global budget's status, or ``None`` when there is none."""
        if self.global_daily_micros is None:
            return None
        return self.status("global", None, used, self.global_daily_micros)

    def clone_status(self, tier: str | None, used: int) -> BudgetStatus | None:
        """A clone's budget status under its tier, or ``None`` when the tier has none."""
        limit = None if tier is None else self.per_clone_daily_micros.get(tier)
        return None if limit is None else self.status("clone", tier, used, limit)

    def stop(self, tier: str | None, clone_used: int, global_used: int) -> BudgetStatus | None:
        """The first exhausted budget governing a clone's next call (clone, then global)."""
        for status in (self.clone_status(tier, clone_used), self.global_status(global_used)):
            if status is not None and status.state is BudgetState.EXHAUSTED:
                return status
        return None
