"""The JWT keyring: keys added by ``clash admin keys rotate`` (``adapters/jwt_keyring.py``).

A rotated key's material is sealed (AES-GCM under a key derived from the refresh pepper),
so a copy of the database alone does not let anyone sign access tokens. A row without
material schedules the end of a configured key (``CLASH_JWT_KEYS``).
"""

from __future__ import annotations

from adapters.schema.migration import Migration

KEYS = Migration(
    12,
    "keys: the JWT keyring",
    (
        """CREATE TABLE IF NOT EXISTS jwt_keyring (
            kid TEXT PRIMARY KEY,
            alg TEXT NOT NULL,
            sealed TEXT,
            signs_from BIGINT,
            verifies_until BIGINT,
            created_at BIGINT NOT NULL
        )""",
    ),
)
