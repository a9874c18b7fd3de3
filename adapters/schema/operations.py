"""Operations tables: the background reconciliation's runs (``adapters/reconciliation.py``)."""

from __future__ import annotations

from adapters.schema.migration import Migration

OPERATIONS = Migration(
    10,
    "operations: reconciliation runs",
    (
        """CREATE TABLE IF NOT EXISTS reconciliation_runs (
            id TEXT PRIMARY KEY,
            started_at BIGINT NOT NULL,
            finished_at BIGINT NOT NULL,
            ok BIGINT NOT NULL,
            checked TEXT NOT NULL,
            breaches TEXT NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS reconciliation_runs_started"
        " ON reconciliation_runs (started_at)",
    ),
)
