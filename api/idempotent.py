"""Running an unsafe request once per ``Idempotency-Key`` (ARCHITECTURE.md section 8).

The same key and body replay the first response with ``Idempotent-Replayed: true``;
another body answers ``422 request:idempotency-key-reused``; a duplicate while the first
runs ``409 request:idempotency-in-progress``; a request that fails frees its key.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Header, Request
from fastapi.responses import JSONResponse

from adapters.bootstrap import Container
from adapters.idempotency import IdempotencyStore, StoredResponse, request_hash

IdempotencyKey = Annotated[
    str, Header(alias="Idempotency-Key", min_length=1, max_length=255, pattern=r"^[\x21-\x7e]+$")
]


def once(
    container: Container,
    request: Request,
    user_id: str,
    key: str,
    body: Any,
    produce: Callable[[], StoredResponse],
) -> JSONResponse:
    """Answer ``produce()`` the first time, its stored answer on an identical replay."""
    store = IdempotencyStore(container.database)
    digest = request_hash("POST", request.url.path, body)
    stored = store.claim(user_id, key, digest, container.service_clock.now())
    if stored is not None:
        return JSONResponse(
            stored.body, status_code=stored.status, headers={"Idempotent-Replayed": "true"}
        )
    try:
        answer = produce()
    except BaseException:
        store.release(user_id, key)
        raise
    store.complete(user_id, key, answer)
    return JSONResponse(answer.body, status_code=answer.status)
