"""PostgreSQL restarted under load (issue 11): one served process rides out a crash.

The drill runs once per module on a throwaway cluster (``conftest.cluster``, never the
shared server): serve the real app and its workers on PostgreSQL, put writers (the prop
ledger) and readers on it, crash the server (``pg_ctl stop -m immediate``, what a killed
postmaster does), keep the load on through the outage, start the server again and keep
the load on until the same process writes again. Each test then checks one promise
against the recorded calls and the store:

- during the outage every database route answers 503 (problem+json
  ``urn:clash:problem:service:database``), and no call at all waits longer than the
  configured pool wait plus slack; nothing answers 500 and liveness keeps answering 200;
- the same process writes again soon after the restart, and its workers beat again;
- every write acknowledged with a 2xx is in the store and none is applied twice, and the
  audits ``clash audit`` runs find the books clean.

A second, quiet restart (no calls while the server is away) checks that the connections
left idle in the pool, all dead, are replaced before anyone is answered with them.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from adapters.bootstrap import Container, bootstrap
from adapters.postgres_database import RECONNECT_GIVE_UP_SECONDS
from adapters.reconciliation import ReconciliationRun, reconcile
from adapters.settings import Settings
from api.app import create_app
from domain.prop.account import account_id_for
from projections.catalog import runners
from tests.api.conftest import ADMIN, api_settings, bearer, sign_in
from tests.faults.postgres_cluster import ThrowawayCluster
from tests.faults.request_load import Call, Load, Principal
from tests.faults.served_app import ServedApp
from tests.kit import a_wallet
from workers.catalog import in_process_workers

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

POOL_TIMEOUT_SECONDS = 1.0  # CLASH_DB_POOL_TIMEOUT_SECONDS: the longest wait for a connection
CONNECT_TIMEOUT_SECONDS = 2  # CLASH_DB_CONNECT_TIMEOUT_SECONDS: the longest dial
ANSWER_SLACK_SECONDS = 3.0  # a loaded two-core runner, logging every failure with its stack
ANSWER_BOUND_SECONDS = POOL_TIMEOUT_SECONDS + ANSWER_SLACK_SECONDS
# The pool re-dials at least every RECONNECT_GIVE_UP_SECONDS / 2; a caller then waits a pool
# timeout at most; the rest is slack.
RECOVERY_BOUND_SECONDS = RECONNECT_GIVE_UP_SECONDS + POOL_TIMEOUT_SECONDS
WARM_SECONDS, OUTAGE_SECONDS, AFTER_SECONDS = 1.5, 5.0, 2.0
QUIET_BOUND_SECONDS = 1.0  # four reads on fresh connections; psycopg_pool's backoff sleeps 1 s+
WRITERS, READERS, SETUP_COLLATERAL = 3, 3, Decimal(1000)
DATABASE_ROUTES = ("open", "adjust", "readiness", "workers", "me")
DATABASE_PROBLEM = "urn:clash:problem:service:database"


@dataclass(frozen=True)
class Drill:
    """What the load saw and what the store held after one crash and restart."""

    calls: list[Call]
    down_at: float
    up_at: float
    recovered_at: float | None
    alive_after: bool
    workers_after: dict[str, Any]
    fast_workers: set[str]
    restarted_wall: datetime
    opened_in_log: set[str]
    collateral: dict[str, Decimal]
    reconciliation: ReconciliationRun

    def during_outage(self) -> list[Call]:
        """Calls that started once the server was down and ended before it was started."""
        return [c for c in self.calls if c.within(self.down_at, self.up_at)]

    def writes(self, kind: str) -> list[Call]:
        """Every write call of ``kind`` (``open`` or ``adjust``)."""
        return [c for c in self.calls if c.kind == kind]


def _settings(cluster: ThrowawayCluster, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "db_pool_timeout_seconds": POOL_TIMEOUT_SECONDS,
        "db_connect_timeout_seconds": CONNECT_TIMEOUT_SECONDS,
    }
    return api_settings(cluster.url, **{**values, **overrides})


@pytest.fixture(scope="module")
def drill(cluster: ThrowawayCluster) -> Iterator[Drill]:
    """Serve, load, crash, restart, recover; then read the store and audit it."""
    container = bootstrap(_settings(cluster, worker_stale_after_seconds=5))
    background = in_process_workers(container)
    fast = {w.name for b in background for w in b.workers if w.interval <= timedelta(seconds=1)}
    served = ServedApp(create_app(container, background))
    served.start()
    try:
        yield _run(cluster, container, served, fast)
    finally:
        served.stop()
        container.close()


def _run(
    cluster: ThrowawayCluster, container: Container, served: ServedApp, fast: set[str]
) -> Drill:
    load = _load(served.url)
    load.start(READERS)
    time.sleep(WARM_SECONDS)
    cluster.stop("immediate")
    down_at = time.monotonic()  # from here on no call can reach a server
    time.sleep(OUTAGE_SECONDS)
    up_at = time.monotonic()  # from here on the server may answer
    cluster.start()
    restarted_wall = datetime.now(UTC)
    recovered_at = _first_write_after(load, up_at, RECOVERY_BOUND_SECONDS * 3)
    time.sleep(AFTER_SECONDS)
    calls = load.stop()
    alive, workers = served.alive, _workers_health(served.url)
    served.stop()  # the workers too: the projections are caught up here, once
    for runner in runners(container):
        runner.catch_up()
    return Drill(
        calls=calls,
        down_at=down_at,
        up_at=up_at,
        recovered_at=recovered_at,
        alive_after=alive,
        workers_after=workers,
        fast_workers=fast,
        restarted_wall=restarted_wall,
        opened_in_log=_opened_in_log(container),
        collateral={a: container.prop.account(uuid.UUID(a)).collateral for a in load.accounts},
        reconciliation=reconcile(container),
    )


def _load(url: str) -> Load:
    with httpx.Client(base_url=url, timeout=30) as client:
        admin = sign_in(client, ADMIN)
        owner = sign_in(client, a_wallet("fault-owner"))
        admin_headers, owner_id = bearer(admin["accessToken"]), owner["user"]["id"]
        accounts = [_open(client, admin_headers, owner_id, n) for n in range(WRITERS)]
    return Load(
        url,
        Principal(admin["accessToken"], admin["user"]["id"]),
        Principal(owner["accessToken"], owner_id),
        accounts,
    )


def _open(client: httpx.Client, headers: dict[str, str], owner_id: str, number: int) -> str:
    body = {"ownerUserId": owner_id, "collateral": str(SETUP_COLLATERAL), "cause": f"w:{number}"}
    created = client.post("/v1/admin/prop-accounts", json=body, headers=headers)
    assert created.status_code == 201, created.text
    account: str = created.json()["accountId"]
    return account


def _first_write_after(load: Load, since: float, limit: float) -> float | None:
    deadline = since + limit
    while time.monotonic() < deadline:
        written = [c for c in list(load.calls) if c.kind == "open" and c.started >= since]
        if acknowledged := [c.finished for c in written if c.acknowledged]:
            return min(acknowledged)
        time.sleep(0.05)
    return None


def _workers_health(url: str) -> dict[str, Any]:
    time.sleep(1.5)  # at least one more step of every one-second worker
    response = httpx.get(f"{url}/health/workers", timeout=10)
    body: dict[str, Any] = response.json()
    return {"status": response.status_code, **body}


def _opened_in_log(container: Container) -> set[str]:
    opened: set[str] = set()
    position = 0
    while batch := container.prop.recorder.select_notifications(
        start=position, limit=500, inclusive_of_start=False
    ):
        opened.update(str(n.originator_id) for n in batch if n.originator_version == 1)
        position = batch[-1].id
    return opened


def _kinds(calls: list[Call]) -> list[tuple[str, int]]:
    return sorted({(c.kind, c.status) for c in calls})


def _instant(text: str | None) -> datetime:
    return datetime.fromisoformat(text) if text else datetime.min.replace(tzinfo=UTC)


# --- during the outage ----------------------------------------------------------------


def test_outage_answers_503_on_every_database_route(drill: Drill) -> None:
    # Arrange
    outage = [c for c in drill.during_outage() if c.kind in DATABASE_ROUTES]
    # Assert
    assert len(outage) >= 6, f"the load barely ran during the outage: {_kinds(outage)}"
    assert {c.status for c in outage} == {503}, _kinds(outage)
    problems = {c.problem_type for c in outage if c.kind != "readiness"}
    assert problems == {DATABASE_PROBLEM}


def test_no_call_waits_longer_than_the_pool_timeout_plus_slack(drill: Drill) -> None:
    # Arrange
    slowest = max(drill.calls, key=lambda c: c.seconds)
    # Assert: the library's own retries would hold a write for ten pool timeouts.
    assert slowest.seconds <= ANSWER_BOUND_SECONDS, slowest


def test_no_call_answers_500_and_liveness_stays_up(drill: Drill) -> None:
    # Arrange
    broken = [c for c in drill.calls if c.status >= 500 and c.status != 503]
    unanswered = [c for c in drill.calls if c.status == 0]
    liveness = [c for c in drill.during_outage() if c.kind == "liveness"]
    # Assert
    assert not broken, _kinds(broken)
    assert not unanswered, _kinds(unanswered)
    assert liveness
    assert {c.status for c in liveness} == {200}
    assert drill.alive_after


# --- after the restart ------------------------------------------------------------------


def test_same_process_writes_again_soon_after_the_restart(drill: Drill) -> None:
    # Arrange
    assert drill.recovered_at is not None, "no write succeeded after the restart"
    settled = [
        c
        for c in drill.calls
        if c.started >= drill.recovered_at + POOL_TIMEOUT_SECONDS and c.kind != "workers"
    ]
    # Assert
    assert drill.recovered_at - drill.up_at <= RECOVERY_BOUND_SECONDS
    assert settled
    assert all(c.acknowledged for c in settled), _kinds(settled)


def test_workers_beat_again_after_the_restart(drill: Drill) -> None:
    # Arrange
    health = drill.workers_after
    beats = {w["name"]: w for w in health["workers"] if w["name"] in drill.fast_workers}
    restarted = drill.restarted_wall
    # Assert
    assert health["status"] == 200, health
    assert drill.fast_workers
    assert set(beats) == drill.fast_workers
    late = {n: w["lastBeatAt"] for n, w in beats.items() if _instant(w["lastBeatAt"]) < restarted}
    assert not late, f"restarted at {restarted}; no beat since from {late}"
    assert not [n for n, w in beats.items() if w["stale"]]
    buried = {w["name"]: w["openDeadLetters"] for w in health["workers"] if w["openDeadLetters"]}
    assert not buried, f"the outage buried work items: {buried}"


def test_every_acknowledged_open_is_in_the_store(drill: Drill) -> None:
    # Arrange
    opens = drill.writes("open")
    acknowledged = {str(account_id_for(c.subject)) for c in opens if c.acknowledged}
    attempted = {str(account_id_for(c.subject)) for c in opens} | set(drill.collateral)
    # Assert: acknowledged ⊆ stored ⊆ attempted (a 503 may or may not have committed).
    assert len(acknowledged) >= 20, "too few writes to say anything"
    assert acknowledged <= drill.opened_in_log
    assert drill.opened_in_log <= attempted


def test_every_acknowledged_adjustment_is_applied_once(drill: Drill) -> None:
    for account, collateral in drill.collateral.items():
        # Arrange: each adjustment adds exactly one USDC.
        adjusts = [c for c in drill.writes("adjust") if c.subject == account]
        acknowledged = sum(1 for c in adjusts if c.acknowledged)
        # Assert
        applied = collateral - SETUP_COLLATERAL
        assert acknowledged <= applied <= len(adjusts), (account, acknowledged, applied)


def test_audit_is_clean_after_the_restart(drill: Drill) -> None:
    # Arrange
    run = drill.reconciliation
    # Assert
    assert run.ok, run.breaches
    assert run.checked["accounts"] == len(drill.opened_in_log)


# --- a quiet restart ----------------------------------------------------------------------


def test_idle_connections_that_died_in_a_quiet_restart_are_never_handed_out(
    cluster: ThrowawayCluster,
) -> None:
    # Arrange: a signed-in client leaves connections idle in the pool.
    container = bootstrap(_settings(cluster, db_pool_timeout_seconds=5.0))
    try:
        client = TestClient(create_app(container), raise_server_exceptions=False)
        headers = bearer(sign_in(client, a_wallet("quiet"))["accessToken"])
        # Act: nobody calls while the server is away.
        cluster.stop("fast")
        cluster.start()
        started = time.monotonic()
        answers = [client.get("/v1/me", headers=headers).status_code for _ in range(4)]
        seconds = time.monotonic() - started
    finally:
        container.close()
    # Assert
    assert answers == [200] * 4
    assert seconds < QUIET_BOUND_SECONDS, seconds
