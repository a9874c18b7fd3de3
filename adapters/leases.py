"""Leases: the one mechanism that keeps two workers off the same job at the same time.

A lease is a row in ``worker_leases`` keyed by what it guards (``"auth-cleanup:nonces"``).
Claiming is a single ``INSERT ... ON CONFLICT DO UPDATE ... WHERE`` statement, so the
database, not the caller, decides who wins: the row is taken only when it is new, when
the previous lease has expired, or when the claimant already holds it. Two processes
racing for one key therefore never both succeed, on SQLite (writers are serialised) or on
PostgreSQL (the upsert locks the row and re-checks the condition).

Every change of holder increments the key's *fencing token*. A holder that stalls past its
expiry and wakes up still carries the old token, so anything that checks tokens can refuse
its late writes. Tokens only grow while the row exists, which is why :meth:`LeaseStore.release`
keeps the row (it just ends the lease) and :meth:`LeaseStore.prune` only removes leases
that ended long ago (longer than any holder can plausibly stall).

Instants come from the caller's clock (the service clock), never from the database or the
wall, so a simulated clock can step through expiry in tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from adapters.database import Database, from_micros, to_micros

_CLAIM = """
INSERT INTO worker_leases (lease_key, holder, fencing_token, acquired_at, expires_at)
VALUES (%s, %s, 1, %s, %s)
ON CONFLICT (lease_key) DO UPDATE SET
    fencing_token = CASE WHEN worker_leases.holder = excluded.holder
        THEN worker_leases.fencing_token ELSE worker_leases.fencing_token + 1 END,
    holder = excluded.holder,
    acquired_at = excluded.acquired_at,
    expires_at = excluded.expires_at
WHERE worker_leases.expires_at <= excluded.acquired_at
    OR worker_leases.holder = excluded.holder
RETURNING lease_key, holder, fencing_token, acquired_at, expires_at
"""

_RENEW = """
UPDATE worker_leases SET expires_at = %s
WHERE lease_key = %s AND holder = %s AND fencing_token = %s
"""

# Ending a lease moves its expiry back to the moment it began, which is never later than
# the next claimant's "now"; the row (and so the token sequence) stays.
_RELEASE = """
UPDATE worker_leases SET expires_at = acquired_at
WHERE lease_key = %s AND holder = %s AND fencing_token = %s
"""

_LIST = """
SELECT lease_key, holder, fencing_token, acquired_at, expires_at
FROM worker_leases ORDER BY lease_key
"""

_PRUNE = "DELETE FROM worker_leases WHERE expires_at < %s"


@dataclass(frozen=True)
class Lease:
    """The right to work on ``key`` until ``expires_at``, proven by ``token``."""

    key: str
    holder: str
    token: int
    acquired_at: datetime
    expires_at: datetime

    def is_live(self, now: datetime) -> bool:
        """Return whether the lease still excludes other holders at ``now``."""
        return now < self.expires_at


class LeaseStore:
    """Claims, renews and releases leases in ``worker_leases``."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def claim(self, key: str, holder: str, ttl: timedelta, now: datetime) -> Lease | None:
        """Take ``key`` for ``holder`` until ``now + ttl``; ``None`` if another holder has it."""
        with self._database.transaction() as session:
            row = session.fetch_one(_CLAIM, (key, holder, to_micros(now), to_micros(now + ttl)))
        return None if row is None else _lease(row)

    def renew(self, lease: Lease, ttl: timedelta, now: datetime) -> bool:
        """Extend ``lease`` to ``now + ttl`` if its holder still has it, with the same token."""
        with self._database.transaction() as session:
            changed = session.execute(
                _RENEW, (to_micros(now + ttl), lease.key, lease.holder, lease.token)
            )
        return changed == 1

    def release(self, lease: Lease) -> bool:
        """End ``lease`` now, so any holder may claim the key; return whether it was still ours."""
        with self._database.transaction() as session:
            changed = session.execute(_RELEASE, (lease.key, lease.holder, lease.token))
        return changed == 1

    def list_leases(self) -> list[Lease]:
        """Return every lease row (live, expired or released), ordered by key."""
        with self._database.transaction(write=False) as session:
            rows = session.fetch_all(_LIST)
        return [_lease(row) for row in rows]

    def prune(self, ended_before: datetime) -> int:
        """Delete leases that ended before ``ended_before``; return how many went.

        A pruned key starts its token sequence again at 1, so ``ended_before`` must lie
        far enough back that no holder of those leases can still be working.
        """
        with self._database.transaction() as session:
            return session.execute(_PRUNE, (to_micros(ended_before),))


def _lease(row: dict[str, Any]) -> Lease:
    return Lease(
        key=str(row["lease_key"]),
        holder=str(row["holder"]),
        token=int(row["fencing_token"]),
        acquired_at=from_micros(int(row["acquired_at"])),
        expires_at=from_micros(int(row["expires_at"])),
    )
