"""``clash settle``: race pool settlement tools that run without a store or a service.

``clash settle simulate FILE.json`` settles a pool description (``docs/settlement.md``) with
the code races settle with (``domain.economy.parimutuel``) and prints every payout, refund
and creator share, the rake and the breakage as JSON, with a digest of the rows. Operators
use it to answer "what would this race pay?". An unreadable or invalid description exits
with status 2 and the member at fault on stderr.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from api.cli_support import errors
from domain.economy.parimutuel import PoolInvalid, settle_pool
from domain.economy.pool_format import read_pool

settle_app = typer.Typer(help="Race pool settlement.", no_args_is_help=True)


@settle_app.command("simulate")
def simulate(
    file: Annotated[Path, typer.Argument(help="Pool description (JSON, docs/settlement.md).")],
) -> None:
    """Settle a described pool and print every row as JSON."""
    try:
        tickets, finishes, rules, cancelled = read_pool(json.loads(file.read_text("utf-8")))
        settlement = settle_pool(tickets, finishes, rules, cancelled=cancelled)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, PoolInvalid) as exc:
        errors.print(f"Cannot settle {file}: {exc}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    document = settlement.to_document()
    document["conserved"] = settlement.conserved
    typer.echo(json.dumps(document, indent=2))
