"""Trading over HTTP: decision rows of a bound account, and the admin binding routes.

The market is the bundled replay (5-minute BTC candles from 2021-07-03) driven by the real
feed on a simulated service clock, one service second per five market minutes; the real
trading worker decides each tick of a sandbox account an admin opened and bound to a
published EMA-crossover version. :class:`ReplayWorld` is shared with the dry-run tests.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from adapters.bootstrap import Container, bootstrap
from adapters.market_replay import ReplayMarketClock
from api.app import create_app
from domain.clock import SimulatedClock
from projections.catalog import runners
from tests.api.clones_kit import admin, drafted, user
from tests.api.conftest import START, api_settings, assert_problem, sign_in
from tests.kit import a_wallet
from workers.driver import DeterministicDriver
from workers.market_replay import BundledArchive, MarketReplay
from workers.runtime import Runtime
from workers.trading import TradingWorker

DATA_START = datetime(2021, 7, 3, tzinfo=UTC)
SPEED = 300  # five market minutes per service second
FIVE = timedelta(minutes=5)
ARCHIVE = BundledArchive()
BINDINGS = "/v1/admin/trading/bindings"


@dataclass
class ReplayWorld:
    """A real app over a container whose market clock is the replay feed's position."""

    container: Container
    client: TestClient
    driver: DeterministicDriver

    def play_until(self, market_time: datetime, step: timedelta | None = None) -> None:
        """Run the feed (then the trading worker) until the market clock reads ``market_time``."""
        until = START + (market_time - DATA_START) / SPEED
        remaining = until - self.container.service_clock.now()
        if remaining > timedelta(0):
            self.driver.run(until=until, step=step or remaining)
        assert self.container.market_clock.now() == market_time

    def project(self) -> None:
        """Catch every read model up with its log."""
        for runner in runners(self.container):
            runner.catch_up()


@contextmanager
def replay_worlds(database_url: str, tmp_path: Path) -> Iterator[Callable[..., ReplayWorld]]:
    """Build replay worlds with settings overrides; all are closed when the block ends."""
    built: list[Container] = []

    def make(**overrides: Any) -> ReplayWorld:
        service = SimulatedClock(START)
        settings = api_settings(database_url, artifact_dir=str(tmp_path / "artifacts"), **overrides)
        container = bootstrap(settings, service_clock=service)
        built.append(container)
        market_clock = container.market_clock
        assert isinstance(market_clock, ReplayMarketClock)
        feed = MarketReplay(
            store=container.replay,
            market=container.market,
            market_clock=market_clock,
            speed=SPEED,
            on_published=container.features.on_candles,
            archive_factory=lambda: ARCHIVE,
        )
        runtime = Runtime(container.database, service, holder="driver", rng=random.Random(7))
        driver = DeterministicDriver(runtime, service, [feed, TradingWorker(container)])
        driver.tick()  # the feed anchors at the data's start
        client = TestClient(create_app(container), raise_server_exceptions=False)
        return ReplayWorld(container, client, driver)

    try:
        yield make
    finally:
        for container in built:
            container.close()


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[ReplayWorld]:
    """A replay world with the development settings."""
    with replay_worlds(database_url, tmp_path) as make:
        yield make()


def versioned(client: TestClient, owner: dict[str, str]) -> str:
    """Create a clone with the EMA crossover drafted and published as version 1."""
    clone_id = drafted(client, owner)
    response = client.post(f"/v1/clones/{clone_id}/versions", headers=owner)
    assert response.status_code == 201, response.text
    return clone_id


def sandbox(client: TestClient, operator: dict[str, str], owner_id: str, cause: str) -> str:
    """Open a sandbox account for ``owner_id``; return its id."""
    body = {"ownerUserId": owner_id, "collateral": "10000", "cause": cause}
    response = client.post("/v1/admin/prop-accounts", headers=operator, json=body)
    assert response.status_code == 201, response.text
    account_id: str = response.json()["accountId"]
    return account_id


def terms(account_id: str, clone_id: str, **extra: Any) -> dict[str, Any]:
    """A binding request for version 1 from the data's start."""
    return {
        "accountId": account_id,
        "cloneId": clone_id,
        "versionNumber": 1,
        "startsAt": DATA_START.isoformat(),
        **extra,
    }


# --- decision rows ---------------------------------------------------------------------


