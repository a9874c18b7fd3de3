"""``clash backup``: create, verify and restore backups of the store (``adapters/backups.py``).

- ``clash backup create [--dir DIR]``: a consistent copy of the configured store (SQLite
  online backup, or ``pg_dump`` custom format), named by the time it was taken.
- ``clash backup verify FILE``: restore into a scratch store and run every audit there;
  exits 1 unless the restored books agree (prints the accounts, balances and events read).
- ``clash backup restore FILE [--force]``: restore into the configured store; refused over
  a store that holds data unless ``--force`` (which erases it first).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from adapters.backups import BackupError, create_backup, restore_backup, scratch_restore
from adapters.bootstrap import bootstrap
from adapters.clocks import SystemClock
from api.cli_support import console, errors, settings_or_exit
from projections.arena_audit import audit_arena
from projections.economy_audit import audit_economy
from projections.prop_audit import audit

backup_app = typer.Typer(help="Backups of the store.", no_args_is_help=True)


@backup_app.command("create")
def create(
    directory: Annotated[Path, typer.Option("--dir", help="Where to write the backup.")] = Path(
        "var/backups"
    ),
) -> None:
    """Take a consistent backup of the configured store."""
    settings = settings_or_exit()
    try:
        made = create_backup(
            settings.database_url,
            settings.effective_postgres_schema,
            directory,
            SystemClock().now(),
        )
    except BackupError as exc:
        errors.print(f"Cannot back up: {exc}", markup=False)
        raise typer.Exit(1) from None
    console.print(f"Backed up ({made.backend}, {made.size} bytes) to {made.path}", markup=False)


@backup_app.command("verify")
def verify(file: Annotated[Path, typer.Argument(help="The backup to verify.")]) -> None:
    """Restore a backup into a scratch store and audit it there."""
    settings = settings_or_exit()
    schema = settings.effective_postgres_schema
    try:
        with scratch_restore(file, settings.database_url, schema) as url:
            ok, summary = audit_store(url, schema)
    except BackupError as exc:
        errors.print(f"Cannot verify {file}: {exc}", markup=False)
        raise typer.Exit(1) from None
    console.print(summary, markup=False)
    if not ok:
        raise typer.Exit(1)


@backup_app.command("restore")
def restore(
    file: Annotated[Path, typer.Argument(help="The backup to restore.")],
    force: Annotated[bool, typer.Option(help="Replace a store that holds data.")] = False,
) -> None:
    """Restore a backup into the configured store."""
    settings = settings_or_exit()
    try:
        restore_backup(file, settings.database_url, settings.effective_postgres_schema, force=force)
    except BackupError as exc:
        errors.print(f"Cannot restore {file}: {exc}", markup=False)
        raise typer.Exit(1) from None
    console.print(f"Restored {file}.", markup=False)


def audit_store(url: str, schema: str) -> tuple[bool, str]:
    """Every audit on the store at ``url``: whether the books agree, and what was read."""
    settings = settings_or_exit(database_url=url, postgres_schema=schema)
    built = bootstrap(settings, run_migrations=False)
    try:
        ledger = audit(built.prop, built.database)
        economy = audit_economy(built.economy, built.lifecycle)
        arena = audit_arena(built.competition, built.lifecycle)
    finally:
        built.close()
    ok = ledger.ok and economy.ok and arena.ok
    summary = (
        f"{'Clean' if ok else 'BREACHES'}: {ledger.accounts} accounts, {ledger.events} ledger"
        f" events, {len(ledger.findings)} findings; economy {economy.events} events,"
        f" {len(economy.breaches)} breaches; arena {len(arena.breaches)} breaches"
    )
    return ok, summary
