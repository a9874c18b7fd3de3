"""Races end to end on the replay feed and a simulated clock, on both stores.

Four EMA trend followers with different parameters hold the Arena; every worker steps in order
at each 5-minute mark (feed, trading, marks, auditions, arena, races), so two races of an
hour each run in seconds. Standings and results are checked against an independent
recomputation from each race account's fills, funding and the end marks.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from uuid import UUID

import pytest

from adapters.bootstrap import Container
from adapters.market_quotes import quote
from adapters.process_states import process_states
from domain.prop.money import micros_to_decimal
from projections.catalog import runners
from tests.api.clones_kit import admin
from tests.api.conftest import assert_problem
from tests.workers.audition_kit import AuditionWorld, audition_world
from tests.workers.race_kit import racer
from workers.arena import ArenaWorker
from workers.races import RaceWorker
from workers.runtime import Runtime

RACES = {
    "arena_capacity": 4,
    "race_cadence_seconds": 7200,
    "race_ticket_window_seconds": 600,
    "race_launch_gap_seconds": 300,
    "race_duration_seconds": 3600,
    "race_retention_seconds": 3600,
}
VARIANTS = (("BTC", 12, 26), ("ETH", 12, 26), ("SOL", 5, 20), ("BTC", 5, 35))
REVERTS = (False, True, False, True)
STEP = Decimal("0.000001")
WARM_UP = 720  # market minutes: the bundled data's first hours hold decisions as stale


@pytest.fixture
def arena(database_url: str) -> Iterator[AuditionWorld]:
    with audition_world(database_url, extra=(ArenaWorker, RaceWorker), settings=RACES) as world:
        world.run(WARM_UP)
        for n, (variant, revert) in enumerate(zip(VARIANTS, REVERTS, strict=True)):
            racer(world, f"Racer {n}", variant, f"1.{n}", revert=revert)
        yield world


def recomputed_equity(
    container: Container, account_id: UUID, at: datetime, *, including_at: bool = False
) -> Decimal:
    """Collateral plus realized PnL, fees and funding from the account's events before ``at``
    (or at it, for a live standing), plus the open position valued at the mark of ``at``; no
    valuation code of ours."""
    events = [
        e
        for e in container.prop.repository.event_store.get(account_id)
        if e.timestamp < at or (including_at and e.timestamp == at)
    ]
    cash = micros_to_decimal(container.prop.account(account_id).opening_micros)
    size, entry, asset = Decimal(0), None, None
    for event in events:
        name = type(event).__name__
        if name == "OrderFilled":
            cash += micros_to_decimal(event.realized_pnl_micros - event.fee_micros)
            size, entry, asset = event.position_size, event.position_entry, event.asset
        elif name == "FundingApplied":  # a positive payment is paid by the account
            cash -= micros_to_decimal(event.payment_micros)
    if size == 0 or asset is None or entry is None:
        return cash
    return cash + size * (quote(container.market, asset, at).mark - entry)


def test_two_races_run_settle_and_match_a_recomputation_from_the_fills(
    arena: AuditionWorld,
) -> None:
    container = arena.world.container
    arena.run(60)
    listed = arena.client.get("/v1/races").json()["data"]
    assert [r["state"] for r in listed] == ["live"]
    first = arena.client.get(f"/v1/races/{listed[0]['id']}").json()
    assert len(first["entrants"]) == 4
    standings = first["standings"]
    now = container.market_clock.now()
    expected = {
        s["entryId"]: recomputed_equity(container, UUID(e["accountId"]), now, including_at=True)
        for s in standings
        for e in first["entrants"]
        if e["entryId"] == s["entryId"]
    }
    assert {s["entryId"]: Decimal(s["equity"]) for s in standings} == expected
    assert [Decimal(s["equity"]) for s in standings] == sorted(expected.values(), reverse=True)

    arena.run(240)

    listed = arena.client.get("/v1/races").json()["data"]
    settled = [r for r in listed if r["state"] in ("settled", "archived")]
    assert len(settled) == 2
    assert [r["state"] for r in listed if r not in settled] == ["live"]  # the third race
    live_only = arena.client.get("/v1/races", params={"state": "live"}).json()["data"]
    assert [r["id"] for r in live_only] == [r["id"] for r in listed if r not in settled]
    bad = arena.client.get("/v1/races", params={"state": "finished"})
    assert_problem(bad, 422, "validation-error")
    unknown = arena.client.get("/v1/races/00000000-0000-0000-0000-000000000000")
    assert_problem(unknown, 404, "races:race-not-found")
    for summary in settled:
        race = arena.client.get(f"/v1/races/{summary['id']}").json()
        ends = datetime.fromisoformat(race["endsAt"])
        results = race["results"]
        assert len(results) == 4
        for result in results:
            account = UUID(result["accountId"])
            equity = recomputed_equity(container, account, ends)
            assert Decimal(result["equity"]) == equity
            assert Decimal(result["totalReturn"]) == (equity / 10_000 - 1).quantize(
                STEP, rounding=ROUND_HALF_EVEN
            )
            fills = [
                e
                for e in container.prop.repository.event_store.get(account)
                if type(e).__name__ == "OrderFilled" and e.timestamp < ends
            ]
            assert result["trades"] == len(fills)
            binding = container.trading.binding(account)
            assert binding is not None
            assert not binding.active
        finishers = [r for r in results if r["dnf"] is None]
        ordered = sorted(finishers, key=lambda r: (-Decimal(r["equity"]), r["maxDrawdownPct"]))
        assert [r["entryId"] for r in finishers] == [r["entryId"] for r in ordered]
        assert finishers[0]["rank"] == 1
    careers = [
        arena.client.get(f"/v1/clones/{r['cloneId']}/career").json()
        for r in arena.client.get(f"/v1/races/{settled[0]['id']}").json()["results"]
    ]
    assert all(c["races"] == 2 for c in careers)
    assert sum(c["wins"] for c in careers) >= 2


def test_two_schedulers_and_a_restart_make_one_race_per_slot(arena: AuditionWorld) -> None:
    container = arena.world.container
    arena.run(10)
    runtimes = [Runtime(container.database, arena.world.service, holder=f"s{n}") for n in (1, 2)]
    others = [RaceWorker(container), RaceWorker(container)]

    for _ in range(30):  # another two schedulers, a fresh one each time (a restart)
        arena.run(5)
        for runtime, worker in zip(runtimes, others, strict=True):
            runtime.step(worker)
        others[1] = RaceWorker(container)

    races = arena.client.get("/v1/races").json()["data"]
    assert len({r["slot"] for r in races}) == len(races) == 2
    accounts = []
    for summary in races:
        race = arena.client.get(f"/v1/races/{summary['id']}").json()
        accounts += [e["accountId"] for e in race["entrants"]]
    assert len(set(accounts)) == len(accounts) == 8
    for runner in runners(container, ["prop_ledger"]):
        runner.catch_up()
    with container.database.transaction(write=False) as session:
        rows = session.fetch_all("SELECT account_id FROM prop_accounts_view WHERE purpose = 'race'")
    assert sorted(r["account_id"] for r in rows) == sorted(accounts)
    # Nothing is overdue now; were the races worker to stop for a day, both would be.
    for runner in runners(container, ["races"]):
        runner.catch_up()
    grace = timedelta(minutes=15)
    now = process_states(container.database, container.market_clock.now(), grace)
    stopped = process_states(
        container.database, container.market_clock.now() + timedelta(days=1), grace
    )
    still_open = [r for r in races if r["state"] in ("accumulating", "launched", "live")]
    assert still_open
    assert (now.races_open, now.races_overdue) == (len(still_open), 0)
    assert (stopped.races_open, stopped.races_overdue) == (len(still_open), len(still_open))


def test_an_admin_cancels_a_launched_race_and_the_arena_trades_again(
    arena: AuditionWorld,
) -> None:
    container = arena.world.container
    arena.run(10)  # launched (10 minutes of tickets), not yet live (at 15)
    race = arena.client.get("/v1/races").json()["data"][0]
    assert race["state"] == "launched"
    url = f"/v1/admin/races/{race['id']}/cancel"

    cancelled = arena.client.post(url, headers=admin(arena.client), json={"reason": "feed"})

    assert cancelled.status_code == 200, cancelled.text
    body = cancelled.json()
    assert (body["state"], body["reason"]) == ("cancelled", "feed")
    for entrant in body["entrants"]:
        binding = container.trading.binding(UUID(entrant["accountId"]))
        assert binding is not None
        assert not binding.active
    members = arena.client.get("/v1/arena").json()["members"]
    for member in members:
        arena_binding = container.trading.binding(UUID(member["accountId"]))
        assert arena_binding is not None
        assert arena_binding.pauses == []
    again = arena.client.post(url, headers=admin(arena.client), json={"reason": "twice"})
    assert_problem(again, 409, "races:race-transition-refused")


def test_strikes_retire_a_clone_and_the_queue_refills_its_slot(database_url: str) -> None:
    settings = {
        **RACES,
        "race_strikes_to_retire": 1,
        "race_entrants": 2,
        "hall_of_fame_min_races": 1,
        "hall_of_fame_min_podiums": 0,
    }
    with audition_world(
        database_url, extra=(ArenaWorker, RaceWorker), settings={**settings, "arena_capacity": 2}
    ) as world:
        world.run(WARM_UP)
        strikers = [("BTC", 5, 20), ("ETH", 5, 20), ("SOL", 5, 20)]
        clones = [
            racer(world, f"Striker {n}", v, f"{3 - n}", revert=n == 1)
            for n, v in enumerate(strikers)
        ]
        world.run(5)
        first_members = {m["cloneId"] for m in world.client.get("/v1/arena").json()["members"]}
        assert first_members == set(clones[:2])

        world.run(90)

        race = world.client.get("/v1/races").json()["data"][0]
        body = world.client.get(f"/v1/races/{race['id']}").json()
        struck = body["struckOut"]
        assert len(struck) == 1
        last = next(r for r in body["results"] if r["strike"])
        assert last["cloneId"] == struck[0]
        members = {m["cloneId"] for m in world.client.get("/v1/arena").json()["members"]}
        assert struck[0] not in members
        assert clones[2] in members
        career = world.client.get(f"/v1/clones/{struck[0]}/career").json()
        assert (career["races"], career["strikes"], career["wins"]) == (1, 1, 0)
        assert career["bestRaces"][0]["raceId"] == race["id"]
        famers = world.client.get("/v1/hall-of-fame").json()["members"]
        assert [f["cloneId"] for f in famers] == [struck[0]]  # Arena-retired, bar met
        assert famers[0]["career"]["strikes"] == 1
        container = world.world.container
        container.clones.retire(UUID(struck[0]), reason="spam", admin="admin")
        assert world.client.get("/v1/hall-of-fame").json()["members"] == []


def test_a_feed_down_during_the_race_marks_its_entrants_dnf_in_live_mode(database_url: str) -> None:
    settings = {**RACES, "race_entrants": 2, "arena_capacity": 2}
    with audition_world(
        database_url, market_mode="live", extra=(ArenaWorker, RaceWorker), settings=settings
    ) as world:
        world.run(WARM_UP)
        racer(world, "Steady", ("ETH", 5, 20), "2")
        racer(world, "Blind", ("SOL", 5, 20), "1", revert=True)
        world.run(30)  # live since 12:15
        container = world.world.container
        market_now = container.market_clock.now()
        for _ in range(3):  # the third failure in a row marks the channel down
            container.source_health.record_failure(
                "hyperliquid", "candles:SOL:5m", now=market_now, error="timeout"
            )

        world.run(60)

        race = world.client.get("/v1/races").json()["data"][0]
        results = world.client.get(f"/v1/races/{race['id']}").json()["results"]
        by_name = {r["cloneId"]: r for r in results}
        dnf = [r for r in results if r["dnf"] is not None]
        assert [(r["dnf"], r["rank"], r["strike"]) for r in dnf] == [
            ("data_unhealthy", None, False)
        ]
        finisher = next(r for r in by_name.values() if r["dnf"] is None)
        assert finisher["rank"] == 1
