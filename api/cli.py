"""The ``clash`` command line: serve, run workers, migrate, administer.

Every command builds its objects through ``bootstrap()`` and closes them on exit. Invalid
settings (for example development defaults under ``CLASH_ENV=production``) stop a command
before anything starts, with the offending variables named and exit code 2.
"""

from __future__ import annotations

import math
from typing import Annotated

import typer
from rich.table import Table

from adapters.database import erase_store
from adapters.migrations import migrate
from adapters.structured_logs import configure_logging
from api.cli_audit import run_audit
from api.cli_backup import backup_app
from api.cli_config import config_app
from api.cli_dead_letters import dead_letters_app
from api.cli_demo import demo
from api.cli_ingest import ingest_app
from api.cli_keys import keys_app
from api.cli_ledger import protect_ledger_command
from api.cli_model_usage import model_usage
from api.cli_projections import projections_app
from api.cli_prop import prop_app
from api.cli_settle import settle_app
from api.cli_support import (
    MarketMode,
    console,
    container,
    errors,
    market_overrides,
    settings_or_exit,
)
from api.cli_workers import workers_app
from domain.identity.errors import IdentityError

app = typer.Typer(help="Clash of Clones backend.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
admin_app = typer.Typer(help="Administration.", no_args_is_help=True)
service_token_app = typer.Typer(help="Machine-to-machine service tokens.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(ingest_app, name="ingest")
app.add_typer(projections_app, name="projections")
app.add_typer(admin_app, name="admin")
app.add_typer(prop_app, name="prop")
app.add_typer(settle_app, name="settle")
app.add_typer(backup_app, name="backup")
app.add_typer(config_app, name="config")
app.add_typer(dead_letters_app, name="dead-letters")
app.add_typer(workers_app, name="workers")
db_app.command("protect-ledger")(protect_ledger_command)
admin_app.add_typer(service_token_app, name="service-token")
admin_app.add_typer(keys_app, name="keys")
admin_app.command("model-usage")(model_usage)
app.command("audit")(run_audit)
app.command("demo")(demo)


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Interface to bind (default CLASH_HOST).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default CLASH_PORT).")] = None,
    workers: Annotated[bool, typer.Option(help="Run the workers in this process too.")] = True,
    market: Annotated[
        MarketMode | None,
        typer.Option(
            help="replay: bundled candles drive a simulated market (default); "
            "live: poll the real sources, market clock = real time."
        ),
    ] = None,
    speed: Annotated[
        float | None, typer.Option(help="Replay speed: simulated seconds per real second.")
    ] = None,
) -> None:
    """Run the API (and, unless --no-workers, every worker) after applying migrations."""
    import uvicorn

    from api.app import create_app
    from workers.catalog import in_process_workers

    settings = settings_or_exit(**market_overrides(market, speed))
    configure_logging(settings.log_level, json=settings.log_json)
    with container(settings) as built:
        background = in_process_workers(built) if workers and settings.run_workers else []
        uvicorn.run(
            create_app(built, background),
            host=host or settings.host,
            port=port or settings.port,
            log_config=None,
            proxy_headers=True,
            timeout_graceful_shutdown=math.ceil(settings.worker_shutdown_grace_seconds),
        )


@app.command("worker")
def run_worker(
    name: Annotated[str, typer.Argument(help="Worker name, see `clash workers`.")],
) -> None:
    """Run one worker alone until SIGTERM or Ctrl-C."""
    from workers.catalog import UnknownWorker, run_alone

    settings = settings_or_exit()
    configure_logging(settings.log_level, json=settings.log_json)
    with container(settings) as built:
        try:
            run_alone(built, name)
        except UnknownWorker as exc:
            errors.print(str(exc), markup=False)
            raise typer.Exit(2) from None


@db_app.command("migrate")
def db_migrate() -> None:
    """Apply pending migrations of plain tables (idempotent)."""
    with container(migrations=False) as built:
        applied = migrate(built.database)
    if not applied:
        console.print("Nothing to apply: the schema is up to date.")
    for migration in applied:
        console.print(f"Applied {migration.version}: {migration.name}")


@db_app.command("reset")
def db_reset(
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Erase the whole store (the SQLite file or the PostgreSQL schema) to start over.

    The next start migrates afresh, and the offline replay begins again at the start of
    the bundled data. Stop running services first.
    """
    settings = settings_or_exit()
    if not yes and not typer.confirm("Erase every table, event and replay position?"):
        raise typer.Exit(1)
    erased = erase_store(
        settings.database_url.split("?")[0], schema=settings.effective_postgres_schema
    )
    console.print(f"Erased the {erased}; the next start begins afresh.", markup=False)


@service_token_app.command("create")
def create_service_token(
    name: Annotated[str, typer.Option("--name", help="Unique name of the caller.")],
    scope: Annotated[list[str], typer.Option("--scope", help="A scope; repeat for more.")],
) -> None:
    """Create a service token and print it once (only its hash is stored)."""
    with container() as built:
        try:
            created = built.identity.service_tokens.create(name, scope)
        except IdentityError as exc:
            errors.print(f"[red]Refused:[/] {exc.reason} {exc.detail}")
            raise typer.Exit(1) from None
    console.print(created.secret, soft_wrap=True)
    errors.print(
        f"Service token {name!r} created with scopes {', '.join(created.record.scopes)}. "
        "Store it now: it cannot be shown again."
    )


@service_token_app.command("revoke")
def revoke_service_token(name: Annotated[str, typer.Argument(help="Token name.")]) -> None:
    """Revoke a service token by name."""
    with container() as built:
        try:
            built.identity.service_tokens.revoke(name)
        except IdentityError as exc:
            errors.print(f"[red]Refused:[/] {exc.reason} {exc.detail}")
            raise typer.Exit(1) from None
    console.print(f"Revoked {name}.")


@service_token_app.command("list")
def list_service_tokens() -> None:
    """List service tokens (never their secrets)."""
    with container() as built:
        records = built.identity.service_tokens.list()
    table = Table("name", "scopes", "status", "created")
    for record in records:
        table.add_row(
            record.name,
            " ".join(record.scopes),
            record.status,
            record.created_at.isoformat(timespec="seconds"),
        )
    console.print(table)


def main() -> None:
    """Entry point of the ``clash`` console script."""
    app()
