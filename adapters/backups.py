"""Backups of the one store: create, restore, and verify by restoring and auditing.

Why one file per backup: everything (event tables, read models, plain tables) lives in one
database (ARCHITECTURE.md section 5), so one consistent copy is a whole backup.

- **SQLite**: the online backup API (``sqlite3.Connection.backup``) copies the live file
  page by page under its own read transaction: a consistent snapshot while the service
  keeps writing. The backup is itself a SQLite file.
- **PostgreSQL**: ``pg_dump --format=custom --schema=<schema>`` (one consistent snapshot);
  restored with ``pg_restore``. The password, if any, goes through ``PGPASSWORD``, never
  the command line.

**Restore** refuses to overwrite a store that holds tables unless ``force`` is given (then
it erases it first). **Verify** restores into a scratch store (a temporary SQLite file, or
a temporary PostgreSQL database, dropped afterwards) and returns it for the caller to audit.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from psycopg import sql

from adapters.database import erase_store
from adapters.postgres_database import PostgresTarget

PG_TIMEOUT_SECONDS = 600


class BackupError(Exception):
    """Raised when a backup cannot be made, read or restored (the reason says why)."""


@dataclass(frozen=True)
class Backup:
    """A backup file and what it holds."""

    path: Path
    backend: str  # sqlite | postgres
    size: int


def create_backup(url: str, schema: str, directory: Path, now: datetime) -> Backup:
    """Copy the store at ``url`` into ``directory``; the new backup."""
    directory.mkdir(parents=True, exist_ok=True)
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%S")
    if _is_postgres(url):
        path = directory / f"clash-{stamp}.pgdump"
        target = PostgresTarget.from_url(url, schema)
        _run(["pg_dump", "--format=custom", f"--schema={schema}", f"--file={path}"], target)
        return Backup(path, "postgres", path.stat().st_size)
    path = directory / f"clash-{stamp}.sqlite"
    source = sqlite3.connect(_sqlite_path(url))
    try:
        copy = sqlite3.connect(path)
        try:
            source.backup(copy)
        finally:
            copy.close()
    finally:
        source.close()
    return Backup(path, "sqlite", path.stat().st_size)


def restore_backup(backup: Path, url: str, schema: str, *, force: bool) -> None:
    """Restore ``backup`` into the store at ``url`` (refused over data unless ``force``)."""
    if not backup.is_file():
        raise BackupError(f"no backup at {backup}")
    if _holds_tables(url, schema):
        if not force:
            raise BackupError("the target store holds data: restore with --force to replace it")
        erase_store(url, schema=schema)
    if _is_postgres(url):
        target = PostgresTarget.from_url(url, schema)
        _run(["pg_restore", "--no-owner", f"--dbname={target.dbname}", str(backup)], target)
        return
    path = Path(_sqlite_path(url))
    path.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(backup)
    try:
        copy = sqlite3.connect(path)
        try:
            source.backup(copy)
        finally:
            copy.close()
    finally:
        source.close()


def prune_backups(directory: Path, older_than: datetime) -> list[Path]:
    """Delete the backups in ``directory`` taken before ``older_than``; return them."""
    gone = []
    for path, taken in _backups_in(directory):
        if taken < older_than:
            path.unlink()
            gone.append(path)
    return gone


def latest_backup_time(directory: Path) -> datetime | None:
    """When the newest backup in ``directory`` was taken (UTC), if there is one."""
    return max((taken for _, taken in _backups_in(directory)), default=None)


def _backups_in(directory: Path) -> list[tuple[Path, datetime]]:
    """Our backups in ``directory`` with their UTC times; other files are left alone."""
    found = []
    for path in sorted(directory.glob("clash-*")):
        stamp = path.name.removeprefix("clash-").split(".", 1)[0]
        try:
            taken = datetime.strptime(stamp, "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
        except ValueError:
            continue  # not one of ours
        found.append((path, taken))
    return found


@contextmanager
def scratch_restore(backup: Path, url: str, schema: str) -> Iterator[str]:
    """Restore ``backup`` into a throw-away store of the same kind; yield its URL."""
    if _is_postgres(url):
        target = PostgresTarget.from_url(url, schema)
        database = f"clash_verify_{uuid.uuid4().hex[:10]}"
        _admin(target, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
        scratch = target.with_dbname(database)
        try:
            restore_backup(backup, scratch, schema, force=False)
            yield scratch
        finally:
            _admin(
                target,
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)),
            )
        return
    with tempfile.TemporaryDirectory(prefix="clash-verify-") as folder:
        scratch = f"sqlite:///{folder}/restored.db"
        restore_backup(backup, scratch, schema, force=False)
        yield scratch


def _run(command: list[str], target: PostgresTarget) -> None:
    if shutil.which(command[0]) is None:
        raise BackupError(f"{command[0]} is not installed (PostgreSQL client tools)")
    connection = [f"--host={target.host}", f"--port={target.port}", f"--username={target.user}"]
    env = {**os.environ, "PGPASSWORD": target.password} if target.password else dict(os.environ)
    if command[0] == "pg_dump":
        connection.append(f"--dbname={target.dbname}")
    result = subprocess.run(  # noqa: S603 - fixed tools, arguments from configuration
        [*command[:1], *connection, *command[1:]],
        capture_output=True,
        text=True,
        timeout=PG_TIMEOUT_SECONDS,
        env=env,
        check=False,
    )
    if result.returncode != 0:
        raise BackupError(f"{command[0]} failed: {result.stderr.strip()[:500]}")


def _admin(target: PostgresTarget, statement: sql.Composed) -> None:
    with psycopg.connect(target.conninfo(), autocommit=True, connect_timeout=10) as conn:
        conn.execute(statement)


def _holds_tables(url: str, schema: str) -> bool:
    if _is_postgres(url):
        target = PostgresTarget.from_url(url, schema)
        with psycopg.connect(target.conninfo(), connect_timeout=10) as conn:
            row = conn.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = %s",
                (schema,),
            ).fetchone()
        return bool(row and row[0])
    path = Path(_sqlite_path(url))
    if not path.exists() or path.stat().st_size == 0:
        return False
    with sqlite3.connect(path) as conn:
        row = conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()
    return bool(row and row[0])


def _is_postgres(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def _sqlite_path(url: str) -> str:
    return url.removeprefix("sqlite:///")
