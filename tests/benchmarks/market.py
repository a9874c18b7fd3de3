"""Market memory throughput: candle ingest and feature channels, on the bundled real candles.

The data is the bundled archive (``adapters/bundled/candles``): BTC, ETH and SOL, 1h
(5,482 candles each) and 5m (4,032 each). Five figures per backend:

- ``market.candles_ingest_batch``: candles per second through ``MarketStore.upsert_candles``
  into an empty candle table, all six files, 1,000 candles per call (a backfill or an
  archive import); latency = one batch of up to 1,000.
- ``market.candles_ingest_replay``: the same for the three 5m files in calls of three
  candles, one per asset, as the offline replay publishes each 5-minute step; latency =
  one step.
- ``market.features_pure``: ``compute_channel`` alone (no store) over BTC 1h, for each of
  :data:`CHANNELS`; one operation is one candle folded into one channel (operations =
  candles x channels x rounds); latency = one channel over the whole series.
- ``market.features_backfill``: ``FeatureChannels.subscribe`` of the same channels on BTC
  1h once its candles are stored: read the candles back (pages of 5,000), fold them, store
  every value and the checkpoint. Operations and latency as in ``features_pure``, so the
  gap between the two is what the store adds.
- ``market.features_incremental``: the live/replay path. The channels are subscribed on
  the first 20 % of ETH 5m, then every remaining candle goes through
  ``FeatureChannels.on_candles`` on its own: list the channels, and for each one resume
  from its checkpoint, fold, save the values and the new checkpoint in one transaction.
  One operation is one candle (folded into every channel); latency = one call.

Each figure starts from empty candle, channel and value tables (other benchmarks share the
store), and reading the CSV files is never timed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from adapters.bundled_candles import BUNDLED_ASSETS, bundled_path, read_candles
from adapters.database import Database, open_database
from adapters.feature_channels import FeatureChannels
from adapters.feature_store import FeatureStore
from adapters.market_store import MarketStore
from adapters.migrations import migrate
from domain.market.channels import ChannelSpec, compute_channel
from domain.market.model import Candle

# (name, operations, seconds, latencies in seconds): __main__ turns these into figures.
Measurement = tuple[str, int, float, list[float]]
SOURCE = "bench"
INTERVALS = ("1h", "5m")
INGEST_BATCH = 1000
CHANNELS = ("ema:20", "rsi:14", "macd:12,26,9", "atr:14", "realized_vol:20", "volume_z:20")
FEATURE_ASSET, FEATURE_INTERVAL = "BTC", "1h"
LIVE_ASSET, LIVE_INTERVAL = "ETH", "5m"
LIVE_WARM_SHARE = 0.2
MARKET_TABLES = ("market_features", "market_channels", "market_candles")


@dataclass(frozen=True)
class Sizes:
    """How much of the archive each market figure uses."""

    candles_per_file: int | None  # None: whole files
    rounds: int  # passes over the channels for features_pure and features_backfill


FULL = Sizes(candles_per_file=None, rounds=3)
QUICK = Sizes(candles_per_file=60, rounds=1)
Archive = dict[tuple[str, str], list[Candle]]


def run(database_url: str, schema: str, *, quick: bool) -> Iterator[Measurement]:
    """Run every market figure against one migrated database."""
    sizes = QUICK if quick else FULL
    archive = load_archive(sizes)
    database = open_database(database_url, schema=schema)
    try:
        migrate(database)
        yield ingest_batch(database, archive)
        yield ingest_replay(database, archive)
        yield features_pure(archive, sizes)
        yield features_backfill(database, archive, sizes)
        yield features_incremental(database, archive)
    finally:
        database.close()


def load_archive(sizes: Sizes) -> Archive:
    """Every bundled file, parsed (cut to ``candles_per_file`` in quick mode)."""
    return {
        (asset, interval): read_candles(bundled_path(asset, interval), asset, interval)[
            : sizes.candles_per_file
        ]
        for asset in BUNDLED_ASSETS
        for interval in INTERVALS
    }


def ingest_batch(database: Database, archive: Archive) -> Measurement:
    """``upsert_candles`` in batches of 1,000, file by file, into an empty table."""
    batches = [
        candles[start : start + INGEST_BATCH]
        for candles in archive.values()
        for start in range(0, len(candles), INGEST_BATCH)
    ]
    return _ingest("market.candles_ingest_batch", database, batches)


def ingest_replay(database: Database, archive: Archive) -> Measurement:
    """``upsert_candles`` of one 5m candle per asset at a time, as the replay publishes."""
    series = [archive[(asset, "5m")] for asset in BUNDLED_ASSETS]
    steps = [list(step) for step in zip(*series, strict=True)]
    if any(len({c.open_time for c in step}) != 1 for step in steps):
        raise RuntimeError("the bundled 5m files are not aligned on open time")
    return _ingest("market.candles_ingest_replay", database, steps)


def _ingest(name: str, database: Database, batches: Sequence[list[Candle]]) -> Measurement:
    empty_market(database)
    market = MarketStore(database)
    latencies = [_timed(partial(market.upsert_candles, SOURCE, batch)) for batch in batches]
    candles = sum(len(batch) for batch in batches)
    stored = _count(database, "market_candles")
    if stored != candles:
        raise RuntimeError(f"{name}: {stored} rows stored for {candles} candles")
    return (name, candles, sum(latencies), latencies)


def features_pure(archive: Archive, sizes: Sizes) -> Measurement:
    """``compute_channel`` of each channel over the whole BTC 1h series, no store."""
    candles = archive[(FEATURE_ASSET, FEATURE_INTERVAL)]
    specs = [ChannelSpec.parse(key) for key in CHANNELS]
    latencies = []
    for _ in range(sizes.rounds):
        for spec in specs:
            started = time.perf_counter()
            points = compute_channel(spec, candles)
            latencies.append(time.perf_counter() - started)
            if not points or points[-1].open_time != candles[-1].open_time:
                raise RuntimeError(f"{spec.key}: no value for the last candle")
    operations = sizes.rounds * len(specs) * len(candles)
    return ("market.features_pure", operations, sum(latencies), latencies)


def features_backfill(database: Database, archive: Archive, sizes: Sizes) -> Measurement:
    """``FeatureChannels.subscribe`` (backfill from the store) of each channel on BTC 1h."""
    candles = archive[(FEATURE_ASSET, FEATURE_INTERVAL)]
    now = candles[-1].close_time
    empty_market(database)
    MarketStore(database).upsert_candles(SOURCE, candles)
    latencies = []
    for _ in range(sizes.rounds):
        empty_market(database, keep_candles=True)
        channels = _feature_channels(database)
        for key in CHANNELS:
            started = time.perf_counter()
            channel = channels.subscribe(FEATURE_ASSET, FEATURE_INTERVAL, key, now)
            latencies.append(time.perf_counter() - started)
            _check_caught_up(key, channel.checkpoint.last_open_time, candles[-1])
    operations = sizes.rounds * len(CHANNELS) * len(candles)
    return ("market.features_backfill", operations, sum(latencies), latencies)


def features_incremental(database: Database, archive: Archive) -> Measurement:
    """``on_candles`` one candle at a time after a subscription on the first 20 % of ETH 5m."""
    candles = archive[(LIVE_ASSET, LIVE_INTERVAL)]
    warm = max(1, int(len(candles) * LIVE_WARM_SHARE))
    history, live = candles[:warm], candles[warm:]
    empty_market(database)
    MarketStore(database).upsert_candles(SOURCE, history)
    channels = _feature_channels(database)
    for key in CHANNELS:
        channels.subscribe(LIVE_ASSET, LIVE_INTERVAL, key, history[-1].close_time)
    latencies = [_timed(partial(channels.on_candles, [candle])) for candle in live]
    for key in CHANNELS:
        channel = channels.channel(LIVE_ASSET, LIVE_INTERVAL, key)
        _check_caught_up(key, channel.checkpoint.last_open_time, live[-1])
    return ("market.features_incremental", len(live), sum(latencies), latencies)


def empty_market(database: Database, *, keep_candles: bool = False) -> None:
    """Empty the candle, channel and value tables (TRUNCATE on PostgreSQL: no dead rows)."""
    tables = [t for t in MARKET_TABLES if not (keep_candles and t == "market_candles")]
    with database.transaction() as session:
        for table in tables:
            verb = "TRUNCATE" if session.dialect == "postgres" else "DELETE FROM"
            session.execute(f"{verb} {table}")


def _feature_channels(database: Database) -> FeatureChannels:
    return FeatureChannels(FeatureStore(database), MarketStore(database))


def _timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def _count(database: Database, table: str) -> int:
    with database.transaction(write=False) as session:
        row = session.fetch_one(f"SELECT COUNT(*) AS n FROM {table}")
    return int(row["n"]) if row else 0


def _check_caught_up(key: str, last_open_time: datetime | None, last: Candle) -> None:
    if last_open_time != last.open_time:
        raise RuntimeError(f"{key}: checkpoint at {last_open_time}, last candle {last.open_time}")
