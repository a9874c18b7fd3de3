"""What every ``clash`` command shares: settings (or a clear exit), the container, consoles."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum

import typer
from pydantic import ValidationError
from rich.console import Console

from adapters.bootstrap import Container, bootstrap
from adapters.settings import SecretFileError, Settings, load_settings

console = Console()
errors = Console(stderr=True)


class MarketMode(StrEnum):
    """Where market time and prices come from."""

    replay = "replay"
    live = "live"


def market_overrides(market: MarketMode | None, speed: float | None) -> dict[str, object]:
    """Settings overrides from ``--market`` and ``--speed``."""
    overrides: dict[str, object] = {}
    if market is not None:
        overrides["market_mode"] = market.value
    if speed is not None:
        overrides["replay_speed"] = speed
    return overrides


def settings_or_exit(**overrides: object) -> Settings:
    """Load settings, or print what is wrong and exit with status 2."""
    try:
        return load_settings(**overrides)
    except SecretFileError as exc:
        errors.print(f"[bold red]Invalid settings:[/] {exc}")
        raise typer.Exit(2) from None
    except ValidationError as exc:
        errors.print("[bold red]Invalid settings:[/]")
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"]) or "settings"
            errors.print(f"  {where}: {error['msg']}", markup=False)
        raise typer.Exit(2) from None


@contextmanager
def container(settings: Settings | None = None, *, migrations: bool = True) -> Iterator[Container]:
    """Bootstrap a container for one command and close it afterwards."""
    built = bootstrap(settings or settings_or_exit(), run_migrations=migrations)
    try:
        yield built
    finally:
        built.close()
