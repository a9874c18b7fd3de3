"""The scenario simulator: worked examples replayed from ``scenarios/*.json``, and bad input.

Each scenario file is a worked example of the ledger (the trading notes' liquidation vectors,
netting, stops, funding, every gate); the tests assert the states the simulator prints.
"""

from __future__ import annotations

import json
import re
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest

from adapters.asset_registry import SEED_SPECS
from domain.prop.errors import RejectReason
from domain.prop.scenario_format import SEEDED_SPECS
from domain.prop.scenarios import ScenarioError, run_scenario

SCENARIOS = Path(__file__).parent / "scenarios"
FILES = sorted(path.name for path in SCENARIOS.glob("*.json"))


def load(name: str) -> dict[str, Any]:
    return json.loads((SCENARIOS / name).read_text(encoding="utf-8"))


def run(name: str) -> list[dict[str, Any]]:
    return run_scenario(load(name))


def cents(text: str) -> Decimal:
    return Decimal(text).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def a_scenario(*steps: dict[str, Any]) -> dict[str, Any]:
    return {
        "start": "2021-07-03T00:00:00Z",
        "account": {"collateral": "10000"},
        "steps": list(steps) or [{"at": "2021-07-03T00:00:00Z", "marks": {"BTC": "100000"}}],
    }


# --- worked examples -----------------------------------------------------------------------


def test_seeded_specs_match_the_asset_registry_seed() -> None:
    assert SEEDED_SPECS == SEED_SPECS


def test_cross_liquidation_price_matches_the_notes_vector() -> None:
    # Arrange/Act: long 1 BTC filled at exactly 100,000 with an account value of 20,000.
    opened = run("cross_liquidation.json")[0]
    # Assert
    position = opened["account"]["positions"][0]
    assert opened["events"][0]["fill_price"] == "100000"
    assert opened["account"]["account_value"] == "20000.000000"
    assert cents(position["liquidation_price"]) == Decimal("81012.66")


def test_cross_liquidation_mark_above_the_price_survives_and_below_liquidates() -> None:
    _, above, below = run("cross_liquidation.json")
    assert above["result"] == {"fired": []}
    assert above["account"]["positions"][0]["size"] == "1"
    assert below["result"] == {"fired": ["liquidation"]}
    # The closing fill first, then the liquidation record that settles any backstop.
    assert [e["type"] for e in below["events"]] == ["OrderFilled", "Liquidated"]
    assert below["events"][1]["account_value"] == "1000.000000"
    assert below["events"][1]["maintenance_required"] == "1012.500000"
    assert (below["events"][0]["origin"], below["events"][0]["fill_price"]) == (
        "liquidation",
        "81000",
    )


def test_cross_liquidation_books_the_loss_and_the_fees() -> None:
    account = run("cross_liquidation.json")[-1]["account"]
    # 20,045 - 45 (open fee) - 19,000 (loss) - 36.45 (close fee at 81,000)
    assert account["collateral"] == "963.550000"
    assert account["realized_pnl"] == "-19000.000000"
    assert account["fees"] == "81.450000"
    assert (account["positions"], account["liquidations"]) == ([], 1)


def test_isolated_margin_vector_liquidates_between_91100_and_91200() -> None:
    opened, above, below = run("isolated_margin_liquidation.json")
    assert cents(opened["account"]["positions"][0]["liquidation_price"]) == Decimal("91139.24")
    assert above["result"] == {"fired": []}
    assert below["result"] == {"fired": ["liquidation"]}


def test_partial_close_realizes_the_closed_part_and_keeps_the_entry() -> None:
    half = run("partial_close_and_flip.json")[3]
    fill = half["events"][0]
    assert (fill["fill_price"], fill["realized_pnl"], fill["fee"]) == (
        "109945",
        "989.500000",
        "4.947525",
    )
    position = half["account"]["positions"][0]
    assert (position["size"], position["entry_price"]) == ("0.1", "100050")


