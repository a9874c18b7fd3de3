"""Event stores for the module applications, on the process's one database.

The library's SQLite factory names every application's table ``stored_events``, so two
applications in one file would share a table. These factories take the process's shared
datastore (one pool) and name the tables after the application, as the PostgreSQL factory
already does: ``prop_events``, ``clones_events``, ``prop_snapshots``. A backtest gets no
builder at all, and so runs on the library's in-memory POPO store.
"""

from __future__ import annotations

from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    InfrastructureFactory,
)
from eventsourcing.postgres import (
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresDatastore,
    PostgresFactory,
)
from eventsourcing.sqlite import (
    SQLiteAggregateRecorder,
    SQLiteApplicationRecorder,
    SQLiteFactory,
)
from eventsourcing.utils import Environment

from adapters.database import Database
from adapters.postgres_database import PostgresDatabase
from adapters.sqlite_database import SqliteDatabase
from domain.application import FactoryBuilder


def table_prefix(env: Environment) -> str:
    """Return the table-name prefix of the application an environment belongs to."""
    return env.name.lower()


class NamedTablesSQLiteFactory(SQLiteFactory):
    """SQLite infrastructure whose tables are named per application, on a shared datastore."""

    def __init__(self, env: Environment, datastore: object) -> None:
        InfrastructureFactory.__init__(self, env)
        self.datastore = datastore  # type: ignore[assignment]

    def aggregate_recorder(self, purpose: str = "events") -> AggregateRecorder:
        recorder = SQLiteAggregateRecorder(
            datastore=self.datastore, events_table_name=f"{table_prefix(self.env)}_{purpose}"
        )
        if self.env_create_table():
            recorder.create_table()
        return recorder

    def application_recorder(self) -> ApplicationRecorder:
        recorder = SQLiteApplicationRecorder(
            datastore=self.datastore, events_table_name=f"{table_prefix(self.env)}_events"
        )
        if self.env_create_table():
            recorder.create_table()
        return recorder

    def close(self) -> None:
        # The datastore belongs to the Database, which closes it once for every application.
        return None


class _CreateIfMissing:
    """Create a recorder's table only when it is missing.

    The library's ``CREATE ... IF NOT EXISTS`` statements still demand ownership of an
    existing table (for its indexes), which the application role of a protected ledger
    does not have (``adapters/ledger_grants.py``); so look first.
    """

    datastore: PostgresDatastore
    events_table_name: str

    def create_table(self) -> None:
        """Create the table (and its indexes) unless it exists."""
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(
                "SELECT to_regclass(%s) AS found",
                (f"{self.datastore.schema}.{self.events_table_name}",),
            )
            row = cursor.fetchone()
        if row is None or row["found"] is None:
            super().create_table()  # type: ignore[misc]


class _AggregateRecorder(_CreateIfMissing, PostgresAggregateRecorder):
    """Snapshots and other aggregate-only tables."""


class _ApplicationRecorder(_CreateIfMissing, PostgresApplicationRecorder):
    """An application's event log."""


class SharedPoolPostgresFactory(PostgresFactory):
    """PostgreSQL infrastructure drawing on the process's one pool (the connection budget)."""

    aggregate_recorder_class = _AggregateRecorder
    application_recorder_class = _ApplicationRecorder

    def __init__(self, env: Environment, datastore: object) -> None:
        InfrastructureFactory.__init__(self, env)
        self.datastore = datastore  # type: ignore[assignment]

    def close(self) -> None:
        # The pool belongs to the Database, which closes it once for every application.
        return None


def factory_builder(database: Database) -> FactoryBuilder:
    """Return the builder that puts an application's events into ``database``."""
    if isinstance(database, PostgresDatabase):
        pg_store = database.event_datastore()
        return lambda env: SharedPoolPostgresFactory(env, pg_store)
    if isinstance(database, SqliteDatabase):
        sqlite_store = database.event_datastore()
        return lambda env: NamedTablesSQLiteFactory(env, sqlite_store)
    raise TypeError(f"unsupported database: type={type(database).__name__}")
