"""Dead letters for operators (``/v1/admin/dead-letters``): list, retry, discard.

A dead letter is a work item that exhausted its attempts (``adapters/dead_letters.py``):
its worker, key, payload, attempt count and last error. Retrying re-opens the item with a
fresh attempt count (the worker picks it up at its next step); discarding closes the letter
without redoing the item. Both answer ``404 workers:dead-letter-not-found`` for an unknown
or already resolved letter. ``clash dead-letters`` does the same from the command line.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter

from adapters.bootstrap import Container
from adapters.dead_letters import DeadLetter, DeadLetterNotFound, DeadLetterStore
from api.deps import AdminUser, ContainerDep
from api.schemas.base import ApiModel

router = APIRouter(prefix="/v1/admin/dead-letters", tags=["admin"])


class DeadLetterPublic(ApiModel):
    """One dead letter."""

    id: str
    worker: str
    item_key: str
    payload: dict[str, Any]
    attempts: int
    last_error: str
    first_failed_at: datetime
    dead_at: datetime
    status: str

    @classmethod
    def of(cls, letter: DeadLetter) -> DeadLetterPublic:
        """Build from the store's letter."""
        return cls(
            id=letter.id,
            worker=letter.worker,
            item_key=letter.item_key,
            payload=dict(letter.payload),
            attempts=letter.attempts,
            last_error=letter.last_error,
            first_failed_at=letter.first_failed_at,
            dead_at=letter.dead_at,
            status=str(letter.status),
        )


class DeadLettersPage(ApiModel):
    """The open dead letters, oldest first."""

    data: list[DeadLetterPublic]


@router.get("")
def open_letters(
    _: AdminUser, container: ContainerDep, worker: str | None = None
) -> DeadLettersPage:
    """The open dead letters (of one worker with ``?worker=``), oldest first."""
    letters = DeadLetterStore(container.database).list_open(worker)
    return DeadLettersPage(data=[DeadLetterPublic.of(letter) for letter in letters])


@router.post("/{letter_id}/retry")
def retry(letter_id: str, _: AdminUser, container: ContainerDep) -> DeadLetterPublic:
    """Re-open the letter's item for work with a fresh attempt count."""
    return _resolved(container, letter_id, DeadLetterStore(container.database).retry)


@router.post("/{letter_id}/discard")
def discard(letter_id: str, _: AdminUser, container: ContainerDep) -> DeadLetterPublic:
    """Close the letter without redoing its item."""
    return _resolved(container, letter_id, DeadLetterStore(container.database).discard)


def _resolved(
    container: Container, letter_id: str, resolve: Callable[[str], bool]
) -> DeadLetterPublic:
    if not resolve(letter_id[:64]):
        raise DeadLetterNotFound(f"letter={letter_id[:64]}")
    letter = DeadLetterStore(container.database).get(letter_id)
    if letter is None:
        raise DeadLetterNotFound(f"letter={letter_id[:64]}")
    return DeadLetterPublic.of(letter)