def test_flip_realizes_only_the_closed_part_and_opens_the_rest_at_the_fill() -> None:
    flip = run("partial_close_and_flip.json")[4]
    position = flip["account"]["positions"][0]
    assert flip["events"][0]["realized_pnl"] == "989.500000"
    assert (position["size"], position["entry_price"]) == ("-0.2", "109945")
    # 10,000 - 9.0045 - 4.947525 - 14.842575 in fees + 2 * 989.50 realized
    assert flip["account"]["collateral"] == "11950.205400"
    assert flip["account"]["realized_pnl"] == "1979.000000"
    assert flip["account"]["fees"] == "28.794600"


def test_stop_loss_gapped_through_fills_at_the_mark() -> None:
    states = run("stop_loss_gap.json")
    above, gapped = states[2], states[3]
    assert above["result"] == {"fired": []}
    assert gapped["result"] == {"fired": ["stop_loss:BTC"]}
    fill = gapped["events"][0]
    assert (fill["origin"], fill["fill_price"], fill["realized_pnl"]) == (
        "stop_loss",
        "94000",
        "-605.000000",
    )
    assert gapped["account"]["positions"] == []


def test_take_profit_at_the_mark_fills_at_the_trigger() -> None:
    touched = run("stop_loss_gap.json")[5]
    assert touched["result"] == {"fired": ["take_profit:BTC"]}
    assert touched["events"][0]["fill_price"] == "98000"


def test_funding_long_pays_once_per_period() -> None:
    _, _, paid, repeated, received, unheld = run("funding_once_per_period.json")
    assert paid["result"]["applied"] is True
    assert paid["events"][0]["payment"] == "1.250000"
    assert paid["account"]["funding"] == "1.250000"
    assert (repeated["result"]["applied"], repeated["events"]) == (False, [])
    assert repeated["result"]["period"] == paid["result"]["period"] == "2021-07-03T01:00:00+00:00"
    assert received["events"][0]["payment"] == "-1.250000"
    assert received["account"]["funding"] == "0.000000"
    assert unheld["result"]["applied"] is False


def test_every_rejection_reason_appears_in_some_scenario() -> None:
    seen = {state["result"].get("reason") for name in FILES for state in run(name)}
    assert {reason.value for reason in RejectReason} <= seen


@pytest.mark.parametrize(
    ("step", "reason"),
    [
        (1, "no_mark"),
        (2, "asset_not_allowed"),
        (3, "size_precision"),
        (4, "price_precision"),
        (5, "leverage_above_limit"),
        (6, "reduce_only_would_increase"),
        (7, "below_min_notional"),
        (8, "position_notional_limit"),
        (9, "insufficient_margin"),
        (11, "max_open_positions"),
        (15, "account_frozen"),
        (21, "account_closed"),
    ],
)
def test_gate_rejection_is_recorded_with_its_reason(step: int, reason: str) -> None:
    state = run("gates_and_admin.json")[step]
    assert (state["result"]["status"], state["result"]["reason"]) == ("rejected", reason)
    assert [(e["type"], e["reason"]) for e in state["events"]] == [("OrderRejected", reason)]


def test_retried_order_id_returns_its_outcome_and_records_nothing() -> None:
    states = run("gates_and_admin.json")
    retried, conflicting = states[12], states[13]
    assert (retried["result"]["status"], retried["events"]) == ("filled", [])
    assert conflicting["result"]["error"] == "client_order_id_conflict"


def test_admin_actions_freeze_adjust_close_all_and_close() -> None:
    states = run("gates_and_admin.json")
    assert states[14]["account"]["status"] == "frozen"
    assert states[16]["account"]["status"] == "open"
    assert states[17]["events"][0]["amount"] == "-1.500000"
    assert states[17]["account"]["adjustments"] == "-1.500000"
    assert states[18]["result"]["error"] == "invalid_command"
    assert states[19]["result"] == {"admin": "close_all", "closed": 1}
    assert states[19]["events"][0]["origin"] == "close_all"
    assert states[20]["account"]["status"] == "closed"
    assert states[22]["result"]["error"] == "account_closed"


