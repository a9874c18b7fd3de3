"""The ``clash`` command line against real stores."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adapters.database import DatabaseError, open_database
from adapters.heartbeats import HeartbeatStore
from api.cli import app
from tests.conftest import schema_of

CLASH = str(Path(sys.executable).with_name("clash"))


def _env(database_url: str) -> dict[str, str]:
    return {
        "CLASH_DATABASE_URL": database_url.split("?", maxsplit=1)[0],
        "CLASH_POSTGRES_SCHEMA": schema_of(database_url),
        "CLASH_LOG_LEVEL": "WARNING",
    }


@pytest.fixture
def run(database_url: str):
    runner = CliRunner()

    def invoke(*args: str, **extra_env: str):
        return runner.invoke(app, list(args), env={**_env(database_url), **extra_env})

    return invoke


def test_db_migrate_applies_then_reports_up_to_date(run) -> None:
    first = run("db", "migrate")
    second = run("db", "migrate")
    assert first.exit_code == 0
    assert "Applied 1" in first.output
    assert "Applied 2" in first.output
    assert "up to date" in second.output


def test_service_token_create_list_revoke(run) -> None:
    created = run("admin", "service-token", "create", "--name", "ingest", "--scope", "market:write")
    listed = run("admin", "service-token", "list")
    revoked = run("admin", "service-token", "revoke", "ingest")
    again = run("admin", "service-token", "revoke", "ingest")
    assert created.exit_code == 0
    assert created.stdout.strip().startswith("st_")
    assert "ingest" in listed.output
    assert created.stdout.strip() not in listed.output
    assert revoked.exit_code == 0
    assert again.exit_code == 1


def test_production_with_development_defaults_exits_2(run) -> None:
    result = run("db", "migrate", CLASH_ENV="production")
    assert result.exit_code == 2
    assert "CLASH_DEV_LOGIN_ENABLED" in result.output


def test_unknown_worker_exits_2(run) -> None:
    result = run("worker", "no-such-worker")
    assert result.exit_code == 2
    assert "identity-janitor" in result.output


def test_workers_lists_names(run) -> None:
    assert "identity-janitor" in run("workers").output


def test_worker_alone_beats_and_stops_on_sigterm(database_url: str, tmp_path: Path) -> None:
    # Arrange
    process = subprocess.Popen(
        [CLASH, "worker", "identity-janitor"],
        cwd=tmp_path,
        env={**os.environ, **_env(database_url)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    database = open_database(database_url.split("?", maxsplit=1)[0], schema=schema_of(database_url))
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "identity-janitor" not in _beats(database):
            time.sleep(0.2)
        # Act
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=20)
        # Assert
        assert code == 0
        assert _beats(database)["identity-janitor"] == "stopped"
    finally:
        if process.poll() is None:
            process.kill()
        database.close()


def _beats(database) -> dict[str, str]:
    try:
        return {b.worker: b.state for b in HeartbeatStore(database).beats()}
    except DatabaseError:  # the worker process may not have migrated yet
        return {}


def test_import_candles_imports_whole_archive(run, database_url: str) -> None:
    from adapters.bundled_candles import bundled_path

    result = run(
        "ingest",
        "import-candles",
        str(bundled_path("SOL", "5m")),
        "--asset",
        "SOL",
        "--interval",
        "5m",
    )
    assert result.exit_code == 0, result.output
    assert "Imported 4032 candles" in result.output
    database = open_database(database_url.split("?", maxsplit=1)[0], schema=schema_of(database_url))
    try:
        with database.transaction(write=False) as session:
            row = session.fetch_one("SELECT count(*) AS n FROM market_candles WHERE asset = 'SOL'")
        assert row is not None
        assert row["n"] == 4032
    finally:
        database.close()


def test_import_of_malformed_archive_imports_nothing(run, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("ts_ms,open,high,low,close,volume\n1625270400000,1,2,0.5,1.5,10\n1,x,1,1,1,1\n")
    result = run("ingest", "import-candles", str(bad), "--asset", "BTC", "--interval", "5m")
    assert result.exit_code == 1
    assert "line=3" in result.output


def test_db_reset_erases_everything(run) -> None:
    assert run("db", "migrate").exit_code == 0
    assert run("db", "reset", "--yes").exit_code == 0
    again = run("db", "migrate")
    assert "Applied 1" in again.output
