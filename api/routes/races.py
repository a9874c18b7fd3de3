"""Races (``/v1/races``), careers and the Hall of Fame: public reads; admins cancel.

- ``GET /v1/races?state=`` and ``GET /v1/races/{id}``: a race's state, frozen configuration,
  instants, entrants; while launched or live, standings of the race accounts valued at the
  latest marks; once settling, the end-instant snapshots; once settled, the results.
- ``GET /v1/clones/{id}/career``: a public clone's career (or a Hall of Famer's).
- ``GET /v1/hall-of-fame``: Arena-retired clones (never moderation-retired ones) with at
  least ``CLASH_HALL_OF_FAME_MIN_RACES`` settled races and ``..._MIN_PODIUMS`` podiums.
- ``POST /v1/admin/races/{id}/cancel {reason}``: before the race goes live.
- ``GET /v1/admin/races/{id}/settlement``: a settled race's pool rows (every payment).
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query

from adapters.account_marks import value_at
from adapters.bootstrap import Container
from api.clone_access import parse_clone_id
from api.deps import AdminUser, ContainerDep
from api.pagination import Cursor, PageSize, decode_cursor, encode_cursor
from api.schemas.races import (
    CareerPublic,
    Entrant,
    HallOfFame,
    HallOfFamer,
    RaceCancel,
    RacePublic,
    RacesPage,
    RaceSummary,
    Standing,
    result_documents,
)
from domain.clones.errors import CloneNotFound
from domain.lifecycle.race import Race, RaceNotFound, RaceState
from projections.races import RacesProjection, career, careers, races
from projections.runner import ProjectionRunner

router = APIRouter(tags=["races"])
StateFilter = Annotated[RaceState | None, Query(description="Only races in this state.")]
STEP = Decimal("0.000001")


@router.get("/v1/races", tags=["public"])
def list_races(
    container: ContainerDep, state: StateFilter = None, limit: PageSize = 50, cursor: Cursor = None
) -> RacesPage:
    """Races, newest first."""
    _catch_up(container)
    rows = races(
        container.database,
        state=None if state is None else state.value,
        before=decode_cursor(cursor, int),
        limit=limit,
    )
    more = len(rows) == limit
    return RacesPage(
        data=[RaceSummary.of(r) for r in rows],
        next_cursor=encode_cursor(rows[-1].slot) if more else None,
    )


@router.get("/v1/races/{race_id}", tags=["public"])
def get_race(race_id: str, container: ContainerDep) -> RacePublic:
    """One race: entrants, live standings, results."""
    race = container.lifecycle.race(_race_id(race_id))
    live = race.state in (RaceState.LAUNCHED, RaceState.LIVE)
    return RacePublic(
        id=str(race.id),
        slot=race.slot,
        state=race.state.value,
        reason=race.reason,
        config=race.config_document,
        launch_at=race.launch_at,
        live_at=race.live_at,
        ends_at=race.ends_at,
        entrants=[_entrant(container, race, e) for e in race.entrants],
        standings=_standings(container, race) if live else None,
        results=result_documents(race.results or race.snapshots) or None,
        struck_out=race.struck_out,
        settlement=race.settlement or None,
    )


@router.get("/v1/clones/{clone_id}/career", tags=["public"])
def clone_career(clone_id: str, container: ContainerDep) -> CareerPublic:
    """A public clone's career in races (zeros before its first settled race)."""
    clone = container.clones.clone(parse_clone_id(clone_id))
    retired = str(clone.id) in container.competition.membership().retired_clones
    if not (clone.is_public or (retired and not clone.is_retired)):
        raise CloneNotFound(f"clone={clone_id}")
    _catch_up(container)
    found = career(container.database, str(clone.id))
    if found is None:
        return CareerPublic(
            clone_id=str(clone.id),
            races=0,
            wins=0,
            podiums=0,
            dnfs=0,
            strikes=0,
            average_return=None,
            best_return=None,
            worst_drawdown=None,
            best_races=[],
        )
    return CareerPublic.of(found)


@router.get("/v1/hall-of-fame", tags=["public"])
def hall_of_fame(container: ContainerDep) -> HallOfFame:
    """Arena-retired clones whose careers meet the bar, with their best races."""
    _catch_up(container)
    settings = container.settings
    retired = container.competition.membership().retired_clones
    members = []
    for clone_id in careers(container.database):
        if clone_id not in retired:
            continue
        clone = container.clones.clone(UUID(clone_id))
        found = career(container.database, clone_id)
        if clone.is_retired or found is None:
            continue  # moderation-retired clones never enter
        if found.races < settings.hall_of_fame_min_races:
            continue
        if found.podiums < settings.hall_of_fame_min_podiums:
            continue
        name = clone.profile["name"] if clone.profile else clone.name
        members.append(HallOfFamer(clone_id=clone_id, name=name, career=CareerPublic.of(found)))
    return HallOfFame(
        min_races=settings.hall_of_fame_min_races,
        min_podiums=settings.hall_of_fame_min_podiums,
        members=members,
    )


@router.get("/v1/admin/races/{race_id}/settlement", tags=["admin"])
def race_settlement(race_id: str, _: AdminUser, container: ContainerDep) -> dict[str, Any]:
    """A settled race's pool rows: every payout, refund and creator share (wallets included)."""
    found = _race_id(race_id)
    rows = container.lifecycle.pool_settlement(found)
    if rows is None:
        raise RaceNotFound(race=race_id[:64], settlement="none recorded")
    return rows


@router.post("/v1/admin/races/{race_id}/cancel", tags=["admin"])
def cancel_race(
    race_id: str, body: RaceCancel, admin: AdminUser, container: ContainerDep
) -> RacePublic:
    """Cancel a race that has not gone live; a launched one is unwound at once."""
    found = _race_id(race_id)
    container.races.cancel(found, reason=body.reason, by=f"admin:{admin.id}")
    return get_race(str(found), container)


def _entrant(container: Container, race: Race, entrant: dict[str, str]) -> Entrant:
    try:
        clone = container.clones.clone(UUID(entrant["clone_id"]))
        name = clone.profile["name"] if clone.is_public and clone.profile else None
    except CloneNotFound:
        name = None
    return Entrant(
        entry_id=entrant["entry_id"],
        clone_id=entrant["clone_id"],
        clone_name=name,
        version_id=entrant["version_id"],
        account_id=race.accounts.get(entrant["entry_id"]),
    )


def _standings(container: Container, race: Race) -> list[Standing]:
    now = container.market_clock.now()
    starting = Decimal(race.config.collateral_micros) / 1_000_000
    valued = []
    for entrant in race.entrants:
        account_id = race.accounts.get(entrant["entry_id"])
        if account_id is None:
            continue
        account = container.prop.account(UUID(account_id))
        equity = value_at(account, container.market, container.assets, now).account_value
        valued.append((entrant, equity))
    valued.sort(key=lambda pair: (-pair[1], pair[0]["entry_id"]))
    return [
        Standing(
            entry_id=e["entry_id"],
            clone_id=e["clone_id"],
            position=n,
            equity=str(equity),
            total_return=str((equity / starting - 1).quantize(STEP, rounding=ROUND_HALF_EVEN)),
        )
        for n, (e, equity) in enumerate(valued, 1)
    ]


def _catch_up(container: Container) -> None:
    ProjectionRunner(
        container.database, container.lifecycle, RacesProjection(), container.service_clock.now
    ).catch_up()


def _race_id(value: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise RaceNotFound(race=value[:64]) from None
