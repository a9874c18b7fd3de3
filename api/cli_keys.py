"""``clash admin keys``: rotate the JWT signing key with overlap, and list the keys.

A rotation never logs anyone out: the new key is announced (every process learns it as a
verifier) before it signs, and the key it replaces verifies until the last token it
signed has expired (``adapters/jwt_keyring.py``, docs/keys.md).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated

import typer
from rich.table import Table

from adapters.entropy import SystemEntropy
from api.cli_support import console, container, errors
from domain.identity.keyring import RotationRefused

keys_app = typer.Typer(help="JWT signing keys.", no_args_is_help=True)


class KeyAlgorithm(StrEnum):
    """The algorithms a rotated key may use."""

    HS256 = "HS256"
    EDDSA = "EdDSA"


@keys_app.command("rotate")
def rotate(
    algorithm: Annotated[
        KeyAlgorithm | None,
        typer.Option("--algorithm", help="The new key's algorithm (default: the current one's)."),
    ] = None,
) -> None:
    """Add a new signing key; the current one keeps verifying its tokens until they expire."""
    with container() as built:
        settings = built.settings
        lifetime = settings.access_token_ttl_seconds + settings.token_leeway_seconds
        try:
            done = built.keyring.rotate(
                built.service_clock.now(),
                entropy=SystemEntropy(),
                announce=timedelta(seconds=settings.jwt_rotation_announce_seconds),
                token_lifetime=timedelta(seconds=lifetime),
                algorithm=None if algorithm is None else algorithm.value,
            )
        except RotationRefused as exc:
            errors.print(f"Rotation refused: {exc.reason} ({exc.detail}).", markup=False)
            raise typer.Exit(1) from None
    console.print(
        f"New {done.algorithm} key {done.kid} signs from {_at(done.signs_from)};"
        f" {done.retiring_kid} verifies until {_at(done.retiring_verifies_until)}.",
        markup=False,
    )


@keys_app.command("list")
def list_keys() -> None:
    """Every key, configured and rotated, with its schedule; never the key material."""
    with container() as built:
        statuses = built.keyring.statuses(built.service_clock.now())
    table = Table("kid", "alg", "source", "signs from", "verifies until", "state")
    for key in statuses:
        state = "signing" if key.signing else "verifying" if key.verifying else "retired"
        table.add_row(
            key.kid,
            key.algorithm,
            key.source,
            _at(key.signs_from),
            _at(key.verifies_until),
            state,
        )
    console.print(table)


def _at(instant: datetime | None) -> str:
    return "-" if instant is None else instant.isoformat(timespec="seconds")
