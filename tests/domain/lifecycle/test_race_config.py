"""A race's configuration: its bounds, and the document it is frozen as on ``Scheduled``.

The document holds durations as whole seconds (``<name>_seconds``) and decimals as strings,
so it survives JSON; rebuilding it gives back the configuration it was made from.
"""

from __future__ import annotations

import json
from dataclasses import fields, replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.lifecycle.audition_rules import AuditionError
from domain.lifecycle.race_config import RaceConfig, RaceConfigInvalid

DEFAULT = RaceConfig()
D = Decimal
SECONDS = ("ticket_window", "launch_gap", "duration", "retention")

INVALID: dict[str, dict[str, Any]] = {
    "min_entrants_below_two": {"min_entrants": 1, "entrants": 4},
    "entrants_below_min_entrants": {"min_entrants": 5, "entrants": 4},
    "entrants_above_64": {"entrants": 65},
    "unknown_selection": {"selection": "random"},
    "unknown_strike_rule": {"strike_rule": "first_place"},
    "negative_ticket_window": {"ticket_window": timedelta(seconds=-1)},
    "negative_launch_gap": {"launch_gap": timedelta(seconds=-1)},
    "negative_retention": {"retention": timedelta(seconds=-1)},
    "negative_duration": {"duration": timedelta(seconds=-1)},
    "zero_duration": {"duration": timedelta(0)},
    "zero_collateral": {"collateral_micros": 0},
    "negative_collateral": {"collateral_micros": -1},
    "negative_rake": {"rake_rate": D("-0.01")},
    "negative_creator_rate": {"creator_rate": D("-0.01")},
    "rates_take_everything": {"rake_rate": D("0.5"), "creator_rate": D("0.5")},
    "zero_strikes_to_retire": {"strikes_to_retire": 0},
    "no_rank_weights": {"rank_weights": ()},
    "negative_rank_weight": {"rank_weights": (3, -1)},
    "a_zero_weight": {"rank_weights": (1, 0)},
    "weights_growing_with_rank": {"rank_weights": (1, 2, 3)},
    "decimal_weights": {"rank_weights": (D("0.5"), D("0.3"))},
    "zero_strike_drawdown": {"strike_drawdown": D(0)},
    "strike_drawdown_above_one": {"strike_drawdown": D("1.000001")},
}

VALID_EDGES: dict[str, dict[str, Any]] = {
    "two_entrants": {"entrants": 2, "min_entrants": 2},
    "64_entrants": {"entrants": 64, "min_entrants": 64},
    "zero_ticket_window": {"ticket_window": timedelta(0)},
    "zero_launch_gap": {"launch_gap": timedelta(0)},
    "zero_retention": {"retention": timedelta(0)},
    "one_second_duration": {"duration": timedelta(seconds=1)},
    "one_micro_collateral": {"collateral_micros": 1},
    "no_takeout": {"rake_rate": D(0), "creator_rate": D(0)},
    "rates_just_below_one": {"rake_rate": D("0.5"), "creator_rate": D("0.499999")},
    "one_strike_retires": {"strikes_to_retire": 1},
    "winner_takes_all": {"rank_weights": (1,)},
    "equal_weights": {"rank_weights": (1, 1, 1)},
    "strike_drawdown_of_one": {"strike_drawdown": D(1)},
    "tiny_strike_drawdown": {"strike_drawdown": D("0.000001")},
    "drawdown_rule": {"strike_rule": "drawdown_over"},
}


@pytest.mark.parametrize("changes", INVALID.values(), ids=INVALID.keys())
def test_race_config_out_of_bounds_is_invalid(changes: dict[str, Any]) -> None:
    # Arrange / Act
    with pytest.raises(RaceConfigInvalid) as invalid:
        RaceConfig(**changes)

    # Assert
    assert invalid.value.reason == "race_config_invalid"
    assert isinstance(invalid.value, AuditionError)


@pytest.mark.parametrize("changes", VALID_EDGES.values(), ids=VALID_EDGES.keys())
def test_race_config_at_its_bounds_is_valid_and_round_trips(changes: dict[str, Any]) -> None:
    # Arrange
    config = RaceConfig(**changes)

    # Act
    rebuilt = RaceConfig.from_document(config.to_document())

    # Assert
    assert rebuilt == config
    assert all(getattr(config, name) == value for name, value in changes.items())


def test_race_config_defaults_are_the_documented_race() -> None:
    # Arrange / Act
    document = DEFAULT.to_document()

    # Assert
    assert document == {
        "entrants": 4,
        "min_entrants": 2,
        "selection": "hashed_rotation",
        "ticket_window_seconds": 1800,
        "launch_gap_seconds": 300,
        "duration_seconds": 7200,
        "retention_seconds": 604_800,
        "collateral_micros": 10_000_000_000,
        "rake_rate": "0.05",
        "creator_rate": "0.05",
        "rank_weights": [3, 2, 1],
        "strike_rule": "last_place",
        "strike_drawdown": "0.20",
        "strikes_to_retire": 3,
    }


def test_race_config_document_keeps_decimal_exponents() -> None:
    # Arrange
    config = RaceConfig(rake_rate=D("0.050"), strike_drawdown=D("0.2"))

    # Act
    rebuilt = RaceConfig.from_document(json.loads(json.dumps(config.to_document())))

    # Assert
    assert str(rebuilt.rake_rate) == "0.050"
    assert str(rebuilt.strike_drawdown) == "0.2"


