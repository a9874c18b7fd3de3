"""Attempt bookkeeping and the dead-letter table behave the same on both stores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from adapters.database import Database
from adapters.dead_letters import DeadLetterStore, JsonValue

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PAYLOAD: dict[str, JsonValue] = {"user_id": "u1", "amount_micros": 5_000_000}


def fail(
    store: DeadLetterStore,
    now: datetime,
    *,
    key: str = "item-1",
    wait: timedelta = timedelta(seconds=10),
    max_attempts: int = 3,
) -> int:
    return store.record_failure(
        "payouts",
        key,
        payload=PAYLOAD,
        error=f"boom at {now.isoformat()}",
        now=now,
        next_attempt_at=now + wait,
        max_attempts=max_attempts,
    )


def test_record_failure_counts_attempts_and_gates_the_next_one(database: Database) -> None:
    store = DeadLetterStore(database)
    assert fail(store, T0) == 1
    assert store.is_due("payouts", "item-1", T0 + timedelta(seconds=9)) is False
    assert store.is_due("payouts", "item-1", T0 + timedelta(seconds=10)) is True
    assert fail(store, T0 + timedelta(seconds=10)) == 2
    attempts = store.attempts("payouts", "item-1")
    assert attempts is not None
    assert attempts.attempts == 2
    assert attempts.first_failed_at == T0
    assert attempts.next_attempt_at == T0 + timedelta(seconds=20)


def test_item_never_failed_is_due(database: Database) -> None:
    assert DeadLetterStore(database).is_due("payouts", "fresh", T0) is True


def test_clear_forgets_the_failures(database: Database) -> None:
    store = DeadLetterStore(database)
    fail(store, T0)
    store.clear("payouts", "item-1")
    assert store.attempts("payouts", "item-1") is None
    assert store.is_due("payouts", "item-1", T0) is True


def test_item_is_dead_lettered_at_the_bound_and_never_due_again(database: Database) -> None:
    store = DeadLetterStore(database)
    for n in range(3):
        fail(store, T0 + timedelta(minutes=n))
    [letter] = store.list_open()
    assert (letter.worker, letter.item_key, letter.attempts, letter.status) == (
        "payouts",
        "item-1",
        3,
        "open",
    )
    assert letter.payload == PAYLOAD
    assert letter.first_failed_at == T0
    assert letter.dead_at == T0 + timedelta(minutes=2)
    assert "boom" in letter.last_error
    assert store.attempts("payouts", "item-1") is None
    assert store.is_due("payouts", "item-1", T0 + timedelta(days=365)) is False
    assert store.open_counts() == {"payouts": 1}


def test_retry_reopens_the_item_with_a_fresh_count(database: Database) -> None:
    store = DeadLetterStore(database)
    for n in range(3):
        fail(store, T0 + timedelta(minutes=n))
    [letter] = store.list_open()
    assert store.retry(letter.id) is True
    assert store.list_open() == []
    retried = store.get(letter.id)
    assert retried is not None
    assert retried.status == "retried"
    assert store.is_due("payouts", "item-1", T0 + timedelta(minutes=3)) is True
    assert fail(store, T0 + timedelta(minutes=3)) == 1
    assert store.retry(letter.id) is False


def test_item_can_die_again_after_a_retry(database: Database) -> None:
    store = DeadLetterStore(database)
    for n in range(3):
        fail(store, T0 + timedelta(minutes=n))
    store.retry(store.list_open()[0].id)
    for n in range(3):
        fail(store, T0 + timedelta(hours=1, minutes=n))
    assert [letter.status for letter in store.list_open()] == ["open"]


def test_discard_closes_the_letter(database: Database) -> None:
    store = DeadLetterStore(database)
    fail(store, T0, max_attempts=1)
    [letter] = store.list_open("payouts")
    assert store.discard(letter.id) is True
    assert store.discard(letter.id) is False
    assert store.list_open() == []
    assert store.open_counts() == {}


def test_list_open_filters_by_worker_and_counts_per_worker(database: Database) -> None:
    store = DeadLetterStore(database)
    fail(store, T0, key="a", max_attempts=1)
    fail(store, T0 + timedelta(seconds=1), key="b", max_attempts=1)
    store.record_failure(
        "mailer",
        "m",
        payload={},
        error="smtp down",
        now=T0,
        next_attempt_at=T0,
        max_attempts=1,
    )
    assert [letter.item_key for letter in store.list_open("payouts")] == ["a", "b"]
    assert store.open_counts() == {"payouts": 2, "mailer": 1}


def test_unknown_letter_cannot_be_retried_or_discarded(database: Database) -> None:
    store = DeadLetterStore(database)
    assert store.retry("no-such-id") is False
    assert store.discard("no-such-id") is False
    assert store.get("no-such-id") is None
