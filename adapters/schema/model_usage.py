"""Model usage per UTC day, user, clone, provider and model (``adapters/model_usage.py``).

A plain read model of the trading module, written in the same transaction as what caused
the calls (a decision row, a dry-run row; a backtest attempt writes its own), so a retried
tick never counts twice. Cost is integer micro-USD; ``tier`` is the clone's tier at its
latest counted call of the day (what the budget metrics judge it by).
"""

from __future__ import annotations

from adapters.schema.migration import Migration

MODEL_USAGE = Migration(
    11,
    "trading: model usage and cost per day, user, clone, provider and model",
    (
        """CREATE TABLE IF NOT EXISTS model_usage_daily (
            day TEXT NOT NULL,
            user_id TEXT NOT NULL,
            clone_id TEXT NOT NULL,
            provider TEXT NOT NULL,
            model TEXT NOT NULL,
            tier TEXT,
            calls BIGINT NOT NULL DEFAULT 0,
            errors BIGINT NOT NULL DEFAULT 0,
            tokens_in BIGINT NOT NULL DEFAULT 0,
            tokens_out BIGINT NOT NULL DEFAULT 0,
            cost_micros BIGINT NOT NULL DEFAULT 0,
            unpriced_calls BIGINT NOT NULL DEFAULT 0,
            PRIMARY KEY (day, user_id, clone_id, provider, model),
            CHECK (errors >= 0 AND errors <= calls AND tokens_in >= 0 AND tokens_out >= 0),
            CHECK (cost_micros >= 0 AND unpriced_calls >= 0 AND unpriced_calls <= calls)
        )""",
        "CREATE INDEX IF NOT EXISTS model_usage_daily_by_clone"
        " ON model_usage_daily (clone_id, day)",
    ),
)
