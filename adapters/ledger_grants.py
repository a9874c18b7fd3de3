"""Append-only event tables on PostgreSQL, and the application role's grants.

The event logs (``<app>_events``) are the ledger: nothing may change or remove a stored
event, whatever code runs with the application's credentials. ``clash db protect-ledger``
(run by the schema's owner after ``clash db migrate`` and a first start) makes that a
property of the database:

- a trigger on every event table refuses ``UPDATE``, ``DELETE`` and ``TRUNCATE`` for every
  role, the owner included (only dropping the schema, ``clash db reset`` or a restore with
  ``--force``, removes events);
- with ``--app-role ROLE``, the application role gets what it needs and no more: usage of
  the schema and ``CREATE`` (read models create their tables lazily); every plain table
  (read models, leases, migrations...) is handed over to it, since creating a read model's
  index, even ``IF NOT EXISTS``, demands ownership; on event tables it keeps ``SELECT``
  and ``INSERT``, with ``DELETE`` and ``TRUNCATE`` revoked, and the owner keeps them.
  ``UPDATE`` stays granted on event tables because the eventsourcing library takes
  ``LOCK TABLE ... IN EXCLUSIVE MODE`` on each save (to keep notification ids in
  commit order), and PostgreSQL grants that lock only to a role holding ``UPDATE``,
  ``DELETE`` or ``TRUNCATE`` on the table; the trigger refuses every actual update.

Re-run it after a release that adds an event-sourced module: ``--check`` lists event
tables without the trigger (exit 1), so a deployment script can insist on it.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import sql

from adapters.postgres_database import PostgresTarget

_GUARD = "clash_append_only"

_FUNCTION = """
CREATE OR REPLACE FUNCTION {schema}.clash_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the event log is append-only: % on %.% refused',
        TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""


@dataclass(frozen=True)
class LedgerProtection:
    """The event tables of a schema and which of them carry the append-only trigger."""

    event_tables: tuple[str, ...]
    unprotected: tuple[str, ...]


def ledger_protection(url: str, schema: str) -> LedgerProtection:
    """Report which event tables lack the append-only trigger."""
    with _connect(url, schema) as conn:
        tables = _event_tables(conn, schema)
        guarded = {
            str(row[0])
            for row in conn.execute(
                "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
                " JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = %s AND t.tgname = %s",
                (schema, f"{_GUARD}_rows"),
            )
        }
    return LedgerProtection(tables, tuple(t for t in tables if t not in guarded))


def protect_ledger(url: str, schema: str, *, app_role: str | None = None) -> LedgerProtection:
    """Install the triggers on every event table (idempotent); grant ``app_role`` if given."""
    with _connect(url, schema) as conn, conn.transaction():
        conn.execute(sql.SQL(_FUNCTION).format(schema=sql.Identifier(schema)))
        tables = _event_tables(conn, schema)
        for table in tables:
            _guard(conn, schema, table)
        if app_role is not None:
            _grant(conn, schema, app_role, tables)
            _hand_over(conn, schema, app_role, tables)
    return ledger_protection(url, schema)


def _guard(conn: psycopg.Connection[tuple[object, ...]], schema: str, table: str) -> None:
    target = sql.Identifier(schema, table)
    function = sql.Identifier(schema, "clash_append_only")
    for name, timing in (
        (f"{_GUARD}_rows", "BEFORE UPDATE OR DELETE ON {table} FOR EACH ROW"),
        (f"{_GUARD}_truncate", "BEFORE TRUNCATE ON {table} FOR EACH STATEMENT"),
    ):
        trigger = sql.Identifier(name)
        conn.execute(sql.SQL("DROP TRIGGER IF EXISTS {0} ON {1}").format(trigger, target))
        conn.execute(
            sql.SQL("CREATE TRIGGER {trigger} " + timing + " EXECUTE FUNCTION {function}()").format(
                trigger=trigger, table=target, function=function
            )
        )


def _grant(
    conn: psycopg.Connection[tuple[object, ...]],
    schema: str,
    role: str,
    event_tables: tuple[str, ...],
) -> None:
    s, r = sql.Identifier(schema), sql.Identifier(role)
    statements = [
        "GRANT USAGE, CREATE ON SCHEMA {s} TO {r}",
        "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {s} TO {r}",
        "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {s} TO {r}",
        "ALTER DEFAULT PRIVILEGES IN SCHEMA {s} GRANT SELECT, INSERT, UPDATE, DELETE"
        " ON TABLES TO {r}",
        "ALTER DEFAULT PRIVILEGES IN SCHEMA {s} GRANT USAGE, SELECT ON SEQUENCES TO {r}",
    ]
    for statement in statements:
        conn.execute(sql.SQL(statement).format(s=s, r=r))
    for table in event_tables:
        conn.execute(
            sql.SQL("REVOKE DELETE, TRUNCATE ON {t} FROM {r}").format(
                t=sql.Identifier(schema, table), r=r
            )
        )


def _hand_over(
    conn: psycopg.Connection[tuple[object, ...]],
    schema: str,
    role: str,
    event_tables: tuple[str, ...],
) -> None:
    rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,))
    for table in [str(row[0]) for row in rows if str(row[0]) not in event_tables]:
        conn.execute(
            sql.SQL("ALTER TABLE {t} OWNER TO {r}").format(
                t=sql.Identifier(schema, table), r=sql.Identifier(role)
            )
        )


def _event_tables(conn: psycopg.Connection[tuple[object, ...]], schema: str) -> tuple[str, ...]:
    rows = conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = %s AND tablename LIKE %s"
        " ORDER BY tablename",
        (schema, "%\\_events"),
    )
    return tuple(str(row[0]) for row in rows)


def _connect(url: str, schema: str) -> psycopg.Connection[tuple[object, ...]]:
    target = PostgresTarget.from_url(url, schema)
    return psycopg.connect(target.conninfo(), autocommit=True, connect_timeout=10)
