"""Projection tracking: each read model's position in each application's log."""

from __future__ import annotations

from adapters.schema.migration import Migration

PROJECTIONS = Migration(
    4,
    "projections: tracking position, version and state per projection and application",
    (
        """CREATE TABLE IF NOT EXISTS projection_tracking (
            projection TEXT NOT NULL,
            application TEXT NOT NULL,
            version BIGINT NOT NULL,
            position BIGINT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('running', 'failed')),
            error TEXT,
            updated_at BIGINT NOT NULL,
            PRIMARY KEY (projection, application)
        )""",
    ),
)
