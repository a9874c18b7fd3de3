"""The one database that holds everything: event tables, read models and plain tables.

``CLASH_DATABASE_URL`` picks the engine. The default is one SQLite file (WAL mode) under
``./var/``; ``postgresql://user@host:port/db`` selects PostgreSQL through psycopg 3, inside
one schema. SQL for plain tables is written once with ``%s`` placeholders; the SQLite
session rewrites them to ``?``. Everything else that differs between the dialects lives
in this module and in ``adapters.event_stores``.

Conventions every table follows so that one SQL text serves both dialects:

- instants are ``BIGINT`` microseconds since the Unix epoch (UTC), see :func:`to_micros`;
- identifiers are ``TEXT`` (UUIDs in their canonical 36-character form);
- flags are status ``TEXT`` columns, never booleans;
- JSON documents are ``TEXT``.

Connections are a budget on PostgreSQL: the process opens one pool (``CLASH_DB_POOL_SIZE``
plus ``CLASH_DB_POOL_MAX_OVERFLOW``) that event stores, plain tables and workers share.
"""

from __future__ import annotations

import queue
import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

import psycopg
from eventsourcing import persistence as es_persistence
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore
from psycopg import sql as pg_sql
from psycopg.rows import DictRow

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


@dataclass(frozen=True)
class PostgresTarget:
    """Where a PostgreSQL database lives, parsed from ``CLASH_DATABASE_URL``."""

    dbname: str
    host: str
    port: int
    user: str
    password: str
    schema: str

    @classmethod
    def from_url(cls, url: str, schema: str) -> PostgresTarget:
        """Parse ``postgresql://user:password@host:port/dbname``."""
        parts = urlsplit(url)
        return cls(
            dbname=unquote(parts.path.lstrip("/")) or "postgres",
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 5432,
            user=unquote(parts.username or "postgres"),
            password=unquote(parts.password or ""),
            schema=schema,
        )


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


class SqliteDatabase(Database):
    """One SQLite file in WAL mode; writers take the lock up front (``BEGIN IMMEDIATE``)."""

    dialect: Dialect = "sqlite"

    def __init__(self, path: str, *, lock_timeout: int, pool_size: int = 8) -> None:
        self.path = path
        self.lock_timeout = lock_timeout
        if path != ":memory:" and not path.startswith("file:"):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._idle: queue.LifoQueue[sqlite3.Connection] = queue.LifoQueue(maxsize=pool_size)
        self._lock = threading.Lock()
        self._event_datastore: SQLiteDatastore | None = None

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self.path, timeout=self.lock_timeout, isolation_level=None, check_same_thread=False
        )
        connection.row_factory = sqlite3.Row
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA foreign_keys=ON")
        return connection

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Session]:
        try:
            connection = self._idle.get_nowait()
        except queue.Empty:
            connection = self._connect()
        try:
            yield from self._in_transaction(connection, write)
        finally:
            try:
                self._idle.put_nowait(connection)
            except queue.Full:
                connection.close()

    def _in_transaction(self, connection: sqlite3.Connection, write: bool) -> Iterator[Session]:
        try:
            connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            session = Session("sqlite", connection.execute, connection.executemany)
            try:
                yield session
            except BaseException:
                connection.rollback()
                raise
            connection.commit()
        except sqlite3.IntegrityError as exc:
            raise UniqueViolation(str(exc)) from exc
        except sqlite3.OperationalError as exc:
            unavailable = any(m in str(exc) for m in ("locked", "unable to open", "disk I/O"))
            raise (DatabaseUnavailable if unavailable else DatabaseError)(str(exc)) from exc
        except sqlite3.Error as exc:
            raise DatabaseError(str(exc)) from exc

    def event_datastore(self) -> SQLiteDatastore:
        """Return the datastore every event-sourced application in this process shares."""
        with self._lock:
            if self._event_datastore is None:
                self._event_datastore = SQLiteDatastore(
                    db_name=self.path, lock_timeout=self.lock_timeout
                )
            return self._event_datastore

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                break
        if self._event_datastore is not None:
            self._event_datastore.close()


class _SchemaPostgresDatastore(PostgresDatastore):
    """The library's datastore, with our schema on the search path and a named session."""

    def __init__(self, *args: Any, application_name: str, **kwargs: Any) -> None:
        self.application_name = application_name  # read by after_connect_func, called below
        super().__init__(*args, **kwargs)

    def after_connect_func(self) -> Callable[[psycopg.Connection[Any]], None]:
        parent = super().after_connect_func()
        search_path = pg_sql.SQL("SET search_path TO {}").format(pg_sql.Identifier(self.schema))
        name = pg_sql.SQL("SET application_name TO {}").format(
            pg_sql.Literal(self.application_name)
        )

        def after_connect(conn: psycopg.Connection[Any]) -> None:
            parent(conn)
            conn.cursor().execute(search_path)
            conn.cursor().execute(name)

        return after_connect