@pytest.fixture
def traded(world: ReplayWorld) -> tuple[ReplayWorld, str, dict[str, str]]:
    """A bound sandbox account traded from the data's start to 04:35 (first trades 04:25).

    One big step to 04:00 leaves the earlier ticks missed (one ``skipped`` row); then the
    worker decides every five-minute tick: holds, and acts at the crossovers.
    """
    client = world.client
    owner_session = sign_in(client, a_wallet("trader"))
    owner = {"Authorization": f"Bearer {owner_session['accessToken']}"}
    operator = admin(client)
    clone_id = versioned(client, owner)
    account_id = sandbox(client, operator, owner_session["user"]["id"], "test:traded")
    bound = client.post(BINDINGS, headers=operator, json=terms(account_id, clone_id))
    assert bound.status_code == 201, bound.text
    world.play_until(DATA_START + timedelta(hours=4))
    world.play_until(DATA_START + timedelta(hours=4, minutes=35), step=timedelta(seconds=1))
    world.project()
    return world, account_id, owner


def test_the_owner_reads_decision_rows_newest_first(
    traded: tuple[ReplayWorld, str, dict[str, str]],
) -> None:
    world, account_id, owner = traded
    response = world.client.get(f"/v1/prop-accounts/{account_id}/decisions", headers=owner)
    assert response.status_code == 200, response.text
    rows = response.json()["data"]
    ticks = [datetime.fromisoformat(r["tickAt"]) for r in rows]
    assert ticks == sorted(ticks, reverse=True)
    assert ticks[0] == DATA_START + timedelta(hours=4, minutes=35)
    assert {r["status"] for r in rows} == {"act", "hold", "skipped"}
    acts = [t for t, r in zip(ticks, rows, strict=True) if r["status"] == "act"]
    assert [t - DATA_START for t in acts] == [timedelta(hours=4, minutes=m) for m in (35, 30, 25)]
    skipped = rows[-1]  # the 48 ticks 00:00..03:55 the worker missed, in one row
    assert (skipped["status"], skipped["tickAt"], skipped["skippedUntil"]) == (
        "skipped",
        "2021-07-03T00:00:00Z",
        "2021-07-03T03:55:00Z",
    )
    assert skipped["skippedCount"] == 48
    assert len(rows) - 1 + skipped["skippedCount"] == 56  # every tick 00:00..04:35 once
    outcomes = [o["status"] for r in rows if r["status"] == "act" for o in r["outcomes"]]
    assert outcomes == ["filled", "filled", "filled"]
    assert all(r["accountId"] == account_id for r in rows)
    assert all(r["provider"] == "rules" for r in rows if r["status"] != "skipped")
    assert all(r["actions"] is None for r in rows if r["status"] == "hold")


def test_decision_rows_page_by_cursor(traded: tuple[ReplayWorld, str, dict[str, str]]) -> None:
    world, account_id, owner = traded
    url = f"/v1/prop-accounts/{account_id}/decisions"
    everything = world.client.get(url, headers=owner).json()["data"]
    first = world.client.get(url, headers=owner, params={"limit": 2}).json()
    second = world.client.get(
        url, headers=owner, params={"limit": 2, "cursor": first["nextCursor"]}
    ).json()
    assert [r["decisionId"] for r in first["data"] + second["data"]] == [
        r["decisionId"] for r in everything[:4]
    ]
    assert second["nextCursor"] is not None
    assert_problem(
        world.client.get(url, headers=owner, params={"cursor": "not-ours"}),
        422,
        "request:bad-cursor",
    )


def test_another_user_cannot_read_the_decision_rows(
    traded: tuple[ReplayWorld, str, dict[str, str]],
) -> None:
    world, account_id, _ = traded
    stranger = user(world.client, "stranger")
    assert_problem(
        world.client.get(f"/v1/prop-accounts/{account_id}/decisions", headers=stranger),
        404,
        "prop:account-not-found",
    )
    operator = admin(world.client)
    as_admin = world.client.get(f"/v1/prop-accounts/{account_id}/decisions", headers=operator)
    assert as_admin.status_code == 200
    assert as_admin.json()["data"]


# --- the binding operator tool ---------------------------------------------------------


@dataclass(frozen=True)
class Desk:
    """An admin, a user's published clone and one sandbox account of that user."""

    client: TestClient
    operator: dict[str, str]
    owner_id: str
    clone_id: str
    account_id: str


