"""parse_actions: one action per asset, always; invalid parts hold with a named error."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.trading.actions import ACTION_SCHEMA, Action, ActionSet, parse_actions
from domain.trading.spec import RiskLimits

ASSETS = ("BTC", "ETH", "SOL")
RISK = RiskLimits(size_fraction=Decimal("0.25"), leverage=5)
HOLDS = tuple(Action.hold(asset) for asset in ASSETS)


def answer(*actions: dict[str, Any], **top: Any) -> str:
    return json.dumps({"actions": list(actions), **top})


def parse(text: str) -> ActionSet:
    return parse_actions(text, assets=ASSETS, risk=RISK)


def kinds(parsed: ActionSet) -> list[str]:
    return [error.split(":")[0] for error in parsed.errors]


def test_a_full_answer_becomes_decimal_actions_in_asset_order() -> None:
    # Arrange
    text = answer(
        {"asset": "SOL", "signal": "close", "justification": "RSI14 above 70"},
        {
            "asset": "BTC",
            "signal": "open_long",
            "sizeFraction": 0.1,
            "leverage": 3,
            "stopLoss": 96250.5,
            "takeProfit": "104000.00",
            "confidence": 0.65,
        },
    )
    # Act
    parsed = parse(text)
    # Assert
    assert parsed.valid
    assert parsed.actions == (
        Action(
            "BTC",
            "open_long",
            size_fraction=Decimal("0.1"),
            leverage=3,
            stop_loss=Decimal("96250.5"),
            take_profit=Decimal("104000.00"),
            confidence=Decimal("0.65"),
        ),
        Action.hold("ETH"),
        Action("SOL", "close", justification="RSI14 above 70"),
    )


def test_json_numbers_become_decimals_from_their_printed_form() -> None:
    parsed = parse(answer({"asset": "BTC", "signal": "open_short", "stopLoss": 0.1}))
    assert parsed.actions[0].stop_loss == Decimal("0.1")  # not 0.1000000000000000055...


def test_nulls_mean_absent() -> None:
    text = answer({"asset": "ETH", "signal": "hold", "leverage": None, "justification": None})
    assert parse(text) == ActionSet(HOLDS)


def test_a_fenced_json_block_is_unwrapped() -> None:
    text = "Here is my decision:\n```json\n" + answer({"asset": "ETH", "signal": "close"}) + "\n```"
    parsed = parse(text)
    assert parsed.valid
    assert parsed.actions[1].signal == "close"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("I would buy BTC here.", "malformed_json"),
        ('{"actions": [', "malformed_json"),
        ("[]", "schema"),
        ('{"decisions": []}', "schema"),
        ('{"actions": {"asset": "BTC"}}', "schema"),
        (answer(reasoning="long BTC"), "schema"),
        (
            '{"actions": [{"asset": "BTC", "signal": "close",'
            ' "stopLoss": 1e999999999999999999999}]}',
            "malformed_json",
        ),
    ],
    ids=["prose", "truncated", "array", "wrong-key", "not-a-list", "extra-top-field", "huge"],
)
def test_an_unreadable_answer_holds_every_asset_with_one_error(text: str, kind: str) -> None:
    parsed = parse(text)
    assert parsed.actions == HOLDS
    assert kinds(parsed) == [kind]
    assert not parsed.valid


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("leverage", 6),
        ("leverage", 0),
        ("leverage", 2.5),
        ("leverage", "3"),
        ("leverage", True),
        ("sizeFraction", 0.3),
        ("sizeFraction", 0),
        ("sizeFraction", "-0.1"),
        ("sizeFraction", "ten percent"),
        ("stopLoss", 0),
        ("stopLoss", -5),
        ("stopLoss", "NaN"),
        ("takeProfit", "Infinity"),
        ("confidence", 1.01),
        ("confidence", -0.1),
        ("justification", "x" * 501),
        ("justification", 7),
        ("signal", "buy_to_enter"),
        ("signal", None),
        ("quantity", "0.5"),
    ],
)
def test_an_invalid_field_holds_only_its_asset_and_names_it(field: str, value: Any) -> None:
    # Arrange
    bad = {"asset": "ETH", "signal": "open_long", field: value}
    good = {"asset": "BTC", "signal": "open_short", "leverage": 5, "sizeFraction": "0.25"}
    # Act
    parsed = parse(answer(good, bad))
    # Assert
    assert [action.signal for action in parsed.actions] == ["open_short", "hold", "hold"]
    assert len(parsed.errors) == 1
    assert parsed.errors[0].startswith(f"action: asset=ETH field={field}:")


def test_nan_and_infinity_literals_are_refused_without_floats() -> None:
    text = '{"actions": [{"asset": "BTC", "signal": "open_long", "stopLoss": NaN}]}'
    parsed = parse(text)
    assert parsed.actions == HOLDS
    assert parsed.errors == ("action: asset=BTC field=stopLoss: NaN is not a finite number",)


def test_an_unknown_asset_is_dropped_with_an_error() -> None:
    parsed = parse(
        answer({"asset": "XRP", "signal": "open_long"}, {"asset": "SOL", "signal": "close"})
    )
    assert [action.signal for action in parsed.actions] == ["hold", "hold", "close"]
    assert parsed.errors == ("action: asset=XRP field=asset: not a traded asset",)


@pytest.mark.parametrize("item", [{"signal": "close"}, {"asset": 1, "signal": "close"}, "BTC"])
def test_an_action_without_an_asset_is_dropped_with_an_error(item: Any) -> None:
    parsed = parse(answer(item))
    assert parsed.actions == HOLDS
    assert parsed.errors[0].startswith("action: actions[0]")


def test_two_actions_for_one_asset_hold_it() -> None:
    text = answer(
        {"asset": "BTC", "signal": "open_long"},
        {"asset": "BTC", "signal": "close"},
        {"asset": "ETH", "signal": "open_short"},
    )
    parsed = parse(text)
    assert [action.signal for action in parsed.actions] == ["hold", "open_short", "hold"]
    assert parsed.errors == ("action: asset=BTC field=asset: more than one action",)


def test_assets_not_mentioned_hold_without_an_error() -> None:
    assert parse(answer()) == ActionSet(HOLDS)


def test_the_size_cap_is_the_strategys_fraction() -> None:
    at_cap = {"asset": "BTC", "signal": "open_long", "sizeFraction": "0.25"}
    assert parse(answer(at_cap)).actions[0].size_fraction == Decimal("0.25")


def test_documents_round_trip_through_the_parser() -> None:
    # Arrange
    parsed = parse(
        answer({"asset": "BTC", "signal": "open_long", "leverage": 2, "stopLoss": "95000.5"})
    )
    document = parsed.to_document()
    # Act
    again = parse(json.dumps({"actions": document["actions"]}))
    # Assert
    assert again == parsed
    assert document["valid"] is True
    assert document["actions"][0]["stopLoss"] == "95000.5"


def test_the_schema_lists_every_field_the_parser_reads() -> None:
    item = ACTION_SCHEMA["properties"]["actions"]["items"]
    assert set(item["properties"]) == set(Action.hold("BTC").to_document())
    assert item["additionalProperties"] is False
    assert item["properties"]["signal"]["enum"] == ["open_long", "open_short", "close", "hold"]


ASSET_NAMES = st.lists(st.sampled_from(["BTC", "ETH", "SOL", "DOGE", "XRP"]), unique=True)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
ACTION_ITEMS = st.fixed_dictionaries(
    {"asset": st.sampled_from(["BTC", "ETH", "SOL", "DOGE", "XRP", ""])},
    optional={
        "signal": st.sampled_from(["open_long", "open_short", "close", "hold", "buy"]),
        "sizeFraction": JSON_VALUES,
        "leverage": st.integers(-3, 30) | JSON_VALUES,
        "stopLoss": JSON_VALUES,
        "confidence": JSON_VALUES,
        "justification": JSON_VALUES,
        "extra": JSON_VALUES,
    },
)


def _one_per_asset(parsed: ActionSet, assets: list[str]) -> None:
    assert [action.asset for action in parsed.actions] == assets
    for action in parsed.actions:
        assert action.signal in ("open_long", "open_short", "close", "hold")
        assert action.leverage is None or 1 <= action.leverage <= RISK.leverage
        assert action.size_fraction is None or 0 < action.size_fraction <= RISK.size_fraction


@given(text=st.text(), assets=ASSET_NAMES)
def test_any_text_gives_one_action_per_asset(text: str, assets: list[str]) -> None:
    _one_per_asset(parse_actions(text, assets=assets, risk=RISK), assets)


@given(items=st.lists(ACTION_ITEMS | JSON_VALUES, max_size=6), assets=ASSET_NAMES)
def test_any_json_answer_gives_one_capped_action_per_asset(
    items: list[Any], assets: list[str]
) -> None:
    _one_per_asset(parse_actions(answer(*items), assets=assets, risk=RISK), assets)
