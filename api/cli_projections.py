"""``clash projections``: where each read model is, and rebuilding one from its log."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import Progress, TaskID
from rich.table import Table

from api.cli_support import console, container, errors
from projections.catalog import UnknownProjection, runners

projections_app = typer.Typer(help="Read models (projections).", no_args_is_help=True)


@projections_app.command("status")
def status() -> None:
    """Show each projection's position, the log head, lag and state."""
    with container() as built:
        rows = [runner.status() for runner in runners(built)]
    table = Table("projection", "application", "version", "position", "head", "lag", "state")
    for row in rows:
        table.add_row(
            row.projection,
            row.application,
            str(row.version),
            str(row.position),
            str(row.head),
            str(row.lag),
            row.status + (f": {row.error}" if row.error else ""),
        )
    console.print(table)


@projections_app.command("rebuild")
def rebuild(
    name: Annotated[str | None, typer.Argument(help="One projection (default: all).")] = None,
) -> None:
    """Drop a projection's rows and tracking, then replay its whole log."""
    with container() as built:
        try:
            chosen = runners(built, [name] if name else None)
        except UnknownProjection as exc:
            errors.print(str(exc), markup=False)
            raise typer.Exit(2) from None
        for runner in chosen:
            with Progress(transient=True) as progress:
                task = progress.add_task(runner.projection.name, total=None)

                def advance(done: int, total: int, task: TaskID = task) -> None:
                    progress.update(task, completed=done, total=total)

                count = runner.rebuild(advance)
            console.print(f"Rebuilt {runner.projection.name}: {count} events.", markup=False)
