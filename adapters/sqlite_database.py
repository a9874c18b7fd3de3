"""The embedded engine: one SQLite file in WAL mode, writers serialised up front.

Writers take the lock when they begin (``BEGIN IMMEDIATE``), so a compare-and-set sequence
never fails half-way with ``database is locked``; they wait up to the busy timeout instead.
Event-sourced applications share one library datastore on the same file.
"""

from __future__ import annotations

import queue
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from eventsourcing.sqlite import SQLiteDatastore

from adapters.database import (
    Database,
    DatabaseError,
    DatabaseUnavailable,
    Dialect,
    Session,
    UniqueViolation,
)


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
