"""Idempotency keys of unsafe requests (ARCHITECTURE.md section 8), in a plain table.

:meth:`IdempotencyStore.claim` inserts a ``pending`` row for (user, key) with the request's
hash; the primary key makes exactly one concurrent claimant win. A loser finds the row:

- another request hash: :class:`IdempotencyKeyReused` (422);
- ``pending``: the first request still runs, :class:`IdempotencyInProgress` (409);
- ``done``: the stored response, which the caller replays (``Idempotent-Replayed: true``).

The winner runs the request and :meth:`complete` stores its response, or :meth:`release`
deletes the claim when the request failed (the client may then retry with the same key).
A claim left ``pending`` by a crashed process is taken over after ``stale_after``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from adapters.database import Database, UniqueViolation, to_micros

KEY_MAX = 255


class IdempotencyKeyReused(Exception):
    """Raised when a key comes back with another request."""

    reason = "idempotency_key_reused"
    detail = "this Idempotency-Key was used with another request"


class IdempotencyInProgress(Exception):
    """Raised when the first request with this key has not finished."""

    reason = "idempotency_in_progress"
    detail = "a request with this Idempotency-Key is still running"


@dataclass(frozen=True)
class StoredResponse:
    """The first response to a key: its status and JSON body."""

    status: int
    body: Any


def request_hash(method: str, path: str, body: Any) -> str:
    """The SHA-256 of the method, path and canonical JSON body."""
    canonical = json.dumps([method, path, body], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class IdempotencyStore:
    """Claims and stored responses of idempotency keys."""

    def __init__(self, database: Database, stale_after: timedelta = timedelta(minutes=5)) -> None:
        self.database = database
        self.stale_after = stale_after

    def claim(self, user_id: str, key: str, digest: str, now: datetime) -> StoredResponse | None:
        """Claim ``key`` (``None``: run the request) or answer the stored response."""
        try:
            with self.database.transaction() as session:
                session.execute(
                    "INSERT INTO idempotency_keys (user_id, idempotency_key, request_hash,"
                    " status, created_at) VALUES (%s, %s, %s, 'pending', %s)",
                    (user_id, key, digest, to_micros(now)),
                )
            return None
        except UniqueViolation:
            pass
        with self.database.transaction() as session:
            row = session.fetch_one(
                "SELECT request_hash, status, response_status, response_body, created_at"
                " FROM idempotency_keys WHERE user_id = %s AND idempotency_key = %s",
                (user_id, key),
            )
            if row is None:  # released meanwhile: the client retries
                raise IdempotencyInProgress()
            if row["request_hash"] != digest:
                raise IdempotencyKeyReused()
            if row["status"] == "done":
                return StoredResponse(int(row["response_status"]), json.loads(row["response_body"]))
            stale = to_micros(now - self.stale_after)
            taken = session.execute(
                "UPDATE idempotency_keys SET created_at = %s WHERE user_id = %s"
                " AND idempotency_key = %s AND status = 'pending' AND created_at < %s",
                (to_micros(now), user_id, key, stale),
            )
            if taken != 1:
                raise IdempotencyInProgress()
            return None

    def complete(self, user_id: str, key: str, response: StoredResponse) -> None:
        """Store the response of a claimed key."""
        with self.database.transaction() as session:
            session.execute(
                "UPDATE idempotency_keys SET status = 'done', response_status = %s,"
                " response_body = %s WHERE user_id = %s AND idempotency_key = %s",
                (response.status, json.dumps(response.body), user_id, key),
            )

    def release(self, user_id: str, key: str) -> None:
        """Drop a pending claim whose request failed."""
        with self.database.transaction() as session:
            session.execute(
                "DELETE FROM idempotency_keys WHERE user_id = %s AND idempotency_key = %s"
                " AND status = 'pending'",
                (user_id, key),
            )
