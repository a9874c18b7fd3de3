"""``clash db protect-ledger``: make the event tables append-only on PostgreSQL.

See ``adapters/ledger_grants.py`` for what it installs and why ``UPDATE`` stays granted
(the library's table lock needs it) while a trigger refuses every update and delete.
"""

from __future__ import annotations

from typing import Annotated

import typer

from adapters.ledger_grants import ledger_protection, protect_ledger
from api.cli_support import console, errors, settings_or_exit


def protect_ledger_command(
    app_role: Annotated[
        str | None,
        typer.Option(help="Grant this application role what it needs (and no more)."),
    ] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Only list event tables without the trigger.")
    ] = False,
) -> None:
    """Refuse UPDATE, DELETE and TRUNCATE on every event table (run as the schema owner)."""
    settings = settings_or_exit()
    if not settings.database_url.startswith(("postgresql://", "postgres://")):
        errors.print("protect-ledger needs PostgreSQL (SQLite has no roles).", markup=False)
        raise typer.Exit(2)
    url, schema = settings.database_url, settings.effective_postgres_schema
    report = (
        ledger_protection(url, schema) if check else protect_ledger(url, schema, app_role=app_role)
    )
    for table in report.event_tables:
        state = "UNPROTECTED" if table in report.unprotected else "append-only"
        console.print(f"{table}: {state}", markup=False)
    if app_role is not None and not check:
        console.print(f"Granted role {app_role} (docs/deployment.md).", markup=False)
    if report.unprotected:
        raise typer.Exit(1)
