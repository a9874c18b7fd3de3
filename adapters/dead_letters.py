"""Failed work: attempt bookkeeping, backoff gates and the dead-letter table.

A work item that fails gets a row in ``worker_attempts`` (how many failures, the last
error, and when it may be tried again). Success clears the row. When the failures reach
the worker's bound, the same transaction moves the item to ``dead_letters`` with status
``open`` and deletes its attempt row: from then on :meth:`DeadLetterStore.is_due` says no,
so no worker touches it again until an operator acts. ``retry`` marks the letter
``retried`` (the item is due at once, with a fresh attempt count); ``discard`` marks it
``discarded`` (the item stays blocked only if it is dead-lettered again). Letters are
never deleted: they are the audit trail of what went wrong.

A partial unique index allows one open letter per ``(worker, item_key)``, so two holders
that both exhaust an item (a lease outlived by a slow item) still leave a single letter.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypeAlias, cast

from adapters.database import Database, Session, from_micros, to_micros

DeadLetterStatus = Literal["open", "retried", "discarded"]
# A work item's payload: JSON without floats (amounts travel as integers or strings).
JsonValue: TypeAlias = str | int | bool | list["JsonValue"] | dict[str, "JsonValue"] | None

_FAIL = """
INSERT INTO worker_attempts
    (worker, item_key, attempts, next_attempt_at, last_error, first_failed_at)
VALUES (%s, %s, 1, %s, %s, %s)
ON CONFLICT (worker, item_key) DO UPDATE SET
    attempts = worker_attempts.attempts + 1,
    next_attempt_at = excluded.next_attempt_at,
    last_error = excluded.last_error
RETURNING attempts, first_failed_at
"""

_BURY = """
INSERT INTO dead_letters (id, worker, item_key, payload, attempts, last_error,
    first_failed_at, dead_at, status)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 'open')
