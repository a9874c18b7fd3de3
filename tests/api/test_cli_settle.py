"""``clash settle simulate``: a pool description in, every settlement row out as JSON."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from api.cli import app

EXAMPLE = Path(__file__).parents[2] / "docs" / "examples" / "race-pool.json"


def test_simulate_prints_the_notes_example_to_the_wei() -> None:
    result = CliRunner().invoke(app, ["settle", "simulate", str(EXAMPLE)])

    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    payouts = {p["cloneId"]: p["amountWei"] for p in rows["payments"] if p["kind"] == "payout"}
    assert payouts == {"B": "350", "A": "444", "D": "105", "C": "0"}  # C's ticket lost
    assert (rows["rakeWei"], rows["breakageWei"], rows["conserved"]) == ("100", "1", True)
    assert rows["digest"].startswith("sha256:")
    again = CliRunner().invoke(app, ["settle", "simulate", str(EXAMPLE)])
    assert json.loads(again.stdout)["digest"] == rows["digest"]


def test_simulate_refuses_a_bad_description_naming_the_member(tmp_path: Path) -> None:
    pool = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    pool["tickets"][2]["stakeWei"] = 200  # a JSON number, not a decimal string
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(pool), encoding="utf-8")

    result = CliRunner().invoke(app, ["settle", "simulate", str(bad)])

    assert result.exit_code == 2
    assert "tickets[2].stakeWei" in result.output