@pytest.fixture
def desk(client: TestClient) -> Desk:
    session = sign_in(client, a_wallet("owner"))
    owner = {"Authorization": f"Bearer {session['accessToken']}"}
    operator = admin(client)
    clone_id = versioned(client, owner)
    owner_id = session["user"]["id"]
    account_id = sandbox(client, operator, owner_id, "test:desk-1")
    return Desk(client, operator, owner_id, clone_id, account_id)


def test_a_plain_user_cannot_bind_or_unbind(
    desk: Desk,
) -> None:
    client, clone_id, account_id = desk.client, desk.clone_id, desk.account_id
    plain = user(client, "owner")
    assert_problem(
        client.post(BINDINGS, headers=plain, json=terms(account_id, clone_id)),
        403,
        "auth:admin-required",
    )
    assert_problem(
        client.post(f"{BINDINGS}/{account_id}/unbind", headers=plain, json={"reason": "x"}),
        403,
        "auth:admin-required",
    )


def test_binding_twice_on_the_same_terms_answers_the_same(
    desk: Desk,
) -> None:
    client, operator = desk.client, desk.operator
    clone_id, account_id = desk.clone_id, desk.account_id
    first = client.post(BINDINGS, headers=operator, json=terms(account_id, clone_id))
    again = client.post(BINDINGS, headers=operator, json=terms(account_id, clone_id))
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert first.json()["active"] is True
    assert first.json()["cloneId"] == clone_id
    assert datetime.fromisoformat(first.json()["startsAt"]) == DATA_START
    other_terms = terms(account_id, clone_id, endsAt="2021-07-04T00:00:00Z")
    assert_problem(
        client.post(BINDINGS, headers=operator, json=other_terms),
        409,
        "trading:binding-conflict",
    )


def test_a_version_trades_one_account_at_a_time_unless_concurrency_is_allowed(
    desk: Desk,
) -> None:
    client, operator = desk.client, desk.operator
    clone_id, account_id = desk.clone_id, desk.account_id
    second = sandbox(client, operator, desk.owner_id, "test:desk-2")
    client.post(BINDINGS, headers=operator, json=terms(account_id, clone_id))
    later = terms(second, clone_id, startsAt="2021-07-05T00:00:00Z")
    assert_problem(
        client.post(BINDINGS, headers=operator, json=later),
        409,
        "trading:version-already-trading",
    )
    allowed = client.post(BINDINGS, headers=operator, json={**later, "allowConcurrent": True})
    assert allowed.status_code == 201, allowed.text
    assert allowed.json()["accountId"] == second


def test_a_window_that_ends_before_it_starts_is_422(
    desk: Desk,
) -> None:
    client, operator = desk.client, desk.operator
    clone_id, account_id = desk.clone_id, desk.account_id
    backwards = terms(account_id, clone_id, endsAt="2021-07-02T00:00:00Z")
    assert_problem(
        client.post(BINDINGS, headers=operator, json=backwards), 422, "trading:bad-window"
    )


def test_unbinding_ends_the_binding_and_is_idempotent(
    desk: Desk,
) -> None:
    client, operator = desk.client, desk.operator
    clone_id, account_id = desk.clone_id, desk.account_id
    client.post(BINDINGS, headers=operator, json=terms(account_id, clone_id))
    url = f"{BINDINGS}/{account_id}/unbind"
    first = client.post(url, headers=operator, json={"reason": "done"})
    again = client.post(url, headers=operator, json={"reason": "done"})
    assert (first.status_code, again.status_code) == (200, 200)
    assert first.json()["active"] is False
    assert again.json() == first.json()
    never = sandbox(client, operator, "someone", "test:never-bound")
    assert_problem(
        client.post(f"{BINDINGS}/{never}/unbind", headers=operator, json={"reason": "x"}),
        404,
        "prop:account-not-found",
    )


def test_binding_refuses_a_retired_clone_and_unknown_targets(
    desk: Desk,
) -> None:
    client, operator = desk.client, desk.operator
    clone_id, account_id = desk.clone_id, desk.account_id
    retired = client.post(
        f"/v1/admin/clones/{clone_id}/retire", headers=operator, json={"reason": "scam"}
    )
    assert retired.status_code == 200, retired.text
    assert_problem(
        client.post(BINDINGS, headers=operator, json=terms(account_id, clone_id)),
        409,
        "clones:clone-retired",
    )
    unknown_account = terms("7e1c2f5a-0000-4000-8000-000000000000", clone_id)
    assert_problem(
        client.post(BINDINGS, headers=operator, json=unknown_account),
        404,
        "prop:account-not-found",
    )
