"""The restore drill on both stores: back up a populated store, destroy it, restore it, and
get a clean audit with identical balances; verify restores into a scratch store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from adapters.backups import BackupError, create_backup, restore_backup, scratch_restore
from adapters.bootstrap import Container, bootstrap
from adapters.database import erase_store
from api.app import create_app
from api.cli_backup import audit_store
from domain.clock import SimulatedClock
from domain.market.model import AssetContext
from projections.catalog import runners
from tests.api.clones_kit import admin, user
from tests.api.conftest import api_settings, sign_in
from tests.api.test_economy_routes import paid, quoted, submit
from tests.conftest import schema_of
from tests.kit import a_wallet
from workers.backups import BackupWorker
from workers.runtime import Runtime

T0 = datetime(2021, 7, 3, tzinfo=UTC)


def populated(database_url: str, clock: SimulatedClock) -> tuple[Container, dict[str, Any]]:
    """A store with a traded prop account and a paid audition fee; its balances."""
    container = bootstrap(
        api_settings(database_url), service_clock=clock, market_clock=SimulatedClock(T0)
    )
    container.market.upsert_contexts(
        "test", [AssetContext("BTC", T0, Decimal("100000"), Decimal("100000"), Decimal(0))]
    )
    client = TestClient(create_app(container), raise_server_exceptions=False)
    trader = sign_in(client, a_wallet("trader"))
    body = {"ownerUserId": trader["user"]["id"], "collateral": "10000", "cause": "drill:acct"}
    account = client.post("/v1/admin/prop-accounts", headers=admin(client), json=body).json()
    order = {"clientOrderId": "o1", "asset": "BTC", "side": "buy", "size": "0.1", "leverage": 5}
    url = f"/v1/admin/prop-accounts/{account['accountId']}/orders"
    assert client.post(url, headers=admin(client), json=order).status_code in (200, 201)
    payer = user(client, "payer")
    assert submit(client, payer, paid(quoted(client, payer))).status_code == 201
    for runner in runners(container):
        runner.catch_up()
    return container, balances(container, account["accountId"])


def balances(container: Container, account_id: str) -> dict[str, Any]:
    """What the drill compares: the account's books and the economy's purchases."""
    account = container.prop.account(UUID(account_id))
    economy_events = container.economy.recorder.max_notification_id()
    return {
        "account": account_id,
        "collateral": account.collateral,
        "positions": {a: p["size"] for a, p in account.positions.items()},
        "economy_events": economy_events,
    }


def test_back_up_destroy_restore_and_audit_clean(
    database_url: str, clock: SimulatedClock, tmp_path: Path
) -> None:
    url, schema = database_url.split("?", maxsplit=1)[0], schema_of(database_url)
    container, before = populated(database_url, clock)
    container.close()

    backup = create_backup(url, schema, tmp_path, datetime(2026, 12, 2, 7, tzinfo=UTC))
    erase_store(url, schema=schema)
    restore_backup(backup.path, url, schema, force=False)

    ok, summary = audit_store(url, schema)
    assert ok, summary
    restored = bootstrap(api_settings(database_url), service_clock=clock, run_migrations=False)
    try:
        assert balances(restored, before["account"]) == before
    finally:
        restored.close()
    with pytest.raises(BackupError, match="--force"):
        restore_backup(backup.path, url, schema, force=False)
    restore_backup(backup.path, url, schema, force=True)
    assert audit_store(url, schema)[0]


def test_verify_restores_into_a_scratch_store_and_audits_it(
    database_url: str, clock: SimulatedClock, tmp_path: Path
) -> None:
    url, schema = database_url.split("?", maxsplit=1)[0], schema_of(database_url)
    container, _ = populated(database_url, clock)
    container.close()
    backup = create_backup(url, schema, tmp_path, datetime(2026, 12, 2, 7, tzinfo=UTC))

    with scratch_restore(backup.path, url, schema) as scratch:
        assert scratch != url
        ok, summary = audit_store(scratch, schema)

    assert ok, summary
    assert "1 accounts" in summary
    with pytest.raises(BackupError, match="no backup"):
        restore_backup(tmp_path / "missing.sqlite", url, schema, force=True)


def test_the_backups_worker_takes_one_backup_per_period_and_prunes_old_ones(
    database_url: str, clock: SimulatedClock, tmp_path: Path
) -> None:
    folder = tmp_path / "scheduled"
    container = bootstrap(
        api_settings(database_url, backup_dir=str(folder), backup_retention_days=7),
        service_clock=clock,
    )
    try:
        worker = BackupWorker(container)
        runtime = Runtime(container.database, clock)
        (folder / "clash-20200101T000000.sqlite").parent.mkdir(parents=True)
        (folder / "clash-20200101T000000.sqlite").write_bytes(b"old")
        (folder / "notes.txt").write_text("not a backup", encoding="utf-8")

        runtime.step(worker)
        runtime.step(worker)  # the same day: nothing more
        runtime.step(BackupWorker(container))  # nor from a restarted worker

        names = sorted(p.name for p in folder.iterdir())
        assert len([n for n in names if n.startswith("clash-2026")]) == 1
        assert "clash-20200101T000000.sqlite" not in names
        assert "notes.txt" in names

        clock.advance(timedelta(days=1))
        runtime.step(worker)  # the next day: one more
        assert len([p for p in folder.iterdir() if p.name.startswith("clash-2026")]) == 2
    finally:
        container.close()
