"""RulesProvider: answers the fired rule hints, offline, without rendering a prompt."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import pytest

from domain.trading.actions import parse_actions
from domain.trading.providers import ModelCall, Prompt, RulesProvider
from domain.trading.spec import RiskLimits

ASSETS = ("BTC", "ETH", "SOL", "DOGE")
RISK = RiskLimits(size_fraction=Decimal("0.2"), leverage=3)


def _unrendered() -> Prompt:
    raise AssertionError("the rules provider must not build the prompt")


def a_call(hints: Mapping[str, Mapping[str, bool]]) -> ModelCall:
    return ModelCall("rules", ASSETS, hints, _unrendered, timeout_seconds=20)


def signals(hints: Mapping[str, Mapping[str, bool]]) -> list[str]:
    reply = RulesProvider().complete(a_call(hints))
    parsed = parse_actions(reply.text, assets=ASSETS, risk=RISK)
    assert parsed.valid
    return [action.signal for action in parsed.actions]


def test_each_asset_answers_its_fired_hint_and_holds_otherwise() -> None:
    hints = {
        "BTC": {"open_long": True, "open_short": False, "close": False},
        "ETH": {"open_short": True},
        "SOL": {"close": True},
    }
    assert signals(hints) == ["open_long", "open_short", "close", "hold"]


@pytest.mark.parametrize(
    ("fired", "expected"),
    [
        ({"close": True, "open_long": True, "open_short": True}, "close"),
        ({"open_long": True, "open_short": True}, "open_long"),
        ({"open_long": False, "open_short": False, "close": False}, "hold"),
    ],
)
def test_close_beats_long_beats_short(fired: dict[str, bool], expected: str) -> None:
    assert signals({"BTC": fired})[0] == expected


def test_reply_costs_nothing_and_names_the_routed_model() -> None:
    # Act
    reply = RulesProvider().complete(a_call({"BTC": {"open_long": True}}))
    # Assert
    assert (reply.model, reply.tokens_in, reply.tokens_out, reply.latency_ms) == ("rules", 0, 0, 0)


def test_same_hints_give_the_same_text() -> None:
    hints = {"ETH": {"close": True}}
    first = RulesProvider().complete(a_call(hints))
    second = RulesProvider().complete(a_call(hints))
    assert first.text == second.text
