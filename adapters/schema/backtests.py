"""Backtesting tables: jobs, usage days (the daily quota) and run artifacts.

Jobs are the module's durable queue state (service-clock instants); a usage-day row counts
the runs accepted per (user, clone, UTC day), incremented in the same transaction that
inserts the job; artifacts are the outputs of a succeeded run, written in the transaction
that marks it succeeded, kept inline (see ``adapters.backtest_store``), durable or
expiring at ``expires_at``.
"""

from __future__ import annotations

from adapters.schema.migration import Migration

BACKTESTS = Migration(
    7,
    "backtests: jobs, usage days and artifacts",
    (
        """CREATE TABLE IF NOT EXISTS backtest_jobs (
            job_id TEXT PRIMARY KEY,
            user_id TEXT NOT NULL,
            clone_id TEXT NOT NULL,
            version_id TEXT NOT NULL,
            version_number BIGINT NOT NULL,
            tier TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN
                ('queued', 'running', 'succeeded', 'failed', 'cancelled', 'expired')),
            window_shape TEXT NOT NULL,
            window_start BIGINT NOT NULL,
            window_end BIGINT NOT NULL,
            estimate TEXT NOT NULL,
            attempts BIGINT NOT NULL DEFAULT 0,
            created_at BIGINT NOT NULL,
            started_at BIGINT,
            finished_at BIGINT,
            cancel_requested_at BIGINT,
            error TEXT,
            summary TEXT,
            metrics TEXT,
            input_hash TEXT,
            result_hash TEXT
        )""",
        "CREATE INDEX IF NOT EXISTS backtest_jobs_by_user"
        " ON backtest_jobs (user_id, created_at, job_id)",
        "CREATE INDEX IF NOT EXISTS backtest_jobs_by_clone"
        " ON backtest_jobs (clone_id, created_at, job_id)",
        "CREATE INDEX IF NOT EXISTS backtest_jobs_by_status ON backtest_jobs (status, created_at)",
        """CREATE TABLE IF NOT EXISTS backtest_usage_days (
            user_id TEXT NOT NULL,
            clone_id TEXT NOT NULL,
            day TEXT NOT NULL,
            runs BIGINT NOT NULL CHECK (runs >= 0),
            PRIMARY KEY (user_id, clone_id, day)
        )""",
        """CREATE TABLE IF NOT EXISTS backtest_artifacts (
            job_id TEXT NOT NULL REFERENCES backtest_jobs (job_id),
            kind TEXT NOT NULL,
            media_type TEXT NOT NULL,
            content TEXT NOT NULL,
            size BIGINT NOT NULL,
            sha256 TEXT NOT NULL,
            retention TEXT NOT NULL CHECK (retention IN ('durable', 'expiring')),
            expires_at BIGINT,
            created_at BIGINT NOT NULL,
            PRIMARY KEY (job_id, kind)
        )""",
        "CREATE INDEX IF NOT EXISTS backtest_artifacts_by_expiry"
        " ON backtest_artifacts (retention, expires_at)",
    ),
)
