"""Who may touch which clone, and what the clone routes share.

Object-level access in one place (API1/BOLA): a clone id that does not parse, names no
clone, or names another user's clone answers the same ``404 clones:clone-not-found``, so
ids cannot be probed. Owners write; owners and admins read; the public reads only
published, non-retired profiles. Also here: the read models' dependency, the assets a
graph may trade (the registry's listed assets at the market clock's now) and the request
body of a draft, parsed with JSON numbers as decimals (a graph's thresholds and fractions
must keep the digits the user typed, so they never pass through a float).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from adapters.bootstrap import Container
from api.schemas.clones import DraftSave
from domain.clones.clone import Clone
from domain.clones.errors import CloneNotFound
from domain.identity.model import User
from projections.clones_queries import ClonesQueries

After = Annotated[int | None, Query(ge=0, description="Wait until this log position is read.")]


def clones_queries(request: Request) -> ClonesQueries:
    """The clones read models of this app (built with it)."""
    found: ClonesQueries = request.app.state.clones_queries
    return found


ClonesQueriesDep = Annotated[ClonesQueries, Depends(clones_queries)]


def parse_clone_id(raw: str) -> UUID:
    """Parse a clone id from a path; a malformed one is simply not found."""
    try:
        return UUID(raw)
    except ValueError:
        raise CloneNotFound(f"clone={raw[:64]}") from None


def owned_clone(container: Container, raw_id: str, user: User) -> Clone:
    """The caller's own clone (for writes an admin is just another user: not found)."""
    clone = container.clones.clone(parse_clone_id(raw_id))
    if clone.owner != user.id:
        raise CloneNotFound(f"clone={raw_id}")
    return clone


def readable_clone(container: Container, raw_id: str, user: User) -> Clone:
    """The clone if the caller owns it or is an admin."""
    clone = container.clones.clone(parse_clone_id(raw_id))
    if clone.owner != user.id and not user.is_admin:
        raise CloneNotFound(f"clone={raw_id}")
    return clone


def known_assets(container: Container) -> frozenset[str]:
    """The assets a market node may name: listed in the registry at the market's now."""
    now = container.market_clock.now()
    return frozenset(i.name for i in container.assets.instruments(now) if not i.spec.delisted)


async def _decimal_json(request: Request) -> Any:
    try:
        return json.loads(await request.body(), parse_float=Decimal)
    except (ValueError, RecursionError):
        raise RequestValidationError(
            [{"type": "json_invalid", "loc": ("body",), "msg": "the body is not JSON"}]
        ) from None


def draft_body(document: Annotated[Any, Depends(_decimal_json)]) -> DraftSave:
    """The draft request body, validated as :class:`DraftSave`."""
    try:
        return DraftSave.model_validate(document)
    except ValidationError as exc:
        errors = [{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]
        raise RequestValidationError(errors) from None


DRAFT_OPENAPI = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": DraftSave.model_json_schema(by_alias=True)}},
    }
}
