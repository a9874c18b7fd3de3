"""Leases exclude other holders until they expire or are released, on both stores."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.database import Database, to_micros
from adapters.leases import LeaseStore

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TTL = timedelta(seconds=30)
REPO = Path(__file__).resolve().parents[2]


def test_claim_of_a_new_key_succeeds_with_token_one(database: Database) -> None:
    lease = LeaseStore(database).claim("job:1", "alice", TTL, T0)
    assert lease is not None
    assert (lease.holder, lease.token, lease.expires_at) == ("alice", 1, T0 + TTL)


def test_claim_of_a_live_lease_by_another_holder_fails(database: Database) -> None:
    leases = LeaseStore(database)
    leases.claim("job:1", "alice", TTL, T0)
    assert leases.claim("job:1", "bob", TTL, T0 + TTL - timedelta(microseconds=1)) is None


def test_claim_of_an_expired_lease_succeeds_with_a_higher_token(database: Database) -> None:
    leases = LeaseStore(database)
    leases.claim("job:1", "alice", TTL, T0)
    lease = leases.claim("job:1", "bob", TTL, T0 + TTL)
    assert lease is not None
    assert (lease.holder, lease.token) == ("bob", 2)


def test_claim_by_the_same_holder_extends_and_keeps_the_token(database: Database) -> None:
    leases = LeaseStore(database)
    leases.claim("job:1", "alice", TTL, T0)
    again = leases.claim("job:1", "alice", TTL, T0 + timedelta(seconds=10))
    assert again is not None
    assert (again.token, again.expires_at) == (1, T0 + timedelta(seconds=40))


def test_renew_by_the_holder_extends_the_lease(database: Database) -> None:
    leases = LeaseStore(database)
    lease = leases.claim("job:1", "alice", TTL, T0)
    assert lease is not None
    assert leases.renew(lease, TTL, T0 + timedelta(seconds=20)) is True
    assert leases.claim("job:1", "bob", TTL, T0 + timedelta(seconds=40)) is None


def test_renew_after_another_holder_took_over_fails(database: Database) -> None:
    leases = LeaseStore(database)
    stale = leases.claim("job:1", "alice", TTL, T0)
    assert stale is not None
    leases.claim("job:1", "bob", TTL, T0 + TTL)
    assert leases.renew(stale, TTL, T0 + TTL + timedelta(seconds=1)) is False
    assert leases.release(stale) is False
    assert [lease.holder for lease in leases.list_leases()] == ["bob"]


def test_release_lets_another_holder_claim_at_once_with_a_higher_token(database: Database) -> None:
    leases = LeaseStore(database)
    lease = leases.claim("job:1", "alice", TTL, T0)
    assert lease is not None
    assert leases.release(lease) is True
    successor = leases.claim("job:1", "bob", TTL, T0 + timedelta(seconds=1))
    assert successor is not None
    assert successor.token == 2


def test_list_leases_returns_every_key_in_order(database: Database) -> None:
    leases = LeaseStore(database)
    leases.claim("b", "alice", TTL, T0)
    leases.claim("a", "bob", TTL, T0)
    assert [(lease.key, lease.holder) for lease in leases.list_leases()] == [
        ("a", "bob"),
        ("b", "alice"),
    ]
    assert all(lease.is_live(T0) for lease in leases.list_leases())


def test_prune_deletes_only_leases_that_ended_long_ago(database: Database) -> None:
    leases = LeaseStore(database)
    leases.claim("old", "alice", TTL, T0)
    leases.claim("new", "alice", TTL, T0 + timedelta(days=2))
    assert leases.prune(T0 + timedelta(days=1)) == 1
    assert [lease.key for lease in leases.list_leases()] == ["new"]


_DOOMED_HOLDER = textwrap.dedent(
    """
    import os, sys, time
    from datetime import timedelta
    from adapters.database import from_micros, open_database
    from adapters.leases import LeaseStore
    db = open_database(os.environ["LEASE_DB_URL"], schema=os.environ["LEASE_DB_SCHEMA"])
    now = from_micros(int(os.environ["LEASE_NOW_MICROS"]))
    lease = LeaseStore(db).claim("job:42", "doomed", timedelta(seconds=30), now)
    print(lease.token if lease else "none", flush=True)
    time.sleep(600)
    """
)


@pytest.mark.slow
def test_lease_of_a_killed_process_is_reclaimed_after_expiry(
    database: Database, database_url: str
) -> None:
    # Arrange: another process claims the lease, then dies without releasing it.
    from tests.conftest import schema_of

    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "LEASE_DB_URL": database_url,
        "LEASE_DB_SCHEMA": schema_of(database_url),
        "LEASE_NOW_MICROS": str(to_micros(T0)),
    }
    command = [sys.executable, "-c", _DOOMED_HOLDER]
    with subprocess.Popen(command, env=env, cwd=REPO, stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            claimed_token = proc.stdout.readline().strip()
        finally:
            proc.kill()
            proc.wait(timeout=30)
    assert claimed_token == "1"
    assert proc.returncode != 0  # killed, not exited
    leases = LeaseStore(database)
    # Act and Assert: it still excludes us until it expires, then it is ours.
    assert leases.claim("job:42", "survivor", TTL, T0 + timedelta(seconds=29)) is None
    taken = leases.claim("job:42", "survivor", TTL, T0 + timedelta(seconds=30))
    assert taken is not None
    assert taken.holder == "survivor"
    assert taken.token == 2
