"""``clash prop``: prop-account tools that run without a store or a service.

``clash prop simulate FILE.json`` replays a scenario (``docs/prop-scenarios.md``) through the
ledger on an isolated in-memory store and a simulated clock, and prints the state after every
step as JSON. Nothing is read from or written to the project's database, so support can run it
anywhere to reproduce a disputed account. An unreadable or invalid scenario exits with status 2
and the reason (the step and field) on stderr.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from api.cli_support import errors
from domain.prop.scenarios import ScenarioError, run_scenario

prop_app = typer.Typer(help="Prop accounts.", no_args_is_help=True)


@prop_app.command("simulate")
def simulate(
    file: Annotated[Path, typer.Argument(help="Scenario file (JSON, see docs/prop-scenarios.md).")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the JSON here, not to stdout.")
    ] = None,
) -> None:
    """Replay a scenario on an isolated ledger and print the state after every step."""
    try:
        states = run_scenario(json.loads(file.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, ScenarioError) as exc:
        errors.print(
            f"Cannot simulate {file}: {exc}", markup=False, highlight=False, soft_wrap=True
        )
        raise typer.Exit(2) from None
    text = json.dumps(states, indent=2, ensure_ascii=False) + "\n"
    if output is None:
        typer.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    errors.print(f"Wrote {len(states)} step states to {output}.", markup=False, soft_wrap=True)