@pytest.mark.parametrize("key", sorted(DEFAULT.to_document()))
def test_race_config_document_missing_a_key_is_invalid(key: str) -> None:
    # Arrange
    document = DEFAULT.to_document()
    del document[key]

    # Act / Assert
    with pytest.raises(RaceConfigInvalid):
        RaceConfig.from_document(document)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("rake_rate", "five percent"),
        ("strike_drawdown", "0,2"),
        ("rank_weights", [3, "two"]),
        ("rank_weights", 7),
        ("duration_seconds", "two hours"),
        ("retention_seconds", None),
        ("entrants", 65),
        ("strike_rule", "first_place"),
        ("duration_seconds", 0),
    ],
)
def test_race_config_bad_document_value_is_invalid(key: str, value: object) -> None:
    # Arrange
    document = {**DEFAULT.to_document(), key: value}

    # Act / Assert
    with pytest.raises(RaceConfigInvalid):
        RaceConfig.from_document(document)


@pytest.mark.parametrize(
    ("key", "value"),
    [("entrants", "4"), ("strikes_to_retire", None), ("rake_rate", "NaN")],
)
def test_race_config_wrongly_typed_document_value_is_invalid(key: str, value: object) -> None:
    # Arrange
    document = {**DEFAULT.to_document(), key: value}

    # Act / Assert
    with pytest.raises(RaceConfigInvalid):
        RaceConfig.from_document(document)


@pytest.mark.parametrize("duration", [timedelta(milliseconds=1500), timedelta(milliseconds=500)])
def test_race_config_sub_second_durations_are_refused(duration: timedelta) -> None:
    # The frozen document keeps whole seconds: a config it could not rebuild is refused.
    with pytest.raises(RaceConfigInvalid):
        RaceConfig(duration=duration)


@pytest.mark.parametrize(
    "changes",
    [
        {"rake_rate": 0.1},
        {"entrants": 4.0},
        {"strike_drawdown": Decimal("NaN")},
        {"entrants": True},
        {"rank_weights": (3.0, 2.0)},
    ],
)
def test_race_config_refuses_floats_and_odd_types(changes: dict[str, object]) -> None:
    with pytest.raises(RaceConfigInvalid):
        RaceConfig(**changes)  # type: ignore[arg-type]


# --- the round trip, for any valid configuration ---------------------------------------------


@st.composite
def rank_weights(draw: st.DrawFn) -> tuple[int, ...]:
    # Positive integers that never grow with the rank.
    drawn = draw(st.lists(st.integers(min_value=1, max_value=100), min_size=1, max_size=5))
    return tuple(sorted(drawn, reverse=True))


@st.composite
def race_configs(draw: st.DrawFn) -> RaceConfig:
    min_entrants = draw(st.integers(min_value=2, max_value=64))
    seconds = st.integers(min_value=0, max_value=400 * 86_400).map(lambda s: timedelta(seconds=s))
    return RaceConfig(
        entrants=draw(st.integers(min_value=min_entrants, max_value=64)),
        min_entrants=min_entrants,
        ticket_window=draw(seconds),
        launch_gap=draw(seconds),
        duration=draw(seconds.filter(lambda d: d > timedelta(0))),
        retention=draw(seconds),
        collateral_micros=draw(st.integers(min_value=1, max_value=10**18)),
        rake_rate=draw(st.decimals(min_value=0, max_value=D("0.49"), places=6)),
        creator_rate=draw(st.decimals(min_value=0, max_value=D("0.49"), places=6)),
        rank_weights=draw(rank_weights()),
        strike_rule=draw(st.sampled_from(["last_place", "drawdown_over"])),
        strike_drawdown=draw(st.decimals(min_value=D("0.000001"), max_value=1, places=6)),
        strikes_to_retire=draw(st.integers(min_value=1, max_value=100)),
    )


@given(config=race_configs())
def test_race_config_document_round_trips_through_json(config: RaceConfig) -> None:
    # Arrange
    document = config.to_document()

    # Act
    rebuilt = RaceConfig.from_document(json.loads(json.dumps(document)))

    # Assert
    assert rebuilt == config
    assert rebuilt.to_document() == document


@given(config=race_configs())
def test_race_config_document_names_every_field_once(config: RaceConfig) -> None:
    # Arrange / Act
    document = config.to_document()

    # Assert
    expected = {f"{f.name}_seconds" if f.name in SECONDS else f.name for f in fields(RaceConfig)}
    assert set(document) == expected
    assert all(isinstance(document[f"{name}_seconds"], int) for name in SECONDS)
    assert all(isinstance(w, int) for w in document["rank_weights"])


@given(config=race_configs(), extra=st.integers(min_value=1, max_value=10))
def test_race_config_weights_growing_with_the_rank_are_invalid(
    config: RaceConfig, extra: int
) -> None:
    # Arrange
    weights = (*config.rank_weights, config.rank_weights[-1] + extra)

    # Act / Assert
    with pytest.raises(RaceConfigInvalid):
        replace(config, rank_weights=weights)


def test_race_config_pool_rules_are_the_settlement_rules() -> None:
    rules = RaceConfig(rake_rate=D("0.04"), creator_rate=D("0.06"), rank_weights=(5, 3)).pool_rules

    assert (rules.rake_rate, rules.creator_rate, rules.weights) == (D("0.04"), D("0.06"), (5, 3))
