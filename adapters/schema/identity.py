"""Identity tables: users, wallets, sign-in nonces, refresh families, service tokens."""

from __future__ import annotations

from adapters.schema.migration import Migration

IDENTITY = Migration(
    1,
    "identity: users, wallets, sign-in nonces, refresh families, service tokens",
    (
        """CREATE TABLE IF NOT EXISTS users (
            id TEXT PRIMARY KEY,
            created_at BIGINT NOT NULL
        )""",
        """CREATE TABLE IF NOT EXISTS wallets (
            address TEXT PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(id),
            chain_id BIGINT NOT NULL,
            kind TEXT NOT NULL,
            created_at BIGINT NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS wallets_user_idx ON wallets (user_id)",
        """CREATE TABLE IF NOT EXISTS siwe_nonces (
            nonce TEXT PRIMARY KEY,
            address TEXT NOT NULL,
            chain_id BIGINT NOT NULL,
            issued_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('issued', 'used')),
            used_at BIGINT
        )""",
        "CREATE INDEX IF NOT EXISTS siwe_nonces_expiry_idx ON siwe_nonces (expires_at)",
        """CREATE TABLE IF NOT EXISTS refresh_families (
            id TEXT PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(id),
            created_at BIGINT NOT NULL,
            absolute_expires_at BIGINT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
            revoked_at BIGINT,
            revoked_reason TEXT
        )""",
        "CREATE INDEX IF NOT EXISTS refresh_families_user_idx ON refresh_families (user_id)",
        """CREATE TABLE IF NOT EXISTS refresh_tokens (
            token_hash TEXT PRIMARY KEY,
            family_id TEXT NOT NULL REFERENCES refresh_families(id),
            parent_hash TEXT,
            status TEXT NOT NULL CHECK (status IN ('active', 'rotated', 'revoked')),
            issued_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL,
            rotated_at BIGINT,
            successor_hash TEXT,
            successor_salt TEXT
        )""",
        "CREATE INDEX IF NOT EXISTS refresh_tokens_family_idx ON refresh_tokens (family_id)",
        """CREATE TABLE IF NOT EXISTS service_tokens (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            token_hash TEXT NOT NULL UNIQUE,
            scopes TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
            revoked_at BIGINT
        )""",
    ),
)
