"""PostgreSQL: one schema, reached through one shared psycopg pool (the connection budget).

The eventsourcing library's datastore provides the pool; event-sourced applications and
plain tables share it, with our schema on the search path and a named session
(``CLASH_DB_APPLICATION_NAME``) so connections can be counted in ``pg_stat_activity``.

When the server goes away (a crash, a restart, a failover) the process must answer 503
quickly and carry on by itself once the server is back (``docs/runbooks.md``):

- every wait is bounded: a new connection gives up after ``CLASH_DB_CONNECT_TIMEOUT_SECONDS``
  (libpq's own default waits for minutes on a silent host), a caller waits at most
  ``CLASH_DB_POOL_TIMEOUT_SECONDS`` for a pooled connection;
- a connection failure becomes :class:`DatabaseUnavailable` where connections are handed
  out, for event stores and plain tables alike. The library's recorders retry their own
  ``OperationalError`` ten times (sleeping between tries, each try waiting a whole pool
  timeout), which would hold a request for ten pool timeouts while the server is down;
  our error is not theirs, so it passes through their retries at once;
- a connection is checked as it leaves the pool: one that died with the server (a restart
  leaves every idle connection dead, and nothing notices until it is used) is replaced,
  together with every other dead idle one, instead of failing the request;
- the pool keeps re-dialling lost connections with a backoff capped at
  :data:`RECONNECT_GIVE_UP_SECONDS` and then dials on demand, so a server that is back is
  noticed within seconds, however long it was away (psycopg_pool's own backoff doubles up
  to five minutes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import psycopg
from eventsourcing import persistence as es_persistence
from eventsourcing.postgres import PostgresDatastore
from psycopg import sql as pg_sql
from psycopg.conninfo import make_conninfo
from psycopg.rows import DictRow
from psycopg_pool import ConnectionPool

from adapters.database import (
    Database,
    DatabaseError,
    DatabaseUnavailable,
    Dialect,
    Params,
    Session,
    UniqueViolation,
)

# How long the pool re-dials a lost connection before it gives up and dials on demand
# instead: the longest pause between two attempts is about half of it.
RECONNECT_GIVE_UP_SECONDS = 5.0


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

    def conninfo(self) -> str:
        """A libpq connection string for this database."""
        return make_conninfo(
            dbname=self.dbname,
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password or None,
        )

    def with_dbname(self, dbname: str) -> str:
        """The URL of another database on the same server."""
        credentials = quote(self.user, safe="")
        if self.password:
            credentials += ":" + quote(self.password, safe="")
        return f"postgresql://{credentials}@{self.host}:{self.port}/{quote(dbname, safe='')}"


class _SchemaPostgresDatastore(PostgresDatastore):
    """The library's datastore, with our schema on the search path and a named session."""

    def __init__(
        self, *args: Any, application_name: str, connect_timeout_seconds: int, **kwargs: Any
    ) -> None:
        self.application_name = application_name  # read by after_connect_func, called below
        super().__init__(*args, **kwargs)
        if isinstance(self.pool.kwargs, dict):
            self.pool.kwargs["connect_timeout"] = connect_timeout_seconds
        self.pool.reconnect_timeout = RECONNECT_GIVE_UP_SECONDS

    @contextmanager
    def get_connection(self) -> Iterator[psycopg.Connection[DictRow]]:
        try:
            with self._live_connection() as conn:
                yield conn
        except (es_persistence.OperationalError, es_persistence.InterfaceError) as exc:
            raise DatabaseUnavailable(str(exc)) from exc

    @contextmanager
    def _live_connection(self) -> Iterator[psycopg.Connection[DictRow]]:
        with super().get_connection() as conn:
            alive = _alive(conn)
            if alive:
                yield conn
        if not alive:
            # Died with a server restart, and so did every other idle connection: replace
            # them all (a check is one round trip) and take a fresh one.
            self.pool.check()
            with super().get_connection() as conn:
                yield conn

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
        connect_timeout: int = 5,
        application_name: str = "clash",
    ) -> None:
        self.target = target
        self._ensure_schema(target, application_name, connect_timeout)
        self.datastore = _SchemaPostgresDatastore(
            dbname=target.dbname,
            host=target.host,
            port=target.port,
            user=target.user,
            password=target.password,
            connect_timeout=pool_timeout,  # the library's name for the wait for a connection
            connect_timeout_seconds=connect_timeout,
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
    def _ensure_schema(target: PostgresTarget, application_name: str, connect_timeout: int) -> None:
        try:
            with psycopg.connect(
                dbname=target.dbname,
                host=target.host,
                port=target.port,
                user=target.user,
                password=target.password,
                autocommit=True,
                connect_timeout=connect_timeout,
                application_name=application_name,
            ) as conn:
                # Checked first: an application role without CREATE on the database
                # (docs/deployment.md) may not even ask for an existing schema.
                found = conn.execute(
                    "SELECT 1 FROM pg_namespace WHERE nspname = %s", (target.schema,)
                ).fetchone()
                if found is None:
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


def _alive(conn: psycopg.Connection[DictRow]) -> bool:
    try:
        ConnectionPool.check_connection(conn)
    except psycopg.Error:
        return False
    return True


def _pg_executor(cursor: psycopg.Cursor[DictRow]) -> Callable[[str, Params], Any]:
    def execute(statement: str, params: Params) -> Any:
        return cursor.execute(statement, params or None)

    return execute


def _pg_many(cursor: psycopg.Cursor[DictRow]) -> Callable[[str, Sequence[Params]], Any]:
    def execute_many(statement: str, rows: Sequence[Params]) -> Any:
        return cursor.executemany(statement, rows)

    return execute_many


def drop_schema(url: str, schema: str) -> str:
    """Drop a PostgreSQL schema and everything in it; return what was dropped."""
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
