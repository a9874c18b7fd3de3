"""Economy plain tables: the idempotency keys of unsafe requests (``adapters.idempotency``).

A row per (user, key): the hash of the request (method, path and canonical body), its
state (``pending`` while the first request runs, ``done`` with the stored response after).
"""

from __future__ import annotations

from adapters.schema.migration import Migration

ECONOMY = Migration(
    8,
    "economy: idempotency keys",
    (
        """CREATE TABLE IF NOT EXISTS idempotency_keys (
            user_id TEXT NOT NULL,
            idempotency_key TEXT NOT NULL,
            request_hash TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('pending', 'done')),
            response_status BIGINT,
            response_body TEXT,
            created_at BIGINT NOT NULL,
            PRIMARY KEY (user_id, idempotency_key)
        )""",
    ),
)
