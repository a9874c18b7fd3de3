"""``clash demo``: a whole season on a fresh store ends with a clean audit, reproducibly."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from api.cli import app

pytestmark = pytest.mark.slow


def test_the_demo_season_plays_through_to_a_clean_audit() -> None:
    result = CliRunner().invoke(app, ["demo", "--seed", "7"])

    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "CLASH_ARENA_CAPACITY=3" in text  # the departures from the defaults, printed
    assert "Backtest of Ada's clone over the last 6 market hours: succeeded" in text
    assert re.search(r"Audition of \w+'s clone: passed", text)
    assert "Race settled:" in text
    assert re.search(r"Punter \d: payout [0-9.]+ ETH \(signed by the payout key", text)
    assert re.search(r"Audit: \d+ prop accounts, 0 findings; economy \d+ events, 0 breaches", text)
