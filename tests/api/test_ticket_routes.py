"""Race tickets over HTTP on both stores: quote, submit, the pool, late and capped money.

The market clock is a simulated one here, so a test can close the ticket window by moving
market time past the close recorded on the race.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from adapters.bootstrap import Container, bootstrap
from api.app import create_app
from domain.clock import SimulatedClock
from domain.economy.receipts import ticket_receipt_document
from domain.economy.typed_data import VaultDomain
from tests.api.clones_kit import admin, user
from tests.api.conftest import api_settings, assert_problem
from tests.domain.economy.vault_kit import CONTRACT, OTHER_KEY, VAULT_KEY, sign
from tests.kit import a_wallet

DOMAIN = VaultDomain(84532, CONTRACT)
MARKET = datetime(2021, 7, 3, 12, tzinfo=UTC)
STAKE = 10**16
CLONES = [str(uuid4()) for _ in range(3)]


@pytest.fixture
def market() -> SimulatedClock:
    return SimulatedClock(MARKET)


@pytest.fixture
def tickets_client(
    database_url: str, clock: SimulatedClock, market: SimulatedClock
) -> Iterator[Callable[..., TestClient]]:
    built: list[Container] = []

    def make(**overrides: Any) -> TestClient:
        settings = api_settings(database_url, **overrides)
        container = bootstrap(settings, service_clock=clock, market_clock=market)
        built.append(container)
        return TestClient(create_app(container), raise_server_exceptions=False)

    yield make
    for container in built:
        container.close()


def container_of(client: TestClient) -> Container:
    found: Container = client.app.state.container  # type: ignore[attr-defined]
    return found


def a_race(client: TestClient) -> str:
    """A race of three entrants accumulating, its window closing 30 market minutes on."""
    container = container_of(client)
    entrants = [
        {"entry_id": str(uuid4()), "clone_id": c, "version_id": str(uuid4()), "user_id": "u",
         "arena_account_id": str(uuid4())}
        for c in CLONES
    ]  # fmt: skip
    race, _ = container.lifecycle.schedule_race(
        7, config=container.settings.race_config, candidates=[], entrants=entrants, opens_at=MARKET
    )
    return str(race.id)


def quoted(client: TestClient, headers: dict[str, str], race: str, **body: Any) -> Any:
    values = {"cloneId": CLONES[0], "stakeWei": str(STAKE), **body}
    return client.post(f"/v1/races/{race}/tickets/quote", headers=headers, json=values)


def paid(quote: dict[str, Any], *, nonce: int = 1, key: str = VAULT_KEY, **changes: Any) -> Any:
    values: dict[str, Any] = {
        "payer": quote["payer"],
        "amount_wei": int(quote["stakeWei"]),
        "race_id": quote["raceId"],
        "clone_id": quote["cloneId"],
        "nonce": nonce,
        "deadline": datetime(2026, 12, 1, 12, 10, tzinfo=UTC),
        **changes,
    }
    document = ticket_receipt_document(DOMAIN, **values)
    return {"quoteId": quote["id"], "typedData": document, "signature": sign(document, key)}


def submit(client: TestClient, headers: dict[str, str], race: str, body: Any, key: str) -> Any:
    return client.post(
        f"/v1/races/{race}/tickets/submit",
        headers={**headers, "Idempotency-Key": key},
        json=body,
    )


def test_a_paid_ticket_enters_the_pool(tickets_client: Callable[..., TestClient]) -> None:
    client = tickets_client()
    race, owner = a_race(client), user(client, "punter")
    quote = quoted(client, owner, race).json()

    placed = submit(client, owner, race, paid(quote), "k1")
    replay = submit(client, owner, race, paid(quote), "k1")

    assert placed.status_code == 201, placed.text
    assert (placed.json()["cloneId"], placed.json()["stakeWei"]) == (CLONES[0], str(STAKE))
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == placed.json()
    pool = client.get(f"/v1/races/{race}/pool").json()
    staked = {e["cloneId"]: e["stakedWei"] for e in pool["entries"]}
    assert staked == {CLONES[0]: str(STAKE), CLONES[1]: "0", CLONES[2]: "0"}
    assert (pool["tickets"], pool["grossWei"], pool["closed"]) == (1, str(STAKE), False)
    assert next(e for e in pool["entries"] if e["cloneId"] == CLONES[0])["impliedOdds"] == "0.9000"
    mine = client.get("/v1/me/tickets", headers=owner).json()
    assert [t["ticketId"] for t in mine["tickets"]] == [placed.json()["ticketId"]]


@pytest.mark.parametrize("same_key", [True, False])
def test_50_simultaneous_submissions_place_one_ticket(
    tickets_client: Callable[..., TestClient], same_key: bool
) -> None:
    client = tickets_client()
    race, owner = a_race(client), user(client, "punter")
    body = paid(quoted(client, owner, race).json())

    def send(n: int) -> int:
        key = "same" if same_key else f"key-{n}"
        return int(submit(client, owner, race, body, key).status_code)

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(send, range(50)))

    assert answers.count(201) >= 1
    assert set(answers) <= {201, 409}
    assert client.get(f"/v1/races/{race}/pool").json()["tickets"] == 1
    assert len(client.get("/v1/me/tickets", headers=owner).json()["tickets"]) == 1


def test_a_ticket_paid_after_the_close_is_refunded_not_placed(
    tickets_client: Callable[..., TestClient], market: SimulatedClock
) -> None:
    client = tickets_client()
    race, owner = a_race(client), user(client, "punter")
    quote = quoted(client, owner, race).json()
    market.advance(timedelta(minutes=30))  # the close recorded on the race

    late = submit(client, owner, race, paid(quote), "k1")

    assert late.status_code == 202, late.text
    assert (late.json()["reason"], late.json()["amountWei"]) == ("window_closed", str(STAKE))
    assert client.get(f"/v1/races/{race}/pool").json()["tickets"] == 0
    assert_problem(quoted(client, owner, race), 409, "races:race-transition-refused")
    refunds = client.get("/v1/me/tickets", headers=owner).json()["refunds"]
    assert [r["reason"] for r in refunds] == ["window_closed"]


def test_stakes_over_the_users_cap_are_refunded(
    tickets_client: Callable[..., TestClient],
) -> None:
    client = tickets_client(ticket_user_cap_wei=int(1.5 * STAKE))
    race, owner = a_race(client), user(client, "punter")
    first = quoted(client, owner, race).json()
    second = quoted(client, owner, race, cloneId=CLONES[1]).json()

    placed = submit(client, owner, race, paid(first, nonce=1), "k1")
    capped = submit(client, owner, race, paid(second, nonce=2), "k2")

    assert placed.status_code == 201
    assert (capped.status_code, capped.json()["reason"]) == (202, "over_cap")
    assert client.get(f"/v1/races/{race}/pool").json()["grossWei"] == str(STAKE)


def test_a_cancelled_race_refunds_new_money_and_marks_its_book(
    tickets_client: Callable[..., TestClient],
) -> None:
    client = tickets_client()
    race, owner = a_race(client), user(client, "punter")
    quote = quoted(client, owner, race).json()
    cancelled = client.post(
        f"/v1/admin/races/{race}/cancel", headers=admin(client), json={"reason": "feed down"}
    )
    assert cancelled.status_code == 200, cancelled.text

    refunded = submit(client, owner, race, paid(quote), "k1")

    assert (refunded.status_code, refunded.json()["reason"]) == (202, "race_cancelled")
    assert client.get(f"/v1/races/{race}/pool").json()["cancelled"] is True


def test_no_proof_of_payment_is_refused_and_records_nothing(
    tickets_client: Callable[..., TestClient],
) -> None:
    client = tickets_client()
    race, owner = a_race(client), user(client, "punter")
    quote = quoted(client, owner, race).json()

    forged = submit(client, owner, race, paid(quote, key=OTHER_KEY), "k1")
    someone_elses = submit(client, owner, race, paid(quote, payer=a_wallet("x").address), "k2")
    garbage = submit(client, owner, race, {**paid(quote), "signature": "0x00"}, "k3")

    for answer, reason in ((forged, "signer_mismatch"), (someone_elses, "payer_mismatch")):
        assert assert_problem(answer, 422, "economy:receipt-rejected")["reason"] == reason
    assert_problem(garbage, 422, "economy:receipt-rejected")
    assert client.get(f"/v1/races/{race}/pool").json()["tickets"] == 0
    assert client.get("/v1/me/tickets", headers=owner).json() == {"tickets": [], "refunds": []}


def test_quotes_need_an_entrant_a_stake_in_bounds_and_a_known_race(
    tickets_client: Callable[..., TestClient],
) -> None:
    client = tickets_client()
    race, owner = a_race(client), user(client, "punter")

    outsider = quoted(client, owner, race, cloneId=str(uuid4()))
    tiny = quoted(client, owner, race, stakeWei="1")
    negative = quoted(client, owner, race, stakeWei="-5")
    unknown = quoted(client, owner, str(uuid4()))

    assert_problem(outsider, 422, "economy:ticket-refused")
    assert_problem(tiny, 422, "economy:stake-out-of-bounds")
    assert_problem(negative, 422, "validation-error")
    assert_problem(unknown, 404, "races:race-not-found")


def test_the_book_closes_at_launch_with_a_digest(
    tickets_client: Callable[..., TestClient], market: SimulatedClock
) -> None:
    client = tickets_client()
    race, owner = a_race(client), user(client, "punter")
    quote = quoted(client, owner, race).json()
    assert submit(client, owner, race, paid(quote), "k1").status_code == 201
    container = container_of(client)
    market.advance(timedelta(minutes=30))

    container.races.advance(UUID(race), market.now())

    pool = client.get(f"/v1/races/{race}/pool").json()
    assert pool["closed"] is True
    assert pool["digest"].startswith("sha256:")
    book = container.economy.book(UUID(race))
    assert book is not None
    assert book.closed
