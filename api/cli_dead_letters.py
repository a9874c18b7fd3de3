"""``clash dead-letters``: list, retry or discard work items that exhausted their attempts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer
from rich.table import Table

from adapters.dead_letters import DeadLetterStore
from api.cli_support import console, container, errors

dead_letters_app = typer.Typer(help="Dead letters of the workers.", no_args_is_help=True)


@dead_letters_app.command("list")
def list_letters(
    worker: Annotated[str | None, typer.Option(help="Only this worker's letters.")] = None,
) -> None:
    """The open dead letters, oldest first."""
    with container() as built:
        letters = DeadLetterStore(built.database).list_open(worker)
    table = Table("id", "worker", "item", "attempts", "dead at", "last error")
    for letter in letters:
        table.add_row(
            letter.id,
            letter.worker,
            letter.item_key,
            str(letter.attempts),
            letter.dead_at.isoformat(timespec="seconds"),
            letter.last_error[:80],
        )
    console.print(table)
    console.print(f"{len(letters)} open dead letters.", markup=False)


@dead_letters_app.command("retry")
def retry(letter_id: Annotated[str, typer.Argument(help="The letter's id.")]) -> None:
    """Re-open the letter's item with a fresh attempt count."""
    _resolve(letter_id, "retried", lambda store: store.retry(letter_id))


@dead_letters_app.command("discard")
def discard(letter_id: Annotated[str, typer.Argument(help="The letter's id.")]) -> None:
    """Close the letter without redoing its item."""
    _resolve(letter_id, "discarded", lambda store: store.discard(letter_id))


def _resolve(letter_id: str, done: str, act: Callable[[DeadLetterStore], bool]) -> None:
    with container() as built:
        resolved = act(DeadLetterStore(built.database))
    if not resolved:
        errors.print(f"No open dead letter {letter_id}.", markup=False)
        raise typer.Exit(1)
    console.print(f"Dead letter {letter_id} {done}.", markup=False)
