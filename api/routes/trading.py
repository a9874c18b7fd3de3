"""Trading routes: clone dry runs, decision rows of accounts, and the binding operator tool.

A dry run decides once, now, on the draft or a published version, against market memory
and a flat paper account: nothing is sent to any prop account, and the result is kept in
the dry-run debug table. Without a grant only the ``rules`` provider answers (no model is
called). Its model calls count in the model-usage read model like live ticks, and a spent
daily model budget holds it with ``budget_exhausted`` (``docs/model-usage.md``). Decision
rows are the trading audit of a bound account: its owner (or an admin) reads them, newest
tick first.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from fastapi import APIRouter, status

from adapters.bootstrap import Container
from adapters.database import from_micros, to_micros
from adapters.model_meter import Spender
from api.clone_access import known_assets, owned_clone, parse_clone_id, readable_clone
from api.deps import AdminUser, ContainerDep, CurrentUser
from api.pagination import BadCursor, Cursor, PageSize, decode_cursor, encode_cursor
from api.schemas.trading import (
    BindingPublic,
    BindRequest,
    DecisionPublic,
    DecisionsPublic,
    DryRunPublic,
    DryRunRequest,
    DryRunsPublic,
    UnbindRequest,
)
from domain.clones.clone import Clone
from domain.clones.errors import NoDraft, VersionNotFound
from domain.clones.graph import compile_graph, parse_graph
from domain.clones.tiers import Stage, guard
from domain.prop.errors import AccountNotFound
from domain.trading.spec import StrategySpec
from projections.prop_reads import PUBLIC_PURPOSES

router = APIRouter(
    tags=["trading"],
    responses={401: {"description": "Not signed in."}, 404: {"description": "Not found."}},
)
DRY_RUN_COLLATERAL = Decimal(10_000)


def _spec(container: Container, clone: Clone, body: DryRunRequest) -> tuple[StrategySpec, str]:
    if body.source == "version":
        number = body.version_number or len(clone.versions)
        if number < 1:
            raise VersionNotFound(f"clone={clone.id} has no published version")
        return container.clones.version_of(clone.id, number).spec, f"version:{number}"
    if clone.draft is None:
        raise NoDraft("the clone has no draft to dry-run")
    graph = parse_graph(clone.draft, known_assets=known_assets(container))
    return compile_graph(graph), "draft"


@router.post("/v1/clones/{clone_id}/dry-run", status_code=status.HTTP_201_CREATED, tags=["clones"])
def dry_run(
    clone_id: str, body: DryRunRequest, user: CurrentUser, container: ContainerDep
) -> DryRunPublic:
    """Decide once now on the draft or a version, touching no prop account."""
    clone = owned_clone(container, clone_id, user)
    spec, source = _spec(container, clone, body)
    grant = container.clones.effective_grant(clone.id)
    guard(spec.topology, stage=Stage.DRY_RUN, grant=grant, table=container.tiers)
    run_id, at = uuid4(), container.market_clock.now()
    spender = None if grant is None else Spender.of(clone.owner, clone.id, grant)
    ran = container.trading_engine.dry_run(
        spec, run_id=run_id, at=at, collateral=DRY_RUN_COLLATERAL, spender=spender
    )
    result, recorded = ran.document, container.service_clock.now()
    container.decisions.save_dry_run(
        run_id,
        clone_id=clone.id,
        owner=clone.owner,
        source=source,
        market_time=at,
        recorded_at=recorded,
        provider=result["provider"],
        result=result,
        usage=ran.usage,
    )
    row = {
        "run_id": str(run_id),
        "clone_id": str(clone.id),
        "source": source,
        "market_time": at,
        "recorded_at": recorded,
        "result": result,
    }
    return DryRunPublic.of(row)


@router.get("/v1/clones/{clone_id}/dry-runs", tags=["clones"])
def list_dry_runs(
    clone_id: str,
    user: CurrentUser,
    container: ContainerDep,
    limit: PageSize = 50,
    cursor: Cursor = None,
) -> DryRunsPublic:
    """The clone's dry runs, newest first."""
    clone = readable_clone(container, clone_id, user)
    before = decode_cursor(cursor, list)
    if before is not None and not _is_run_cursor(before):
        raise BadCursor()
    rows = container.decisions.dry_runs(
        clone.id, before=None if before is None else (before[0], before[1]), limit=limit
    )
    last = None
    if len(rows) == limit:
        last = encode_cursor([to_micros(rows[-1]["recorded_at"]), rows[-1]["run_id"]])
    return DryRunsPublic(data=[DryRunPublic.of(r) for r in rows], next_cursor=last)


