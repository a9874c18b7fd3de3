"""Audition rules: the default table, the floors of notes/trading-math.md 4.1-4.3, documents."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from domain.clones.tiers import TierTable
from domain.lifecycle.audition_rules import (
    DEFAULT_AUDITION_RULES,
    AuditionRuleBook,
    AuditionRules,
    AuditionRulesInvalid,
    DailyLossBase,
    MaxLossMode,
    UnknownAuditionTier,
)

HUNDRED_K = AuditionRules(starting_collateral=Decimal(100_000))


def test_default_rules_are_ftmo_phase_one_differing_in_collateral_and_retries():
    # Act
    table = {name: rules.to_document() for name, rules in DEFAULT_AUDITION_RULES.items()}

    # Assert
    assert {n: (t["starting_collateral"], t["retries"]) for n, t in table.items()} == {
        "starter": ("10000", 0),
        "builder": ("25000", 1),
        "pro": ("50000", 2),
    }
    common = {
        k: v for k, v in table["starter"].items() if k not in ("starting_collateral", "retries")
    }
    assert common == {
        "profit_target": "0.10",
        "max_daily_loss": "0.05",
        "daily_reference": "balance",
        "daily_loss_base": "starting_balance",
        "max_total_loss": "0.10",
        "max_loss_mode": "static",
        "max_loss_lock": False,
        "min_trading_days": 4,
        "best_day_share": None,
        "deadline_seconds": 30 * 24 * 3600,
    }
    assert all({k: t[k] for k in common} == common for t in table.values())


def test_default_rule_book_covers_every_default_tier():
    AuditionRuleBook().require_tiers(TierTable().names)


def test_attempts_are_one_plus_retries():
    assert [DEFAULT_AUDITION_RULES[n].attempts for n in ("starter", "builder", "pro")] == [1, 2, 3]


def test_target_balance_is_start_times_one_plus_target():
    assert HUNDRED_K.target_balance == Decimal(110_000)


def test_daily_loss_floor_is_midnight_balance_minus_five_percent_of_initial():
    # notes 4.1: close day 1 at 104,000 -> day-2 floor 99,000; day 1 uses the initial capital.
    assert HUNDRED_K.daily_loss_floor(Decimal(100_000)) == Decimal(95_000)
    assert HUNDRED_K.daily_loss_floor(Decimal(104_000)) == Decimal(99_000)


def test_daily_loss_base_reference_takes_a_fraction_of_the_reference():
    rules = replace(HUNDRED_K, daily_loss_base=DailyLossBase.REFERENCE)
    assert rules.daily_loss_floor(Decimal(104_000)) == Decimal(98_800)


def test_static_max_loss_floor_never_moves():
    assert HUNDRED_K.max_loss_floor(Decimal(130_000)) == Decimal(90_000)


def test_trailing_max_loss_floor_follows_the_end_of_day_high_without_lock():
    rules = replace(HUNDRED_K, max_loss_mode=MaxLossMode.EOD_TRAILING)
    assert rules.max_loss_floor(Decimal(100_000)) == Decimal(90_000)
    assert rules.max_loss_floor(Decimal(104_000)) == Decimal(94_000)
    assert rules.max_loss_floor(Decimal(125_000)) == Decimal(115_000)


def test_trailing_max_loss_floor_with_lock_stops_at_the_starting_balance():
    # notes 4.3: 50k, 2,000 trailing; EOD 52,500 -> 50,000 forever.
    rules = AuditionRules(
        starting_collateral=Decimal(50_000),
        max_total_loss=Decimal("0.04"),
        max_loss_mode=MaxLossMode.EOD_TRAILING,
        max_loss_lock=True,
    )
    floors = [rules.max_loss_floor(Decimal(h)) for h in (50_000, 51_000, 52_500, 60_000)]
    assert floors == [Decimal(48_000), Decimal(49_000), Decimal(50_000), Decimal(50_000)]


def test_allowance_rounds_down_to_the_micro_and_target_up():
    # 1/3 % of 1,000.000001: the allowance loses its sub-micro, the target gains it.
    rules = AuditionRules(
        starting_collateral=Decimal("1000.000001"),
        profit_target=Decimal("0.0000005"),
        max_daily_loss=Decimal("0.003333"),
    )
    assert rules.daily_loss_floor(Decimal(1_000)) == Decimal("996.667000")
    assert rules.target_balance == Decimal("1000.000502")


def test_deadline_at_adds_the_window_and_none_has_no_end():
    start = datetime(2025, 1, 1, tzinfo=UTC)
    assert HUNDRED_K.deadline_at(start) == start + timedelta(days=30)
    assert replace(HUNDRED_K, deadline=None).deadline_at(start) is None


@pytest.mark.parametrize(
    "changes",
    [
        {"starting_collateral": Decimal(0)},
        {"starting_collateral": Decimal("0.0000001")},
        {"starting_collateral": 100_000.0},
        {"profit_target": Decimal(0)},
        {"max_daily_loss": Decimal("1.01")},
        {"max_total_loss": Decimal(0)},
        {"max_total_loss": Decimal("Infinity")},
        {"best_day_share": Decimal("1.5")},
        {"min_trading_days": -1},
        {"min_trading_days": True},
        {"retries": -1},
        {"deadline": timedelta(0)},
        {"deadline": timedelta(milliseconds=1500)},
        {"max_loss_lock": True},  # with a static max loss
        {"max_loss_mode": "static"},  # not the enum
    ],
)
def test_rules_out_of_bounds_raise(changes):
    with pytest.raises(AuditionRulesInvalid):
        replace(HUNDRED_K, **changes)


def test_rules_document_round_trips_through_json():
    # Arrange
    rules = replace(
        HUNDRED_K,
        max_loss_mode=MaxLossMode.EOD_TRAILING,
        max_loss_lock=True,
        best_day_share=Decimal("0.5"),
        deadline=None,
    )

    # Act
    again = AuditionRules.from_document(json.loads(json.dumps(rules.to_document())))

    # Assert
    assert again == rules


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("profit_target", 0.1),  # a float
        ("profit_target", "ten percent"),
        ("max_loss_mode", "intraday"),
        ("daily_reference", ["balance"]),
        ("max_loss_lock", "yes"),
        ("min_trading_days", "4"),
        ("deadline_seconds", "30d"),
        ("retries", None),
    ],
)
def test_rules_document_with_a_bad_value_raises(key, value):
    document = HUNDRED_K.to_document() | {key: value}
    with pytest.raises(AuditionRulesInvalid):
        AuditionRules.from_document(document)


def test_rules_document_with_an_unknown_or_missing_key_raises():
    document = HUNDRED_K.to_document()
    with pytest.raises(AuditionRulesInvalid):
        AuditionRules.from_document(document | {"max_lots": 5})
    with pytest.raises(AuditionRulesInvalid):
        AuditionRules.from_document({k: v for k, v in document.items() if k != "retries"})


def test_rule_book_overrides_overlay_the_defaults():
    # Arrange
    overrides = {"pro": {"retries": 3, "best_day_share": "0.5"}}

    # Act
    book = AuditionRuleBook.from_document(overrides)

    # Assert
    assert book.get("pro") == replace(
        DEFAULT_AUDITION_RULES["pro"], retries=3, best_day_share=Decimal("0.5")
    )
    assert book.get("starter") == DEFAULT_AUDITION_RULES["starter"]


def test_rule_book_new_tier_states_every_field():
    # Arrange
    elite = HUNDRED_K.to_document()

    # Act
    book = AuditionRuleBook.from_document({"elite": elite})

    # Assert
    assert book.get("elite") == HUNDRED_K
    assert book.tiers == ("starter", "builder", "pro", "elite")
    with pytest.raises(AuditionRulesInvalid):
        AuditionRuleBook.from_document({"elite": {"retries": 1}})


def test_rule_book_document_round_trips():
    book = AuditionRuleBook.from_document({"builder": {"deadline_seconds": None}})
    assert AuditionRuleBook.from_document(book.to_document(), base={}).to_document() == (
        book.to_document()
    )


@pytest.mark.parametrize(
    "document",
    [[], {"pro": "strict"}, {"pro": {"retries": -1}}, {"Pro Tier": HUNDRED_K.to_document()}],
)
def test_rule_book_bad_document_raises(document):
    with pytest.raises(AuditionRulesInvalid):
        AuditionRuleBook.from_document(document)


def test_rule_book_unknown_tier_raises():
    with pytest.raises(UnknownAuditionTier, match="tier='gold'"):
        AuditionRuleBook().get("gold")
    with pytest.raises(UnknownAuditionTier):
        AuditionRuleBook().require_tiers(["starter", "gold"])


def test_rule_book_without_tiers_raises():
    with pytest.raises(AuditionRulesInvalid):
        AuditionRuleBook({})
