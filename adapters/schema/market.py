"""Market-memory tables.

Prices, sizes, rates and TVL are decimal TEXT (exact on both engines; SQLite's NUMERIC
affinity would turn them into floats). Instants are epoch microseconds. Rows are keyed by
source, instrument, interval and time, so every ingest is an idempotent upsert.
"""

from __future__ import annotations

from adapters.schema.migration import Migration

MARKET = Migration(
    3,
    "market memory: candles, funding, contexts, predictions, TVL, registry, channels, health",
    (
        """CREATE TABLE IF NOT EXISTS market_candles (
            source TEXT NOT NULL,
            asset TEXT NOT NULL,
            interval TEXT NOT NULL,
            open_time BIGINT NOT NULL,
            close_time BIGINT NOT NULL,
            open TEXT NOT NULL,
            high TEXT NOT NULL,
            low TEXT NOT NULL,
            close TEXT NOT NULL,
            volume TEXT NOT NULL,
            trades BIGINT,
            PRIMARY KEY (source, asset, interval, open_time)
        )""",
        """CREATE INDEX IF NOT EXISTS market_candles_read_idx
            ON market_candles (asset, interval, close_time)""",
        """CREATE TABLE IF NOT EXISTS market_funding (
            source TEXT NOT NULL,
            asset TEXT NOT NULL,
            time BIGINT NOT NULL,
            rate TEXT NOT NULL,
            premium TEXT,
            PRIMARY KEY (source, asset, time)
        )""",
        "CREATE INDEX IF NOT EXISTS market_funding_read_idx ON market_funding (asset, time)",
        """CREATE TABLE IF NOT EXISTS market_contexts (
            source TEXT NOT NULL,
            asset TEXT NOT NULL,
            time BIGINT NOT NULL,
            mark TEXT NOT NULL,
            oracle TEXT NOT NULL,
            funding TEXT NOT NULL,
            open_interest TEXT,
            mid TEXT,
            premium TEXT,
            PRIMARY KEY (source, asset, time)
        )""",
        "CREATE INDEX IF NOT EXISTS market_contexts_read_idx ON market_contexts (asset, time)",
        """CREATE TABLE IF NOT EXISTS market_prediction_markets (
            market_id TEXT PRIMARY KEY,
            condition_id TEXT NOT NULL,
            question TEXT NOT NULL,
            slug TEXT NOT NULL,
            outcomes TEXT NOT NULL,
            token_ids TEXT NOT NULL,
            outcome_prices TEXT NOT NULL,
            status TEXT NOT NULL,
            end_date BIGINT,
            volume TEXT,
            liquidity TEXT,
            updated_at BIGINT NOT NULL
        )""",
        """CREATE TABLE IF NOT EXISTS market_prediction_prices (
            token_id TEXT NOT NULL,
            time BIGINT NOT NULL,
            price TEXT NOT NULL,
            PRIMARY KEY (token_id, time)
        )""",
        """CREATE TABLE IF NOT EXISTS market_tvl (
            subject TEXT NOT NULL,
            time BIGINT NOT NULL,
            tvl_usd TEXT NOT NULL,
            PRIMARY KEY (subject, time)
        )""",
        """CREATE TABLE IF NOT EXISTS market_assets (
            name TEXT NOT NULL,
            version BIGINT NOT NULL,
            valid_from BIGINT NOT NULL,
            source TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            spec TEXT NOT NULL,
            recorded_at BIGINT NOT NULL,
            PRIMARY KEY (name, version)
        )""",
        "CREATE INDEX IF NOT EXISTS market_assets_valid_idx ON market_assets (name, valid_from)",
        """CREATE TABLE IF NOT EXISTS market_channels (
            channel_id TEXT PRIMARY KEY,
            asset TEXT NOT NULL,
            interval TEXT NOT NULL,
            channel_key TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            last_open_time BIGINT,
            state TEXT NOT NULL
        )""",
        """CREATE TABLE IF NOT EXISTS market_features (
            channel_id TEXT NOT NULL,
            open_time BIGINT NOT NULL,
            knowable_at BIGINT NOT NULL,
            value TEXT NOT NULL,
            components TEXT NOT NULL,
            PRIMARY KEY (channel_id, open_time)
        )""",
        """CREATE INDEX IF NOT EXISTS market_features_read_idx
            ON market_features (channel_id, knowable_at)""",
        """CREATE TABLE IF NOT EXISTS market_source_health (
            source TEXT NOT NULL,
            channel TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('healthy', 'degraded', 'down')),
            last_success_at BIGINT,
            last_error_at BIGINT,
            last_error TEXT,
            consecutive_failures BIGINT NOT NULL,
            last_data_at BIGINT,
            updated_at BIGINT NOT NULL,
            PRIMARY KEY (source, channel)
        )""",
        """CREATE TABLE IF NOT EXISTS market_source_health_changes (
            id TEXT PRIMARY KEY,
            source TEXT NOT NULL,
            channel TEXT NOT NULL,
            changed_at BIGINT NOT NULL,
            from_state TEXT,
            to_state TEXT NOT NULL,
            reason TEXT NOT NULL
        )""",
        """CREATE INDEX IF NOT EXISTS market_source_health_changes_idx
            ON market_source_health_changes (source, channel, changed_at)""",
        """CREATE TABLE IF NOT EXISTS market_replay (
            feed TEXT PRIMARY KEY,
            position BIGINT NOT NULL,
            data_start BIGINT NOT NULL,
            data_end BIGINT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('playing', 'ended')),
            updated_at BIGINT NOT NULL
        )""",
        """CREATE TABLE IF NOT EXISTS market_backfills (
            job_key TEXT PRIMARY KEY,
            source TEXT NOT NULL,
            asset TEXT NOT NULL,
            interval TEXT NOT NULL,
            range_start BIGINT NOT NULL,
            range_end BIGINT NOT NULL,
            cursor BIGINT NOT NULL,
            rows_written BIGINT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('running', 'done')),
            updated_at BIGINT NOT NULL
        )""",
    ),
)
