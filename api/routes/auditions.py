"""Auditions (``/v1/auditions``): submit a paid audition, follow it, retry it; admins void.

Every route is the owner's own: a foreign or unknown audition is
``404 lifecycle:audition-not-found``. Submitting records the intent and answers ``202``
with the audition in state ``starting``; the auditions worker performs the steps (attempt,
prop account, binding, window) and judges the run on every mark. Submitting the same
purchase again answers the audition it already made (``200``).
"""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse

from adapters.bootstrap import Container
from adapters.database import to_micros
from api.clone_access import owned_clone
from api.deps import AdminUser, ContainerDep, CurrentUser
from api.pagination import Cursor, PageSize, decode_cursor, encode_cursor
from api.schemas.auditions import (
    AuditionCreate,
    AuditionPublic,
    AuditionsPage,
    AuditionSummary,
    AuditionVoid,
)
from domain.clones.errors import VersionNotFound
from domain.economy.purchases import NoAttemptsLeft, PurchaseNotFound
from domain.lifecycle.audition import (
    Audition,
    AuditionNotFound,
    PurchaseMismatch,
)
from projections.auditions import AuditionsProjection, auditions_of
from projections.runner import ProjectionRunner

router = APIRouter(tags=["auditions"], responses={401: {"description": "Not signed in."}})


@router.post(
    "/v1/auditions",
    status_code=status.HTTP_202_ACCEPTED,
    responses={200: {"model": AuditionPublic, "description": "Already submitted."}},
)
def submit(body: AuditionCreate, user: CurrentUser, container: ContainerDep) -> JSONResponse:
    """Submit an audition of one of the caller's clone versions, paid by a purchase."""
    clone = owned_clone(container, body.clone_id, user)
    container.clones.require_eligible(clone.id)
    version_id = _uuid(body.version_id, VersionNotFound(f"version={body.version_id[:64]}"))
    purchase_id = _uuid(body.purchase_id, PurchaseNotFound(f"purchase={body.purchase_id[:64]}"))
    purchase = container.economy.purchase_of(user.id, purchase_id)
    if purchase.clone_id != clone.id or purchase.version_id != version_id:
        raise PurchaseMismatch(purchase=str(purchase_id), clone=str(clone.id))
    audition, created = container.lifecycle.submit(
        UUID(purchase.audition_id),
        user_id=user.id,
        clone_id=clone.id,
        version_id=version_id,
        purchase_id=purchase.id,
        tier=purchase.tier,
    )
    document = _public(container, audition).model_dump(mode="json", by_alias=True)
    code = status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK
    return JSONResponse(document, status_code=code)


@router.get("/v1/auditions")
def list_auditions(
    user: CurrentUser, container: ContainerDep, limit: PageSize = 50, cursor: Cursor = None
) -> AuditionsPage:
    """The caller's auditions, newest first."""
    _catch_up(container)
    before = decode_cursor(cursor, int)
    rows = auditions_of(container.database, user.id, before=before, limit=limit)
    more = len(rows) == limit
    return AuditionsPage(
        data=[AuditionSummary.of(r) for r in rows],
        next_cursor=encode_cursor(to_micros(rows[-1].submitted_at)) if more else None,
    )


@router.get("/v1/auditions/{audition_id}")
def get_audition(audition_id: str, user: CurrentUser, container: ContainerDep) -> AuditionPublic:
    """One of the caller's auditions: state, rules, live progress against each, metrics."""
    return _public(container, _owned(container, audition_id, user.id))


@router.post("/v1/auditions/{audition_id}/retry", responses={409: {"description": "No retry."}})
def retry(audition_id: str, user: CurrentUser, container: ContainerDep) -> AuditionPublic:
    """Start a new run of a failed or abandoned audition (the old run is kept).

    Only once the run ended (``409 lifecycle:audition-conflict``), while the audition has a
    paid attempt left (its purchase paid for 1 + the tier's
    retries: ``409 lifecycle:audition-retries-used``) and the clone holds one
    (``409 economy:no-attempts-left``).
    """
    audition = _owned(container, audition_id, user.id)
    audition.require_retryable()
    _, remaining = container.economy.attempts(audition.clone_id)
    if remaining <= 0:
        raise NoAttemptsLeft(f"clone={audition.clone_id}")
    container.lifecycle.retry(audition.id, user.id)
    return _public(container, container.lifecycle.audition(audition.id))


@router.post("/v1/admin/auditions/{audition_id}/void", tags=["admin"])
def void(
    audition_id: str, body: AuditionVoid, admin: AdminUser, container: ContainerDep
) -> AuditionPublic:
    """Void an audition: its run stops and its fee is refunded (a signed withdrawal)."""
    audition = _owned(container, audition_id, None)
    container.lifecycle.void(audition.id, reason=body.reason, voided_by=f"admin:{admin.id}")
    return _public(container, container.audition_process.advance(audition.id))


def _owned(container: Container, audition_id: str, user_id: str | None) -> Audition:
    found = _uuid(audition_id, AuditionNotFound(audition=audition_id[:64]))
    return container.lifecycle.audition(found, user_id)


def _public(container: Container, audition: Audition) -> AuditionPublic:
    return AuditionPublic.of(audition, container.audition_evaluation.progress(audition))


def _catch_up(container: Container) -> None:
    ProjectionRunner(
        container.database,
        container.lifecycle,
        AuditionsProjection(),
        container.service_clock.now,
    ).catch_up()


def _uuid(value: str, error: Exception) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise error from None