def _is_run_cursor(value: list[object]) -> bool:
    return (
        len(value) == 2
        and isinstance(value[0], int)
        and not isinstance(value[0], bool)
        and isinstance(value[1], str)
    )


@router.get("/v1/prop-accounts/{account_id}/decisions", tags=["prop"])
def list_decisions(
    account_id: str,
    user: CurrentUser,
    container: ContainerDep,
    limit: PageSize = 100,
    cursor: Cursor = None,
) -> DecisionsPublic:
    """The account's decision rows (every tick, holds included), newest first.

    Access is checked on the account itself (owner, admin, or a public purpose), not on a
    read model, so a just-opened account's owner is never told it does not exist.
    """
    account = container.prop.account(_uuid(account_id))
    public = account.purpose in PUBLIC_PURPOSES
    if not (public or user.is_admin or account.owner == user.id):
        raise AccountNotFound(f"account={account_id}")
    before = decode_cursor(cursor, int)
    rows = container.decisions.page(
        account.id, before=None if before is None else from_micros(before), limit=limit
    )
    last = encode_cursor(to_micros(rows[-1]["tick_at"])) if len(rows) == limit else None
    return DecisionsPublic(data=[DecisionPublic.of(r) for r in rows], next_cursor=last)


@router.post("/v1/admin/trading/bindings", status_code=status.HTTP_201_CREATED, tags=["admin"])
def bind_account(body: BindRequest, _: AdminUser, container: ContainerDep) -> BindingPublic:
    """Bind an account to a published clone version (idempotent on the same terms)."""
    account_id, clone_id = _uuid(body.account_id), parse_clone_id(body.clone_id)
    container.prop.account(account_id)  # must exist
    container.clones.require_eligible(clone_id)
    version = container.clones.version_of(clone_id, body.version_number)
    starts = body.starts_at or container.market_clock.now()
    binding = container.trading.bind(
        account_id,
        version,
        version.id,
        purpose=body.purpose,
        starts_at=starts,
        ends_at=body.ends_at,
        allow_concurrent=body.allow_concurrent,
    )
    return _binding(account_id, binding.terms, binding.active)


@router.post("/v1/admin/trading/bindings/{account_id}/unbind", tags=["admin"])
def unbind_account(
    account_id: str, body: UnbindRequest, _: AdminUser, container: ContainerDep
) -> BindingPublic:
    """End the account's binding (idempotent)."""
    account = _uuid(account_id)
    container.trading.unbind(account, reason=body.reason)
    binding = container.trading.binding(account)
    if binding is None:
        raise AccountNotFound(f"account={account_id} was never bound")
    return _binding(account, binding.terms, binding.active)


def _uuid(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise AccountNotFound(f"id={text!r} is not a UUID") from None


def _binding(account_id: UUID, terms: dict[str, Any], active: bool) -> BindingPublic:
    window: list[str | None] = terms["window"]
    start, end = window
    return BindingPublic(
        account_id=str(account_id),
        version_id=str(terms["version_id"]),
        clone_id=str(terms["clone_id"]),
        purpose=str(terms["purpose"]),
        starts_at=datetime.fromisoformat(str(start)),
        ends_at=None if end is None else datetime.fromisoformat(end),
        active=active,
    )
