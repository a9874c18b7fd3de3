"""Append-only event tables on PostgreSQL: the trigger, and the application role's grants."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import psycopg
import pytest
from psycopg import errors as pg_errors
from typer.testing import CliRunner

from adapters.bootstrap import Container, bootstrap
from adapters.ledger_grants import ledger_protection, protect_ledger
from api.cli import app
from projections.catalog import runners
from tests.api.conftest import api_settings
from tests.conftest import POSTGRES_URL


@pytest.fixture
def app_role(postgres_schema: str) -> Iterator[str]:
    """A login role of its own (roles are cluster-wide), dropped with what it owns."""
    role = f"clash_app_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{role}" LOGIN')
    yield role
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{postgres_schema}" CASCADE')
        conn.execute(f'DROP OWNED BY "{role}"')
        conn.execute(f'DROP ROLE "{role}"')


def _project(container: Container) -> int:
    """Catch every read model up; return the largest lag left."""
    lags = []
    for runner in runners(container):
        runner.catch_up()
        lags.append(runner.status().lag)
    return max(lags)


def _as(role: str | None) -> str:
    return POSTGRES_URL if role is None else POSTGRES_URL.replace("postgres@", f"{role}@", 1)


def _refused(url: str, schema: str, statement: str) -> type[Exception]:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        with pytest.raises(pg_errors.InsufficientPrivilege) as refused:
            conn.execute(statement)
    return type(refused.value)


def test_event_tables_refuse_changes_while_the_app_role_still_records_events(
    postgres_schema: str, app_role: str
) -> None:
    # Arrange: the owner starts the service once (tables created) and protects the ledger.
    url = f"{POSTGRES_URL}?schema={postgres_schema}"
    owner = bootstrap(api_settings(url))
    owner.clones.create_clone(uuid4(), "owner", "Before")
    _project(owner)  # the read model's tables exist, made by the owner
    owner.close()
    before = ledger_protection(POSTGRES_URL, postgres_schema)

    after = protect_ledger(POSTGRES_URL, postgres_schema, app_role=app_role)

    # Act: the service runs as the application role and keeps recording events.
    app = bootstrap(api_settings(f"{_as(app_role)}?schema={postgres_schema}"))
    try:
        recorded = app.clones.create_clone(uuid4(), "someone", "After").value
        assert app.clones.clone(recorded.id).name == "After"
        assert _project(app) == 0
    finally:
        app.close()

    # Assert: nobody changes or removes an event, the owner included.
    assert "clones_events" in before.unprotected
    assert after.unprotected == ()
    assert set(after.event_tables) >= {"clones_events", "prop_events", "economy_events"}
    for role in (None, app_role):
        _refused(_as(role), postgres_schema, "UPDATE clones_events SET topic = 'x'")
        _refused(_as(role), postgres_schema, "DELETE FROM clones_events")
        _refused(_as(role), postgres_schema, "TRUNCATE clones_events")
    with psycopg.connect(POSTGRES_URL) as conn:
        count = conn.execute(f'SELECT COUNT(*) FROM "{postgres_schema}".clones_events').fetchone()
    assert count is not None
    assert count[0] >= 2


def test_protecting_twice_changes_nothing(postgres_schema: str, app_role: str) -> None:
    url = f"{POSTGRES_URL}?schema={postgres_schema}"
    bootstrap(api_settings(url)).close()

    first = protect_ledger(POSTGRES_URL, postgres_schema, app_role=app_role)
    second = protect_ledger(POSTGRES_URL, postgres_schema)

    assert first == second
    assert second.unprotected == ()


def test_the_cli_checks_and_protects(
    postgres_schema: str, app_role: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    bootstrap(api_settings(f"{POSTGRES_URL}?schema={postgres_schema}")).close()
    monkeypatch.setenv("CLASH_DATABASE_URL", POSTGRES_URL)
    monkeypatch.setenv("CLASH_POSTGRES_SCHEMA", postgres_schema)
    runner = CliRunner()

    before = runner.invoke(app, ["db", "protect-ledger", "--check"])
    protect = runner.invoke(app, ["db", "protect-ledger", "--app-role", app_role])
    after = runner.invoke(app, ["db", "protect-ledger", "--check"])

    assert before.exit_code == 1
    assert "clones_events: UNPROTECTED" in before.output
    assert protect.exit_code == 0, protect.output
    assert f"Granted role {app_role}" in protect.output
    assert after.exit_code == 0
    assert "clones_events: append-only" in after.output


def test_the_cli_refuses_sqlite(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CLASH_DATABASE_URL", f"sqlite:///{tmp_path}/clash.db")

    refused = CliRunner().invoke(app, ["db", "protect-ledger"])

    assert refused.exit_code == 2
    assert "needs PostgreSQL" in refused.output
