"""The identity janitor purges expired nonces and families, driven on a simulated clock."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from adapters.database import Database
from adapters.identity_store import SqlIdentityStore
from domain.clock import SimulatedClock
from domain.identity.model import NonceRecord
from workers.driver import DeterministicDriver
from workers.identity_janitor import IdentityJanitor
from workers.runtime import Runtime

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def _nonce(store: SqlIdentityStore, nonce: str, expires_at: datetime) -> None:
    store.save_nonce(NonceRecord(nonce, "0x" + "1" * 40, 1, T0, expires_at))


def test_janitor_removes_only_expired_nonces(database: Database) -> None:
    # Arrange
    clock = SimulatedClock(T0)
    store = SqlIdentityStore(database)
    _nonce(store, "a" * 32, T0 + timedelta(minutes=10))
    _nonce(store, "b" * 32, T0 + timedelta(hours=2))
    runtime = Runtime(database, clock, holder="driver", rng=random.Random(7))
    driver = DeterministicDriver(runtime, clock, [IdentityJanitor(store)])
    # Act
    driver.run(until=T0 + timedelta(minutes=30), step=timedelta(minutes=5))
    # Assert
    assert store.find_nonce("a" * 32) is None
    assert store.find_nonce("b" * 32) is not None
