"""``clash ingest``: backfill candles from a source, import candle archives (CSV)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress

from adapters.bootstrap import Container
from adapters.bundled_candles import ArchiveError, read_candles
from adapters.candle_backfill import BackfillJob, BackfillResult, CandleBackfill
from adapters.hyperliquid_client import HyperliquidClient
from adapters.source_http import SourceError
from api.cli_support import container, errors
from domain.market.intervals import UnknownInterval, interval_length
from domain.market.model import Candle

ingest_app = typer.Typer(help="Market-data ingestion tools.", no_args_is_help=True)
IMPORT_BATCH = 5000


def _instant(text: str) -> datetime:
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@ingest_app.command("backfill")
def backfill(
    asset: Annotated[str, typer.Option(help="Asset, e.g. BTC.")],
    interval: Annotated[str, typer.Option(help="Candle interval, e.g. 1h.")],
    start: Annotated[str, typer.Option("--from", help="Start (ISO 8601, UTC if no zone).")],
    end: Annotated[str, typer.Option("--to", help="End (ISO 8601), inclusive of its candle.")],
    source: Annotated[str, typer.Option(help="Only hyperliquid has candles.")] = "hyperliquid",
) -> None:
    """Backfill candles from a source: chunked by its page limit, resumable, idempotent."""
    if source != "hyperliquid":
        errors.print(f"Source {source!r} has no candles; use hyperliquid.", markup=False)
        raise typer.Exit(2)
    _check_interval(interval)
    job = BackfillJob(source, asset, interval, _instant(start), _instant(end))
    with container() as built:
        try:
            result = asyncio.run(_run_backfill(built, job))
        except SourceError as exc:
            errors.print(f"Backfill stopped (rerun to resume): {exc}", markup=False)
            raise typer.Exit(1) from None
    resumed = f" (resumed from {result.resumed_from.isoformat()})" if result.resumed_from else ""
    typer.echo(f"Backfilled {result.rows_written} candles of {asset} {interval}{resumed}.")


async def _run_backfill(built: Container, job: BackfillJob) -> BackfillResult:
    client = HyperliquidClient.from_settings(built.settings)
    now = built.service_clock.now()

    async def fetch(asset: str, interval: str, start: datetime, end: datetime) -> list[Candle]:
        return await client.candles(asset, interval, start, end, now)

    runner = CandleBackfill(built.database, built.market, fetch, built.features.on_candles)
    try:
        with Progress(transient=True) as progress:
            task = progress.add_task(f"{job.asset} {job.interval}", total=None)
            return await runner.run(
                job, now, lambda done, total: progress.update(task, completed=done, total=total)
            )
    finally:
        await client.aclose()


@ingest_app.command("import-candles")
def import_candles(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV archive.")],
    asset: Annotated[str, typer.Option(help="Asset the file holds, e.g. BTC.")],
    interval: Annotated[str, typer.Option(help="Candle interval of the file, e.g. 5m.")],
    source: Annotated[str, typer.Option(help="Source name to file them under.")] = "archive",
) -> None:
    """Import a CSV archive (ts_ms,open,high,low,close,volume); all rows or none."""
    _check_interval(interval)
    try:
        candles = read_candles(file, asset, interval)
    except ArchiveError as exc:
        errors.print(f"Nothing imported: {exc}", markup=False)
        raise typer.Exit(1) from None
    with container() as built, Progress(transient=True) as progress:
        task = progress.add_task(f"{asset} {interval}", total=len(candles))
        for at in range(0, len(candles), IMPORT_BATCH):
            batch = candles[at : at + IMPORT_BATCH]
            built.market.upsert_candles(source, batch)
            built.features.on_candles(batch)
            progress.update(task, advance=len(batch))
    typer.echo(f"Imported {len(candles)} candles of {asset} {interval} from {file}.")


def _check_interval(interval: str) -> None:
    try:
        interval_length(interval)
    except UnknownInterval as exc:
        raise typer.BadParameter(str(exc)) from None
