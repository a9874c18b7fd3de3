"""The one database that holds everything: event tables, read models and plain tables.

``CLASH_DATABASE_URL`` picks the engine. The default is one SQLite file (WAL mode) under
``./var/``; ``postgresql://user@host:port/db`` selects PostgreSQL through psycopg 3, inside
one schema. SQL for plain tables is written once with ``%s`` placeholders; the SQLite
session rewrites them to ``?``. The engines live in ``adapters.sqlite_database`` and
``adapters.postgres_database``; the event-store factories in ``adapters.event_stores``.

Conventions every table follows so that one SQL text serves both dialects:

- instants are ``BIGINT`` microseconds since the Unix epoch (UTC), see :func:`to_micros`;
- identifiers are ``TEXT`` (UUIDs in their canonical 36-character form);
- flags are status ``TEXT`` columns, never booleans;
- JSON documents are ``TEXT``.

Connections are a budget on PostgreSQL: the process opens one pool (``CLASH_DB_POOL_SIZE``
plus ``CLASH_DB_POOL_MAX_OVERFLOW``) that event stores, plain tables and workers share.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

Dialect = Literal["sqlite", "postgres"]
Params = Sequence[Any]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class DatabaseError(Exception):
    """Raised when the database refuses a statement; subclasses name the rule."""


class UniqueViolation(DatabaseError):
    """Raised when an insert or update breaks a unique or primary-key constraint."""


class DatabaseUnavailable(DatabaseError):
    """Raised when no connection to the database can be made."""


def to_micros(instant: datetime) -> int:
    """Convert an aware instant to integer microseconds since the epoch."""
    delta = instant - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(micros: int) -> datetime:
    """Convert epoch microseconds back to an aware UTC instant."""
    return EPOCH + timedelta(microseconds=micros)


class Session:
    """A cursor inside one transaction, with dialect differences hidden."""

    def __init__(
        self,
        dialect: Dialect,
        execute: Callable[[str, Params], Any],
        execute_many: Callable[[str, Sequence[Params]], Any],
    ) -> None:
        self.dialect = dialect
        self._execute = execute
        self._execute_many = execute_many

    def execute(self, statement: str, params: Params = ()) -> int:
        """Run a statement and return the number of rows it changed."""
        cursor = self._run(statement, params)
        return int(cursor.rowcount)

    def execute_many(self, statement: str, rows: Sequence[Params]) -> None:
        """Run one statement for each parameter row (batched by the driver)."""
        if rows:
            self._execute_many(self._dialect_sql(statement), rows)

    def fetch_one(self, statement: str, params: Params = ()) -> dict[str, Any] | None:
        """Run a query and return its first row as a dict, or ``None``."""
        row = self._run(statement, params).fetchone()
        return None if row is None else dict(row)

    def fetch_all(self, statement: str, params: Params = ()) -> list[dict[str, Any]]:
        """Run a query and return every row as a dict."""
        return [dict(row) for row in self._run(statement, params).fetchall()]

    def table_exists(self, name: str) -> bool:
        """Return whether a table of this name exists (in the schema on the search path)."""
        if self.dialect == "sqlite":
            query = "SELECT 1 AS found FROM sqlite_master WHERE type = 'table' AND name = %s"
        else:
            query = "SELECT 1 AS found WHERE to_regclass(%s) IS NOT NULL"
        return self.fetch_one(query, (name,)) is not None

    def _run(self, statement: str, params: Params) -> Any:
        return self._execute(self._dialect_sql(statement), params)

    def _dialect_sql(self, statement: str) -> str:
        return statement.replace("%s", "?") if self.dialect == "sqlite" else statement


class Database(ABC):
    """A process's handle on the database: transactions and the shared pools."""

    dialect: Dialect

    @abstractmethod
    def transaction(self, *, write: bool = True) -> AbstractContextManager[Session]:
        """Open a transaction; it commits when the block ends without an error."""

    def ping(self) -> None:
        """Raise :class:`DatabaseUnavailable` unless a trivial query succeeds."""
        try:
            with self.transaction(write=False) as session:
                session.fetch_one("SELECT 1 AS one")
        except DatabaseError:
            raise
        except Exception as exc:
            raise DatabaseUnavailable(str(exc)) from exc

    @abstractmethod
    def close(self) -> None:
        """Close every pooled connection."""


def open_database(
    url: str,
    *,
    schema: str = "public",
    pool_size: int = 4,
    max_overflow: int = 6,
    pool_timeout: float = 10.0,
    connect_timeout: int = 5,
    sqlite_lock_timeout: int = 15,
    application_name: str = "clash",
) -> Database:
    """Open the database named by ``url`` (``sqlite:///path`` or ``postgresql://...``)."""
    # The engines import this module's base types, so they are imported here, not at the top.
    from adapters.postgres_database import PostgresDatabase, PostgresTarget
    from adapters.sqlite_database import SqliteDatabase

    if url.startswith(("postgresql://", "postgres://")):
        target = PostgresTarget.from_url(url, schema)
        return PostgresDatabase(
            target,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_timeout=pool_timeout,
            connect_timeout=connect_timeout,
            application_name=application_name,
        )
    return SqliteDatabase(url.removeprefix("sqlite:///"), lock_timeout=sqlite_lock_timeout)


def erase_store(url: str, *, schema: str = "public") -> str:
    """Delete everything the store holds (the SQLite file, or the PostgreSQL schema).

    Returns what was erased. Callers must have closed their own connections first.
    """
    if url.startswith(("postgresql://", "postgres://")):
        from adapters.postgres_database import drop_schema

        return drop_schema(url, schema)
    path = Path(url.removeprefix("sqlite:///"))
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"file {path}"
