"""The shapes of ``CLASH_MODEL_PRICES`` and ``CLASH_MODEL_BUDGETS``, checked with the settings.

Why a module of its own: prices and budgets are money, so their parsing is stricter than
the rest of the settings and worth reading in one place. Amounts are decimal strings
(``"0.15"``); a JSON number is accepted too but parsed as a ``Decimal`` (never through a
float). Amounts are non-negative and finite; budgets have at most six decimal places
(they are held in micro-USD). Unknown keys are refused, so a typo never silently disables
a budget. ``docs/model-usage.md`` shows both shapes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from domain.trading.budgets import BudgetPolicy
from domain.trading.usage import ModelPrice, PriceBook, usd_to_micros

_STRICT = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ModelPriceSetting(BaseModel):
    """What one model costs, in USD per million tokens."""

    model_config = _STRICT

    input_per_million_usd: Decimal = Field(ge=0, allow_inf_nan=False)
    output_per_million_usd: Decimal = Field(ge=0, allow_inf_nan=False)


class GlobalBudgetSetting(BaseModel):
    """What every clone together may spend on models per UTC day."""

    model_config = _STRICT

    daily_usd: Decimal = Field(ge=0, decimal_places=6, allow_inf_nan=False)


class TierBudgetSetting(BaseModel):
    """What one clone of a tier may spend on models per UTC day."""

    model_config = _STRICT

    daily_usd_per_clone: Decimal = Field(ge=0, decimal_places=6, allow_inf_nan=False)


class ModelBudgetsSetting(BaseModel):
    """The daily budgets: global, per clone by tier, and the share that warns."""

    model_config = _STRICT

    global_budget: GlobalBudgetSetting | None = Field(default=None, alias="global")
    tiers: dict[str, TierBudgetSetting] = Field(default_factory=dict)
    soft_ratio: Decimal = Field(default=Decimal("0.8"), gt=0, le=1, allow_inf_nan=False)


def decimal_json(value: Any, variable: str) -> Any:
    """Decode a JSON setting with exact decimals (other values pass through)."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value, parse_float=Decimal)
    except ValueError as exc:
        raise ValueError(f"{variable} is not valid JSON: {exc}") from None


def price_book(prices: Mapping[str, ModelPriceSetting]) -> PriceBook:
    """The domain's price book of the configured prices."""
    return PriceBook(
        {
            model: ModelPrice(price.input_per_million_usd, price.output_per_million_usd)
            for model, price in prices.items()
        }
    )


def budget_policy(budgets: ModelBudgetsSetting) -> BudgetPolicy:
    """The domain's budget policy of the configured budgets, in micro-USD."""
    overall = budgets.global_budget
    return BudgetPolicy(
        global_daily_micros=None if overall is None else usd_to_micros(overall.daily_usd),
        per_clone_daily_micros={
            tier: usd_to_micros(budget.daily_usd_per_clone)
            for tier, budget in budgets.tiers.items()
        },
        soft_ratio=budgets.soft_ratio,
    )
