"""``clash audit``: the books checked from the event log, independently of the read models."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated

import typer
from rich.table import Table

from api.cli_support import console, container
from projections.arena_audit import ArenaAuditReport, audit_arena
from projections.economy_audit import EconomyAuditReport, audit_economy
from projections.prop_audit import audit


def run_audit(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Fold every account from its events, check postings balance, compare with the views;
    then reconcile the economy's purchases, grants, refunds and receipt nonces, and the
    auditions' attempts and voids; then check the Arena's membership at every seating.

    Exits 1 listing every mismatch or breach, 0 when the books agree.
    """
    with container() as built:
        report = audit(built.prop, built.database)
        economy = audit_economy(built.economy, built.lifecycle)
        arena = audit_arena(built.competition, built.lifecycle)
    ok = report.ok and economy.ok and arena.ok
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "ok": ok,
                    "accounts": report.accounts,
                    "events": report.events,
                    "findings": [asdict(f) for f in report.findings],
                    "economy": {
                        "ok": economy.ok,
                        "events": economy.events,
                        "checked": economy.checked,
                        "totals": economy.totals,
                        "breaches": [
                            {"kind": b.kind, "ids": list(b.ids), "detail": b.detail}
                            for b in economy.breaches
                        ],
                    },
                    "arena": {
                        "ok": arena.ok,
                        "seatings": arena.seatings,
                        "entries": arena.entries,
                        "breaches": [asdict(b) for b in arena.breaches],
                    },
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
        _print_economy(economy)
        _print_arena(arena)
    if not ok:
        raise typer.Exit(1)


def _print_arena(report: ArenaAuditReport) -> None:
    if report.breaches:
        table = Table("breach", "ids", "detail")
        for breach in report.breaches:
            table.add_row(breach.kind, "\n".join(breach.ids), breach.detail)
        console.print(table)
    console.print(
        f"Arena: {report.seatings} seatings, {report.entries} entries,"
        f" {len(report.breaches)} breaches.",
        markup=False,
    )


def _print_economy(report: EconomyAuditReport) -> None:
    if report.breaches:
        table = Table("breach", "ids", "detail")
        for breach in report.breaches:
            table.add_row(breach.kind, "\n".join(breach.ids), breach.detail)
        console.print(table)
    checked = ", ".join(f"{count} {name}" for name, count in report.checked.items())
    console.print(
        f"Economy: {report.events} events ({checked}), {len(report.breaches)} breaches.",
        markup=False,
    )
