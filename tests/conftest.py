"""Shared fixtures: one contract suite, two stores.

Tests that take the ``database`` fixture run twice: on a fresh SQLite file and on a fresh
PostgreSQL schema (``CLASH_TEST_POSTGRES_URL``, default the local server's ``test``
database). Outside CI an unreachable PostgreSQL skips those runs and says why; with
``CLASH_TEST_REQUIRE_POSTGRES=1`` (set by ``.ci/run``) it fails them instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from functools import cache
from typing import NoReturn

import psycopg
import pytest

from adapters.database import Database, open_database
from adapters.migrations import migrate

POSTGRES_URL = os.environ.get(
    "CLASH_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REQUIRE_POSTGRES = os.environ.get("CLASH_TEST_REQUIRE_POSTGRES") == "1"
BACKENDS = ("sqlite", "postgres")


@cache
def postgres_problem() -> str | None:
    """Return why PostgreSQL cannot be used, or ``None`` when it can."""
    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"PostgreSQL unreachable at {POSTGRES_URL}: {first_line[:160]}"
    return None


def require_postgres() -> None:
    """Skip (or, in CI, fail) the current test when PostgreSQL is unreachable."""
    problem = postgres_problem()
    if problem is not None:
        skip_or_fail(problem)


def skip_or_fail(problem: str) -> NoReturn:
    """Skip the current test for ``problem``, or fail it when CI requires PostgreSQL."""
    if REQUIRE_POSTGRES:
        pytest.fail(f"{problem} (CLASH_TEST_REQUIRE_POSTGRES=1)")
    pytest.skip(problem)


@pytest.fixture
def postgres_schema() -> Iterator[str]:
    """Create a throw-away schema and drop it afterwards."""
    require_postgres()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    yield schema
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[str]:
    """A database URL for each backend, empty and private to this test."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/clash.db"
        return
    schema = request.getfixturevalue("postgres_schema")
    yield f"{POSTGRES_URL}?schema={schema}"


def cli_env(database_url: str) -> dict[str, str]:
    """The environment that points a ``clash`` command at a test store."""
    return {
        "CLASH_DATABASE_URL": database_url.split("?", maxsplit=1)[0],
        "CLASH_POSTGRES_SCHEMA": schema_of(database_url),
    }


def schema_of(url: str) -> str:
    """Return the schema named in a test database URL (``public`` when none is)."""
    return url.split("schema=", 1)[1] if "schema=" in url else "public"


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    """A migrated database on each backend."""
    db = open_database(database_url, schema=schema_of(database_url), pool_size=2, max_overflow=4)
    migrate(db)
    yield db
    db.close()