class PostgresDatabase(Database):
    """A PostgreSQL schema reached through one shared psycopg pool."""

    dialect: Dialect = "postgres"

    def __init__(
        self,
        target: PostgresTarget,
        *,
        pool_size: int,
        max_overflow: int,
        pool_timeout: float,
        application_name: str = "clash",
    ) -> None:
        self.target = target
        self._ensure_schema(target, application_name)
        self.datastore = _SchemaPostgresDatastore(
            dbname=target.dbname,
            host=target.host,
            port=target.port,
            user=target.user,
            password=target.password,
            connect_timeout=pool_timeout,
            idle_in_transaction_session_timeout=30,
            pool_size=pool_size,
            max_overflow=max_overflow,
            schema=target.schema,
            application_name=application_name,
        )
        # Open (and fill to the minimum) once, here: the library otherwise calls the pool's
        # open(wait=True) on every checkout, whose wait is not safe for concurrent callers.
        try:
            self.datastore.pool.open(wait=True, timeout=pool_timeout)
        except psycopg.Error as exc:
            raise DatabaseUnavailable(str(exc)) from exc

    @staticmethod
    def _ensure_schema(target: PostgresTarget, application_name: str) -> None:
        try:
            with psycopg.connect(
                dbname=target.dbname,
                host=target.host,
                port=target.port,
                user=target.user,
                password=target.password,
                autocommit=True,
                connect_timeout=5,
                application_name=application_name,
            ) as conn:
                conn.execute(
                    pg_sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(
                        pg_sql.Identifier(target.schema)
                    )
                )
        except psycopg.Error as exc:
            raise DatabaseUnavailable(str(exc)) from exc

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Session]:
        try:
            with self.datastore.transaction(commit=write) as cursor:
                yield Session("postgres", _pg_executor(cursor), _pg_many(cursor))
        except es_persistence.IntegrityError as exc:
            raise UniqueViolation(str(exc)) from exc
        except (es_persistence.OperationalError, es_persistence.InterfaceError) as exc:
            raise DatabaseUnavailable(str(exc)) from exc
        except psycopg.errors.UniqueViolation as exc:
            raise UniqueViolation(str(exc)) from exc
        except psycopg.OperationalError as exc:
            raise DatabaseUnavailable(str(exc)) from exc
        except (es_persistence.PersistenceError, psycopg.Error) as exc:
            raise DatabaseError(str(exc)) from exc

    def event_datastore(self) -> PostgresDatastore:
        """Return the datastore (and pool) every application in this process shares."""
        return self.datastore

    def close(self) -> None:
        self.datastore.close()


def _pg_executor(cursor: psycopg.Cursor[DictRow]) -> Callable[[str, Params], Any]:
    def execute(statement: str, params: Params) -> Any:
        return cursor.execute(statement, params or None)

    return execute


def _pg_many(cursor: psycopg.Cursor[DictRow]) -> Callable[[str, Sequence[Params]], Any]:
    def execute_many(statement: str, rows: Sequence[Params]) -> Any:
        return cursor.executemany(statement, rows)

    return execute_many


def open_database(
    url: str,
    *,
    schema: str = "public",
    pool_size: int = 4,
    max_overflow: int = 6,
    pool_timeout: float = 10.0,
    sqlite_lock_timeout: int = 15,
    application_name: str = "clash",
) -> Database:
    """Open the database named by ``url`` (``sqlite:///path`` or ``postgresql://...``)."""
    if url.startswith(("postgresql://", "postgres://")):
        target = PostgresTarget.from_url(url, schema)
        return PostgresDatabase(
            target,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_timeout=pool_timeout,
            application_name=application_name,
        )
    return SqliteDatabase(url.removeprefix("sqlite:///"), lock_timeout=sqlite_lock_timeout)


def erase_store(url: str, *, schema: str = "public") -> str:
    """Delete everything the store holds (the SQLite file, or the PostgreSQL schema).

    Returns what was erased. Callers must have closed their own connections first.
    """
    if url.startswith(("postgresql://", "postgres://")):
        target = PostgresTarget.from_url(url, schema)
        with psycopg.connect(
            dbname=target.dbname,
            host=target.host,
            port=target.port,
            user=target.user,
            password=target.password,
            autocommit=True,
        ) as conn:
            conn.execute(
                pg_sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(pg_sql.Identifier(schema))
            )
        return f"schema {schema}"
    path = Path(url.removeprefix("sqlite:///"))
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"file {path}"
