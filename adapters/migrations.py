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

from adapters.clocks import SystemClock
from adapters.database import Database, Session, to_micros
from adapters.schema import MIGRATIONS, Migration

MIGRATIONS_LOCK_KEY = 727_001


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
