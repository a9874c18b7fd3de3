"""Prop tables written by the mark worker: its cursor and the equity snapshots read model."""

from __future__ import annotations

from adapters.schema.migration import Migration

PROP = Migration(
    5,
    "prop: mark-worker cursor and equity snapshots",
    (
        """CREATE TABLE IF NOT EXISTS prop_mark_cursor (
            name TEXT PRIMARY KEY,
            market_time BIGINT NOT NULL
        )""",
        """CREATE TABLE IF NOT EXISTS prop_equity_snapshots (
            account_id TEXT NOT NULL,
            at BIGINT NOT NULL,
            collateral_micros BIGINT NOT NULL,
            account_value TEXT NOT NULL,
            unrealized_pnl TEXT NOT NULL,
            margin_used TEXT NOT NULL,
            PRIMARY KEY (account_id, at)
        )""",
    ),
)
