"""``clash demo``: play a whole season on the bundled data and print it (``api/demo_season.py``)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from api.cli_support import console
from api.demo_season import DEMO_SETTINGS, WHY, DemoFailed, run_season


def demo(
    seed: Annotated[int, typer.Option(help="Makes the wallets and choices reproducible.")] = 7,
    keep: Annotated[
        Path | None,
        typer.Option(help="Keep the season's store in this folder (else a scratch one)."),
    ] = None,
) -> None:
    """Run a season: sign-ins, clones, backtests, paid auditions, the Arena, a race with
    tickets, settlement and payouts, ending with the audit. Exits 1 unless the audit is clean."""
    console.print("Clash of Clones: a season on the bundled data.", markup=False)
    console.print("Departures from the production defaults:", markup=False)
    for key, value in DEMO_SETTINGS.items():
        console.print(f"  CLASH_{key.upper()}={value}  ({WHY[key]})", markup=False)
    started = time.monotonic()
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
    try:
        clean = run_season(seed, lambda line: console.print(line, markup=False), keep)
    except DemoFailed as exc:
        console.print(f"The season stopped: {exc}", markup=False)
        raise typer.Exit(1) from None
    console.print(f"Season over in {time.monotonic() - started:.0f} s.", markup=False)
    if not clean:
        raise typer.Exit(1)
