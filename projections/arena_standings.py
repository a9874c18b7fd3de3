"""Arena standings: each member's arena account valued now, its return and max drawdown.

The public Arena ranks members by how their arena account trades. The value is the ledger's
account (the aggregate, so a member admitted a moment ago is valued too) at the market
clock's latest marks (``adapters.account_marks.value_at``, the valuation every account
read uses); the return is against the account's opening
collateral; the max drawdown is the largest fall from a running peak (seeded with the
opening collateral) over the mark worker's 5-minute equity snapshots and the value now
(``domain.backtesting.equity_curve.max_drawdown``, the metric every report shares).
Fractions are quantized to millionths, half-even.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from uuid import UUID

from adapters.account_marks import value_at
from adapters.bootstrap import Container
from adapters.database import to_micros
from domain.backtesting.equity_curve import max_drawdown
from domain.prop.money import micros_to_decimal
from projections.prop_queries import PropQueries

STEP = Decimal("0.000001")
PAGE = 5000


@dataclass(frozen=True)
class Standing:
    """A member's arena account now."""

    account_value: Decimal
    total_return: Decimal
    max_drawdown_pct: Decimal


def standing(container: Container, queries: PropQueries, account_id: UUID) -> Standing:
    """The arena account's value now, its return and its max drawdown."""
    account = container.prop.account(account_id)
    now = container.market_clock.now()
    value = value_at(account, container.market, container.assets, now).account_value
    opening = micros_to_decimal(account.opening_micros)
    _, fraction = max_drawdown(opening, [*_snapshot_values(queries, account_id), value])
    total_return = value / opening - 1 if opening > 0 else Decimal(0)
    return Standing(
        value,
        total_return.quantize(STEP, rounding=ROUND_HALF_EVEN),
        fraction.quantize(STEP, rounding=ROUND_HALF_EVEN),
    )


def _snapshot_values(queries: PropQueries, account_id: UUID) -> list[Decimal]:
    values: list[Decimal] = []
    after = 0
    while rows := queries.snapshots(str(account_id), after=after, limit=PAGE):
        values += [r.account_value for r in rows]
        after = to_micros(rows[-1].at)
    return values
