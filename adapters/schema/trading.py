"""Trading tables: decision rows (the per-tick audit), per-asset tick cursors, dry runs."""

from __future__ import annotations

from adapters.schema.migration import Migration

TRADING = Migration(
    6,
    "trading: decision rows, tick cursors and dry-run results",
    (
        """CREATE TABLE IF NOT EXISTS trading_decisions (
            decision_id TEXT PRIMARY KEY,
            account_id TEXT NOT NULL,
            clone_id TEXT NOT NULL,
            version_id TEXT NOT NULL,
            tick_at BIGINT NOT NULL,
            status TEXT NOT NULL,
            phase TEXT NOT NULL,
            assets TEXT NOT NULL,
            skipped_until BIGINT,
            skipped_count BIGINT NOT NULL DEFAULT 0,
            context_hash TEXT,
            prompt_version TEXT,
            provider TEXT,
            model TEXT,
            tokens_in BIGINT NOT NULL DEFAULT 0,
            tokens_out BIGINT NOT NULL DEFAULT 0,
            latency_ms BIGINT NOT NULL DEFAULT 0,
            actions TEXT,
            orders TEXT,
            outcomes TEXT,
            errors TEXT,
            artifacts TEXT,
            recorded_at BIGINT NOT NULL,
            UNIQUE (account_id, tick_at)
        )""",
        "CREATE INDEX IF NOT EXISTS trading_decisions_by_account"
        " ON trading_decisions (account_id, tick_at)",
        "CREATE INDEX IF NOT EXISTS trading_decisions_by_phase"
        " ON trading_decisions (phase, account_id)",
        """CREATE TABLE IF NOT EXISTS trading_tick_cursors (
            account_id TEXT NOT NULL,
            asset TEXT NOT NULL,
            last_tick BIGINT NOT NULL,
            PRIMARY KEY (account_id, asset)
        )""",
        """CREATE TABLE IF NOT EXISTS trading_dry_runs (
            run_id TEXT PRIMARY KEY,
            clone_id TEXT NOT NULL,
            owner TEXT NOT NULL,
            source TEXT NOT NULL,
            market_time BIGINT NOT NULL,
            recorded_at BIGINT NOT NULL,
            provider TEXT NOT NULL,
            result TEXT NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS trading_dry_runs_by_clone"
        " ON trading_dry_runs (clone_id, recorded_at)",
    ),
)
