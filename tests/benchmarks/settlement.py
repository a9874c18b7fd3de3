"""Settlement arithmetic: one race pool of ``tickets`` tickets settled in integer wei.

``settlement.pool``: ``tickets`` tickets from 5,000 holders over 8 clones (stakes drawn from
a seeded generator between 0.001 and 2 ETH), ranks with a dead heat for third and one DNF,
the default rules (5 % rake, 5 % creators, 3:2:1). One operation is one whole settlement
(refunds, rake, weighted profit split, breakage, creator shares, the conservation check);
``rounds`` settlements are timed. Verified: conserved, every ticket settled at most once.

``settlement.race``: the same settlement persisted, on each backend's own store: a race of
8 entrants whose book holds ``tickets`` tickets from ``holders`` wallets (placed untimed, in
batches, then snapshotted); timed from the book's close to the payment facts: close the
book, read its tickets (its events), rank and settle, save the rows with the race, and the
settlement policy's recording of one authorization per (recipient, kind). ``phases_ms``
splits the time. Verified: conserved, recorded, every ticket read.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import uuid4

from adapters.bootstrap import Container, bootstrap
from adapters.settings import Settings
from adapters.settlement_policy import SettlementPolicy
from domain.clock import SimulatedClock
from domain.economy.application import RaceFacts
from domain.economy.parimutuel import Finish, PoolRules, Ticket, settle_pool
from domain.economy.tickets import PoolBook, book_id_for
from domain.lifecycle.race import Race
from domain.lifecycle.race_results import EntrantSnapshot, rank_results
from tests.benchmarks.auditions import own_store

Measurement = tuple[str, int, float, list[float], dict[str, Any]]
FULL = {"tickets": 100_000, "rounds": 3}
QUICK = {"tickets": 1_000, "rounds": 1}
FINISHES = [
    Finish("c1", 1, "0xcreator1"),
    Finish("c2", 2, "0xcreator2"),
    Finish("c3", 3, "0xcreator3"),
    Finish("c4", 3, "0xcreator4"),
    Finish("c5", 5),
    Finish("c6", 6),
    Finish("c7", 7),
    Finish("c8", None),
]


def run(*, quick: bool) -> Iterator[Measurement]:
    """Settle the pool ``rounds`` times."""
    sizes = QUICK if quick else FULL
    rng = random.Random(20261202)
    tickets = [
        Ticket(
            f"t{n}", f"0xholder{n % 5000}", f"c{rng.randint(1, 8)}", rng.randint(10**15, 2 * 10**18)
        )
        for n in range(sizes["tickets"])
    ]
    latencies = []
    for _ in range(sizes["rounds"]):
        started = time.perf_counter()
        result = settle_pool(tickets, FINISHES, PoolRules())
        latencies.append(time.perf_counter() - started)
        settled = [p.ticket_id for p in result.payments if p.ticket_id is not None]
        if not result.conserved or len(settled) != len(set(settled)):
            raise RuntimeError("settlement.pool: not conserved")
    extra = {"tickets": sizes["tickets"], "method": result.method, "verified": True}
    yield ("settlement.pool", len(latencies), sum(latencies), latencies, extra)


# --- settlement.race: the persisted settlement of a race of ``tickets`` tickets -----------

RACE_FULL = {"tickets": 100_000, "holders": 5_000, "batch": 2_000}
RACE_QUICK = {"tickets": 500, "holders": 50, "batch": 100}
MARKET = datetime(2021, 7, 3, 12, tzinfo=UTC)


def run_race(database_url: str, *, quick: bool, workdir: Path) -> Iterator[Measurement]:
    """Settle a race of ``tickets`` placed tickets on a store of its own."""
    sizes = RACE_QUICK if quick else RACE_FULL
    with own_store(database_url, workdir, "settle") as url:
        container = _container(url, workdir)
        try:
            yield _settle_race(container, sizes)
        finally:
            container.close()


def _container(url: str, workdir: Path) -> Container:
    settings = Settings(
        database_url=url.split("?", maxsplit=1)[0],
        postgres_schema=url.split("schema=", 1)[1] if "schema=" in url else "public",
        artifact_dir=str(workdir / "settle-artifacts"),
        log_json=False,
    )
    return bootstrap(
        settings, service_clock=SimulatedClock(datetime(2026, 12, 1, tzinfo=UTC)),
        market_clock=SimulatedClock(MARKET),
    )  # fmt: skip


def _settle_race(container: Container, sizes: dict[str, int]) -> Measurement:
    race = _race(container)
    _place(container, race, sizes)
    clock = container.market_clock
    assert isinstance(clock, SimulatedClock)
    clock.advance(race.ends_at - clock.now())
    snapshots = [_snapshot(race, n, e) for n, e in enumerate(race.entrants)]
    container.lifecycle.change_race(race.id, lambda r: r.launch(_accounts(r), r.launch_at))
    container.lifecycle.change_race(race.id, lambda r: r.go_live(r.live_at))
    container.lifecycle.change_race(
        race.id, lambda r: r.start_settling([_document(s) for s in snapshots], r.ends_at)
    )
    policy = SettlementPolicy(
        container.database, container.lifecycle, container.economy, container.service_clock.now
    )
    policy.catch_up()  # untimed: the log up to here
    phases: dict[str, float] = {}
    started = time.perf_counter()
    container.economy.close_book(race.id)
    tickets = [
        Ticket(t["ticket_id"], t["payer"], t["clone_id"], int(t["stake_wei"]))
        for t in container.economy.book_tickets(race.id)
    ]
    phases["read_book"] = time.perf_counter() - started
    results = rank_results(snapshots, race.config)
    finishes = [Finish(r.snapshot.clone_id, r.rank, f"0xcreator{n}") for n, r in enumerate(results)]
    settlement = settle_pool(tickets, finishes, race.config.pool_rules)
    phases["compute"] = time.perf_counter() - started - phases["read_book"]
    container.lifecycle.settle_race(race.id, results, settlement.to_document())
    phases["save_with_race"] = time.perf_counter() - started - sum(phases.values())
    policy.catch_up()
    phases["payment_facts"] = time.perf_counter() - started - sum(phases.values())
    seconds = time.perf_counter() - started
    recorded = container.economy.settlement_of(race.id)
    if not settlement.conserved or recorded is None or len(tickets) != sizes["tickets"]:
        raise RuntimeError("settlement.race: not settled")
    extra = {
        "tickets": len(tickets),
        "holders": sizes["holders"],
        "authorizations": recorded.authorizations,
        "phases_ms": {k: round(v * 1000, 1) for k, v in phases.items()},
        "verified": True,
    }
    return ("settlement.race", 1, seconds, [seconds], extra)


def _race(container: Container) -> Race:
    entrants = [
        {"entry_id": f"e{n}", "clone_id": str(uuid4()), "version_id": str(uuid4()),
         "user_id": "u", "arena_account_id": str(uuid4())}
        for n in range(1, 9)
    ]  # fmt: skip
    race, _ = container.lifecycle.schedule_race(
        1, config=container.settings.race_config, candidates=[], entrants=entrants, opens_at=MARKET
    )
    facts = RaceFacts(race.id, race.launch_at, frozenset(e["clone_id"] for e in entrants))
    _open_book(container, race, facts)
    return race


def _open_book(container: Container, race: Race, facts: RaceFacts) -> None:
    economy = container.economy
    with economy.clocked():
        book = PoolBook.open(
            race.id, close_at=facts.close_at, clones=sorted(facts.clones), user_cap_wei=10**30
        )
        economy.save(book)


def _place(container: Container, race: Race, sizes: dict[str, int]) -> None:
    rng = random.Random(7)
    economy = container.economy
    clones = sorted(e["clone_id"] for e in race.entrants)
    placed = 0
    while placed < sizes["tickets"]:
        with economy.clocked():
            book = economy.book(race.id)
            assert book is not None
            for n in range(placed, min(placed + sizes["batch"], sizes["tickets"])):
                holder = f"0xholder{n % sizes['holders']}"
                book.place(
                    uuid4(), user_id=holder, payer=holder, clone_id=rng.choice(clones),
                    stake_wei=rng.randint(10**15, 2 * 10**18), nonce=n, market_at=MARKET,
                )  # fmt: skip
            economy.save(book)
        placed = min(placed + sizes["batch"], sizes["tickets"])
    with economy.clocked():
        economy.take_snapshot(book_id_for(race.id))


def _accounts(race: Race) -> dict[str, str]:
    return {e["entry_id"]: str(uuid4()) for e in race.entrants}


def _snapshot(race: Race, n: int, entrant: dict[str, str]) -> EntrantSnapshot:
    return EntrantSnapshot(
        entry_id=entrant["entry_id"], clone_id=entrant["clone_id"], account_id=str(uuid4()),
        starting=Decimal(10_000), equity=Decimal(10_000 + 10 * (n % 5)),
        max_drawdown_pct=Decimal("0.01"), trades=3, fees=Decimal(1),
    )  # fmt: skip


def _document(snapshot: EntrantSnapshot) -> dict[str, object]:
    return {
        "entry_id": snapshot.entry_id, "clone_id": snapshot.clone_id,
        "account_id": snapshot.account_id, "starting": str(snapshot.starting),
        "equity": str(snapshot.equity), "max_drawdown_pct": str(snapshot.max_drawdown_pct),
        "trades": snapshot.trades, "fees": str(snapshot.fees), "liquidated": False,
        "data_unhealthy": False,
    }  # fmt: skip
