"""``clash prop simulate``: a scenario file in, the state after every step out as JSON."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from api.cli import app

SCENARIO = Path(__file__).parents[1] / "domain" / "prop" / "scenarios" / "cross_liquidation.json"


def test_simulate_prints_the_state_after_every_step() -> None:
    # Act
    result = CliRunner().invoke(app, ["prop", "simulate", str(SCENARIO)])
    # Assert
    assert result.exit_code == 0, result.output
    states = json.loads(result.stdout)
    assert [state["step"] for state in states] == [0, 1, 2]
    assert states[0]["account"]["positions"][0]["liquidation_price"].startswith("81012.65")
    assert states[2]["result"] == {"fired": ["liquidation"]}
    assert states[2]["account"]["collateral"] == "963.550000"


def test_simulate_writes_the_same_json_to_an_output_file(tmp_path: Path) -> None:
    target = tmp_path / "states.json"
    printed = CliRunner().invoke(app, ["prop", "simulate", str(SCENARIO)])
    written = CliRunner().invoke(app, ["prop", "simulate", str(SCENARIO), "--output", str(target)])
    assert written.exit_code == 0
    assert written.stdout == ""
    assert target.read_text(encoding="utf-8") == printed.stdout


def test_simulate_invalid_scenario_exits_2_naming_the_field(tmp_path: Path) -> None:
    scenario = json.loads(SCENARIO.read_text(encoding="utf-8"))
    scenario["steps"][0]["order"]["size"] = 1
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(scenario), encoding="utf-8")
    result = CliRunner().invoke(app, ["prop", "simulate", str(bad)])
    assert result.exit_code == 2
    assert "steps[0].order.size" in result.stderr
    assert result.stdout == ""


def test_simulate_unreadable_file_exits_2(tmp_path: Path) -> None:
    not_json = tmp_path / "scenario.json"
    not_json.write_text("{not json", encoding="utf-8")
    missing = CliRunner().invoke(app, ["prop", "simulate", str(tmp_path / "missing.json")])
    broken = CliRunner().invoke(app, ["prop", "simulate", str(not_json)])
    assert (missing.exit_code, broken.exit_code) == (2, 2)
    assert "Cannot simulate" in broken.stderr