ON CONFLICT (worker, item_key) WHERE status = 'open' DO NOTHING
"""

_CLEAR = "DELETE FROM worker_attempts WHERE worker = %s AND item_key = %s"

_ATTEMPT = """
SELECT worker, item_key, attempts, next_attempt_at, last_error, first_failed_at
FROM worker_attempts WHERE worker = %s AND item_key = %s
"""

_OPEN_LETTER = """
SELECT id FROM dead_letters WHERE worker = %s AND item_key = %s AND status = 'open'
"""

_LETTER_COLUMNS = """id, worker, item_key, payload, attempts, last_error, first_failed_at,
    dead_at, status"""

_RESOLVE = "UPDATE dead_letters SET status = %s WHERE id = %s AND status = 'open'"

_COUNTS = """
SELECT worker, COUNT(*) AS letters FROM dead_letters WHERE status = 'open' GROUP BY worker
"""


@dataclass(frozen=True)
class Attempts:
    """The failure record of an item that has failed but is still being retried."""

    worker: str
    item_key: str
    attempts: int
    next_attempt_at: datetime
    last_error: str
    first_failed_at: datetime


@dataclass(frozen=True)
class DeadLetter:
    """An item that exhausted its attempts, with what is needed to understand and redo it."""

    id: str
    worker: str
    item_key: str
    payload: Mapping[str, JsonValue]
    attempts: int
    last_error: str
    first_failed_at: datetime
    dead_at: datetime
    status: DeadLetterStatus


class DeadLetterNotFound(LookupError):
    """Raised when a letter id names no open dead letter."""

    reason = "dead_letter_not_found"


class DeadLetterStore:
    """Reads and writes ``worker_attempts`` and ``dead_letters``."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def record_failure(
        self,
        worker: str,
        item_key: str,
        *,
        payload: Mapping[str, JsonValue],
        error: str,
        now: datetime,
        next_attempt_at: datetime,
        max_attempts: int,
    ) -> int:
        """Count one more failure; at ``max_attempts`` dead-letter the item. Return the count."""
        with self._database.transaction() as session:
            # The upsert always returns exactly the one row it wrote.
            (row,) = session.fetch_all(
                _FAIL, (worker, item_key, to_micros(next_attempt_at), error, to_micros(now))
            )
            attempts = int(row["attempts"])
            if attempts >= max_attempts:
                letter = DeadLetter(
                    id=str(uuid.uuid4()),
                    worker=worker,
                    item_key=item_key,
                    payload=payload,
                    attempts=attempts,
                    last_error=error,
                    first_failed_at=from_micros(int(row["first_failed_at"])),
                    dead_at=now,
                    status="open",
                )
                _bury(session, letter)
        return attempts

    def attempts(self, worker: str, item_key: str) -> Attempts | None:
        """Return the failure record of an item being retried, or ``None``."""
        with self._database.transaction(write=False) as session:
            row = session.fetch_one(_ATTEMPT, (worker, item_key))
        return None if row is None else _attempts(row)

    def is_due(self, worker: str, item_key: str, now: datetime) -> bool:
        """Return whether the item may be worked on at ``now`` (not dead, not backing off)."""
        with self._database.transaction(write=False) as session:
            if session.fetch_one(_OPEN_LETTER, (worker, item_key)) is not None:
                return False
            row = session.fetch_one(_ATTEMPT, (worker, item_key))
        return row is None or int(row["next_attempt_at"]) <= to_micros(now)

    def clear(self, worker: str, item_key: str) -> None:
        """Forget the item's failures (it succeeded)."""
        with self._database.transaction() as session:
            session.execute(_CLEAR, (worker, item_key))

    def get(self, letter_id: str) -> DeadLetter | None:
        """Return one dead letter by id, whatever its status."""
        with self._database.transaction(write=False) as session:
            row = session.fetch_one(
                f"SELECT {_LETTER_COLUMNS} FROM dead_letters WHERE id = %s", (letter_id,)
            )
        return None if row is None else _letter(row)

    def list_open(self, worker: str | None = None) -> list[DeadLetter]:
        """Return the open dead letters, oldest first, of one worker or of all."""
        query = f"SELECT {_LETTER_COLUMNS} FROM dead_letters WHERE status = 'open'"
        params: tuple[str, ...] = ()
        if worker is not None:
            query += " AND worker = %s"
            params = (worker,)
        with self._database.transaction(write=False) as session:
            rows = session.fetch_all(query + " ORDER BY dead_at, id", params)
        return [_letter(row) for row in rows]

    def open_counts(self) -> dict[str, int]:
        """Return how many open dead letters each worker has (workers with none are absent)."""
        with self._database.transaction(write=False) as session:
            rows = session.fetch_all(_COUNTS)
        return {str(row["worker"]): int(row["letters"]) for row in rows}

    def retry(self, letter_id: str) -> bool:
        """Re-open an open letter's item for work with a fresh attempt count; return success."""
        with self._database.transaction() as session:
            row = session.fetch_one(
                f"SELECT {_LETTER_COLUMNS} FROM dead_letters WHERE id = %s AND status = 'open'",
                (letter_id,),
            )
            if row is None:
                return False
            session.execute(_RESOLVE, ("retried", letter_id))
            session.execute(_CLEAR, (row["worker"], row["item_key"]))
        return True

    def discard(self, letter_id: str) -> bool:
        """Close an open letter without redoing its item; return success."""
        with self._database.transaction() as session:
            return session.execute(_RESOLVE, ("discarded", letter_id)) == 1


def _bury(session: Session, letter: DeadLetter) -> None:
    # default=str: a payload that breaks its type still leaves a readable letter.
    document = json.dumps(dict(letter.payload), sort_keys=True, default=str)
    session.execute(
        _BURY,
        (
            letter.id,
            letter.worker,
            letter.item_key,
            document,
            letter.attempts,
            letter.last_error,
            to_micros(letter.first_failed_at),
            to_micros(letter.dead_at),
        ),
    )
    session.execute(_CLEAR, (letter.worker, letter.item_key))


def _attempts(row: dict[str, Any]) -> Attempts:
    return Attempts(
        worker=str(row["worker"]),
        item_key=str(row["item_key"]),
        attempts=int(row["attempts"]),
        next_attempt_at=from_micros(int(row["next_attempt_at"])),
        last_error=str(row["last_error"]),
        first_failed_at=from_micros(int(row["first_failed_at"])),
    )


def _letter(row: dict[str, Any]) -> DeadLetter:
    return DeadLetter(
        id=str(row["id"]),
        worker=str(row["worker"]),
        item_key=str(row["item_key"]),
        payload=json.loads(str(row["payload"])),
        attempts=int(row["attempts"]),
        last_error=str(row["last_error"]),
        first_failed_at=from_micros(int(row["first_failed_at"])),
        dead_at=from_micros(int(row["dead_at"])),
        status=cast("DeadLetterStatus", row["status"]),
    )