def test_state_shows_the_valued_account_and_positions() -> None:
    state = run("stop_loss_gap.json")[1]
    assert set(state) == {
        "step", "at", "note", "action", "input", "result", "events", "marks", "account"
    }  # fmt: skip
    assert {
        "collateral", "realized_pnl", "fees", "funding", "adjustments", "account_value",
        "margin_used", "maintenance_required", "free_collateral", "positions",
    } <= set(state["account"])  # fmt: skip
    position = state["account"]["positions"][0]
    assert position["stop_loss"] == "95000"
    assert position["take_profit"] == "120000"
    assert position["mark"] == "100000"
    assert position["unrealized_pnl"] == "-5.000000"
    assert position["liquidation_price"] is not None


@pytest.mark.parametrize("name", FILES)
def test_replay_is_deterministic(name: str) -> None:
    first = json.dumps(run(name), indent=2)
    second = json.dumps(run(name), indent=2)
    assert first == second


# --- invalid scenarios ---------------------------------------------------------------------


def an_order(**fields: Any) -> dict[str, Any]:
    order = {"id": "o1", "asset": "BTC", "side": "buy", "size": "0.1", "leverage": 10}
    return {"at": "2021-07-03T00:01:00Z", "order": order | fields}


def an_admin(action: str, **fields: Any) -> dict[str, Any]:
    return {"at": "2021-07-03T00:01:00Z", "admin": {"action": action} | fields}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s["steps"].append(an_order(size=0.1)), "steps[1].order.size"),
        (lambda s: s["steps"].append(an_order(size="1e-1")), "write decimals as strings"),
        (lambda s: s["account"].update(collateral=10000), "account.collateral"),
        (lambda s: s["account"].update(collateral="1.0000001"), "at most 6 decimals"),
        (lambda s: s["steps"].append(an_order(asset="XRP")), "steps[1].order: unknown asset XRP"),
        (lambda s: s["steps"].append(an_order(colour="red")), "steps[1].order.colour"),
        (lambda s: s.update(start="2021-07-03T00:00:00"), "UTC offset"),
        (lambda s: s["steps"][0].update(order=an_order()["order"]), "exactly one of"),
        (lambda s: s["steps"].append(an_admin("delete")), "steps[1].admin.action: Input should"),
        (lambda s: s["steps"].append(an_admin("adjust")), "amount is required for adjust"),
        (lambda s: s["steps"].append(an_admin("freeze", amount="1")), "allowed for adjust only"),
    ],
)
def test_invalid_scenario_names_the_field(change: Any, message: str) -> None:
    scenario = a_scenario()
    change(scenario)
    with pytest.raises(ScenarioError, match=re.escape(message)):
        run_scenario(scenario)


def test_time_going_backwards_names_both_steps() -> None:
    scenario = a_scenario(
        {"at": "2021-07-03T01:00:00Z", "marks": {"BTC": "100000"}},
        {"at": "2021-07-03T00:59:59Z", "marks": {"BTC": "101000"}},
    )
    with pytest.raises(ScenarioError, match=r"steps\[1\]\.at: .* is before steps\[0\]\.at"):
        run_scenario(scenario)


def test_step_before_start_is_refused() -> None:
    scenario = a_scenario({"at": "2021-07-02T23:00:00Z", "marks": {"BTC": "100000"}})
    with pytest.raises(ScenarioError, match=r"steps\[0\]\.at: .* is before start"):
        run_scenario(scenario)


def test_close_all_without_a_mark_names_the_asset() -> None:
    scenario = a_scenario(
        an_order(price="100000"), {"at": "2021-07-03T00:02:00Z", "admin": {"action": "close_all"}}
    )
    with pytest.raises(ScenarioError, match=r"steps\[1\]\.admin: .*BTC has none"):
        run_scenario(scenario)


def test_instrument_entry_replaces_the_seeded_spec() -> None:
    scenario = load("cross_liquidation.json")
    scenario["instruments"] = {
        "BTC": {"size_decimals": 5, "max_leverage": 40, "taker_fee_rate": "0"}
    }
    opened = run_scenario(scenario)[0]
    assert opened["events"][0]["fee"] == "0.000000"


def test_bad_margin_tiers_are_refused() -> None:
    scenario = a_scenario()
    scenario["instruments"] = {
        "BTC": {"size_decimals": 5, "max_leverage": 40, "margin_tiers": {"5": 40}}
    }
    with pytest.raises(ScenarioError, match=r"instruments\.BTC: margin_tiers"):
        run_scenario(scenario)
