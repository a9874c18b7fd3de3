"""``clash audit``: the books checked from the event log, independently of the read models."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated

import typer
from rich.table import Table

from api.cli_support import console, container
from projections.prop_audit import audit


def run_audit(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Fold every account from its events, check postings balance, compare with the views.

    Exits 1 listing every mismatch, 0 when the books agree.
    """
    with container() as built:
        report = audit(built.prop, built.database)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "ok": report.ok,
                    "accounts": report.accounts,
                    "events": report.events,
                    "findings": [asdict(f) for f in report.findings],
                },
                indent=2,
            )
        )
    else:
        table = Table("account", "check", "expected (log)", "found (view)")
        for finding in report.findings:
            table.add_row(finding.account_id, finding.check, finding.expected, finding.found)
        if report.findings:
            console.print(table)
        console.print(
            f"{report.accounts} accounts, {report.events} events, {len(report.findings)} findings.",
            markup=False,
        )
    if not report.ok:
        raise typer.Exit(1)
