"""``clash config check``: every setting that is unsafe for production, whatever CLASH_ENV says.

Operators run it before switching ``CLASH_ENV=production`` (which refuses to start on the
same list) and in a deployment's checks. Exits 1 listing each unsafe setting, 0 when none.
"""

from __future__ import annotations

import os

import typer

from api.cli_support import console, settings_or_exit

config_app = typer.Typer(help="Configuration checks.", no_args_is_help=True)


@config_app.command("check")
def check() -> None:
    """List the settings that keep a development default or are otherwise unsafe."""
    settings = settings_or_exit(env="development") if _production() else settings_or_exit()
    problems = settings.unsafe_for_production()
    for problem in problems:
        console.print(f"unsafe: {problem}", markup=False)
    if problems:
        console.print(f"{len(problems)} unsafe settings.", markup=False)
        raise typer.Exit(1)
    console.print("No unsafe settings.", markup=False)


def _production() -> bool:
    """Production refuses to load unsafe settings: check them as development would load them."""
    return os.environ.get("CLASH_ENV") == "production"
