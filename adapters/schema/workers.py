"""Worker-runtime tables: leases, heartbeats, attempts, dead letters."""

from __future__ import annotations

from adapters.schema.migration import Migration

WORKERS = Migration(
    2,
    "workers: leases, heartbeats, attempts and dead letters",
    (
        """CREATE TABLE IF NOT EXISTS worker_leases (
            lease_key TEXT PRIMARY KEY,
            holder TEXT NOT NULL,
            fencing_token BIGINT NOT NULL,
            acquired_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS worker_leases_expiry_idx ON worker_leases (expires_at)",
        """CREATE TABLE IF NOT EXISTS worker_heartbeats (
            worker TEXT NOT NULL,
            holder TEXT NOT NULL,
            beat_at BIGINT NOT NULL,
            state TEXT NOT NULL,
            detail TEXT NOT NULL,
            PRIMARY KEY (worker, holder)
        )""",
        """CREATE TABLE IF NOT EXISTS worker_attempts (
            worker TEXT NOT NULL,
            item_key TEXT NOT NULL,
            attempts BIGINT NOT NULL,
            next_attempt_at BIGINT NOT NULL,
            last_error TEXT NOT NULL,
            first_failed_at BIGINT NOT NULL,
            PRIMARY KEY (worker, item_key)
        )""",
        """CREATE TABLE IF NOT EXISTS dead_letters (
            id TEXT PRIMARY KEY,
            worker TEXT NOT NULL,
            item_key TEXT NOT NULL,
            payload TEXT NOT NULL,
            attempts BIGINT NOT NULL,
            last_error TEXT NOT NULL,
            first_failed_at BIGINT NOT NULL,
            dead_at BIGINT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('open', 'retried', 'discarded'))
        )""",
        """CREATE UNIQUE INDEX IF NOT EXISTS dead_letters_open_item_idx
            ON dead_letters (worker, item_key) WHERE status = 'open'""",
        "CREATE INDEX IF NOT EXISTS dead_letters_status_idx ON dead_letters (status, dead_at)",
    ),
)
