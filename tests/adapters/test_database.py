"""The database adapter and migrations behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapters.database import Database, UniqueViolation, from_micros, to_micros
from adapters.migrations import MIGRATIONS, applied_versions, migrate, pending


def test_migrate_applies_every_migration_once(database: Database) -> None:
    # Arrange: the fixture already migrated once.
    # Act
    applied_again = migrate(database)
    # Assert
    assert applied_again == []
    assert applied_versions(database) == {m.version for m in MIGRATIONS}
    assert pending(database) == []


def test_transaction_rolls_back_on_error(database: Database) -> None:
    with pytest.raises(RuntimeError), database.transaction() as session:
        session.execute("INSERT INTO users (id, created_at) VALUES (%s, %s)", ("u1", 1))
        raise RuntimeError("boom")
    with database.transaction(write=False) as session:
        assert session.fetch_one("SELECT id FROM users WHERE id = %s", ("u1",)) is None


def test_duplicate_key_raises_unique_violation(database: Database) -> None:
    with database.transaction() as session:
        session.execute("INSERT INTO users (id, created_at) VALUES (%s, %s)", ("u1", 1))
    with pytest.raises(UniqueViolation), database.transaction() as session:
        session.execute("INSERT INTO users (id, created_at) VALUES (%s, %s)", ("u1", 2))


def test_micros_round_trip_is_exact() -> None:
    instant = datetime(2026, 12, 1, 23, 59, 59, 999_999, tzinfo=UTC)
    assert from_micros(to_micros(instant)) == instant
