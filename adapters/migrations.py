"""Ordered, idempotent migrations for plain tables (auth, workers, later market and jobs).

Event tables belong to the eventsourcing recorders, and read models rebuild from the log
when their version changes; everything else changes here, by appending a migration. A
migration is applied once, in its own transaction, and recorded in ``schema_migrations``;
every statement is also written to be harmless if run twice. On PostgreSQL an advisory lock
keeps two processes (two ``clash serve`` instances starting at once) from racing.

SQL is written once for both dialects (see ``adapters.database`` for the conventions).
Modules register their migrations in :data:`MIGRATIONS`; versions never change once merged.
"""

from __future__ import annotations

from dataclasses import dataclass

from adapters.clocks import SystemClock
from adapters.database import Database, Session, to_micros

MIGRATIONS_LOCK_KEY = 727_001


@dataclass(frozen=True)
class Migration:
    """One schema change: a version, a name and its statements."""

    version: int
    name: str
    statements: tuple[str, ...]


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

MIGRATIONS: tuple[Migration, ...] = (IDENTITY, WORKERS)

_CREATE_LEDGER = """CREATE TABLE IF NOT EXISTS schema_migrations (
    version BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at BIGINT NOT NULL
)"""


def applied_versions(database: Database) -> set[int]:
    """Return the versions already applied (empty if none ever were); never writes."""
    with database.transaction(write=False) as session:
        if not session.table_exists("schema_migrations"):
            return set()
        rows = session.fetch_all("SELECT version FROM schema_migrations")
    return {int(row["version"]) for row in rows}


def pending(database: Database, migrations: tuple[Migration, ...] = MIGRATIONS) -> list[Migration]:
    """Return the migrations not yet applied, in order."""
    done = applied_versions(database)
    return [m for m in sorted(migrations, key=lambda m: m.version) if m.version not in done]


def migrate(database: Database, migrations: tuple[Migration, ...] = MIGRATIONS) -> list[Migration]:
    """Apply every pending migration in order; return the ones this call applied."""
    with database.transaction() as session:
        session.execute(_CREATE_LEDGER)
    applied = []
    for migration in pending(database, migrations):
        with database.transaction() as session:
            if _apply(session, migration):
                applied.append(migration)
    return applied


def _apply(session: Session, migration: Migration) -> bool:
    if session.dialect == "postgres":
        session.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATIONS_LOCK_KEY,))
    done = session.fetch_one(
        "SELECT version FROM schema_migrations WHERE version = %s", (migration.version,)
    )
    if done is not None:
        return False
    for statement in migration.statements:
        session.execute(statement)
    session.execute(
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (%s, %s, %s)",
        (migration.version, migration.name, to_micros(SystemClock().now())),
    )
    return True
