"""The model-usage read model on both stores: additive counts, day sums, grouped reports.

Worked example: on 2026-12-01 Ada's clone A calls gpt-4o-mini twice (1,234 in and 567 out
tokens each, 525 micro-USD a call) and falls back to the rules once; Bob's clone B calls
an unpriced local model; on 2026-12-02 Ada's clone A calls gpt-4o-mini once more.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from pydantic import ValidationError

from adapters.database import Database
from adapters.model_usage import GroupBy, ModelUsageStore, UsageEntry, add_usage
from adapters.settings import Settings
from domain.trading.usage import ReportRange, UsageLine

DAY1, DAY2 = date(2026, 12, 1), date(2026, 12, 2)
CLONE_A = UUID("00000000-0000-4000-8000-00000000000a")
CLONE_B = UUID("00000000-0000-4000-8000-00000000000b")
MINI = UsageLine("openai-compatible", "gpt-4o-mini", 1, 0, 1_234, 567, 525, 0)
RULES = UsageLine("rules", "rules", 1, 0, 0, 0, 0, 0)
LOCAL = UsageLine("openai-compatible", "llama-3.1-8b", 2, 1, 900, 100, 0, 1)


@pytest.fixture
def store(database: Database) -> ModelUsageStore:
    store = ModelUsageStore(database)
    store.record(UsageEntry(DAY1, "ada", CLONE_A, "starter", (MINI,)))
    store.record(UsageEntry(DAY1, "ada", CLONE_A, "starter", (MINI, RULES)))
    store.record(UsageEntry(DAY1, "bob", CLONE_B, "pro", (LOCAL,)))
    store.record(UsageEntry(DAY2, "ada", CLONE_A, "builder", (MINI,)))
    return store


def _row(report_row: Any) -> tuple[Any, ...]:
    totals = report_row.totals
    return (report_row.key, totals.calls, totals.errors, totals.cost_micros, totals.unpriced_calls)


def test_counts_add_up_per_day_user_clone_and_model(store: ModelUsageStore) -> None:
    rows = store.report(ReportRange(DAY1, DAY1), GroupBy.MODEL, limit=10)

    assert [_row(r) for r in rows] == [
        ({"provider": "openai-compatible", "model": "gpt-4o-mini"}, 2, 0, 1_050, 0),
        ({"provider": "openai-compatible", "model": "llama-3.1-8b"}, 2, 1, 0, 1),
        ({"provider": "rules", "model": "rules"}, 1, 0, 0, 0),
    ]
    assert rows[0].totals.tokens_in == 2 * 1_234
    assert rows[0].totals.tokens_out == 2 * 567


def test_reports_group_by_user_clone_and_day(store: ModelUsageStore) -> None:
    both_days = ReportRange(DAY1, DAY2)

    users = store.report(both_days, GroupBy.USER, limit=10)
    clones = store.report(both_days, GroupBy.CLONE, limit=10)
    days = store.report(both_days, GroupBy.DAY, limit=10)

    assert [_row(r) for r in users] == [
        ({"user_id": "ada"}, 4, 0, 1_575, 0),
        ({"user_id": "bob"}, 2, 1, 0, 1),
    ]
    assert [r.key for r in clones] == [
        {"clone_id": str(CLONE_A), "user_id": "ada"},
        {"clone_id": str(CLONE_B), "user_id": "bob"},
    ]
    assert [_row(r) for r in days] == [
        ({"day": "2026-12-01"}, 5, 1, 1_050, 1),
        ({"day": "2026-12-02"}, 1, 0, 525, 0),
    ]
    assert store.totals(both_days).cost_micros == 1_575
    assert store.report(both_days, GroupBy.USER, limit=1)[0].key == {"user_id": "ada"}


def test_a_days_spend_is_read_for_one_clone_and_everyone(store: ModelUsageStore) -> None:
    spend = store.spent(DAY1, CLONE_A)
    nobody = store.spent(date(2026, 11, 30), CLONE_A)

    assert (spend.clone_micros, spend.total_micros) == (1_050, 1_050)
    assert (nobody.clone_micros, nobody.total_micros) == (0, 0)


def test_a_clone_is_judged_by_the_tier_of_its_latest_call(
    store: ModelUsageStore, database: Database
) -> None:
    with database.transaction() as session:  # the grant was raised between two calls
        add_usage(session, UsageEntry(DAY1, "ada", CLONE_A, "builder", (RULES,)))

    spends = store.by_clone(DAY1)

    assert [(s.clone_id, s.tier, s.cost_micros) for s in spends] == [
        (str(CLONE_A), "builder", 1_050),
        (str(CLONE_B), "pro", 0),
    ]


def test_a_write_rolled_back_with_its_cause_counts_nothing(
    store: ModelUsageStore, database: Database
) -> None:
    with pytest.raises(RuntimeError), database.transaction() as session:
        add_usage(session, UsageEntry(DAY2, "ada", CLONE_A, "builder", (MINI,)))
        raise RuntimeError("the decision row's insert failed")

    assert store.spent(DAY2, CLONE_A).clone_micros == 525


# --- settings ------------------------------------------------------------------------------


def test_prices_and_budgets_are_read_as_exact_decimals() -> None:
    settings = Settings(
        model_prices='{"gpt-4o-mini": {"input_per_million_usd": "0.15",'
        ' "output_per_million_usd": 0.60}}',
        model_budgets='{"global": {"daily_usd": "50"}, "tiers": {"starter":'
        ' {"daily_usd_per_clone": "0.50"}}, "soft_ratio": "0.75"}',
    )

    price = settings.model_prices["gpt-4o-mini"]
    assert (str(price.input_per_million_usd), str(price.output_per_million_usd)) == ("0.15", "0.60")
    assert settings.model_budgets.tiers["starter"].daily_usd_per_clone == Decimal("0.50")
    assert str(settings.model_budgets.soft_ratio) == "0.75"


@pytest.mark.parametrize(
    ("budgets", "message"),
    [
        ('{"tiers": {"gold": {"daily_usd_per_clone": "1"}}}', "not in the tier table"),
        ('{"global": {"daily_usd": "-1"}}', "greater than or equal to 0"),
        ('{"global": {"daily_usd": "0.0000001"}}', "no more than 6 decimal places"),
        ('{"global": {"daily_usd": "NaN"}}', "finite number"),
        ('{"globl": {"daily_usd": "1"}}', "Extra inputs are not permitted"),
        ('{"soft_ratio": "1.5"}', "less than or equal to 1"),
        ("not json", "CLASH_MODEL_BUDGETS is not valid JSON"),
    ],
)
def test_a_bad_budget_is_refused_with_a_clear_error(budgets: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(model_budgets=budgets)


def test_a_negative_price_is_refused() -> None:
    prices = '{"m": {"input_per_million_usd": "-0.1", "output_per_million_usd": "1"}}'
    with pytest.raises(ValidationError, match="greater than or equal to 0"):
        Settings(model_prices=prices)
