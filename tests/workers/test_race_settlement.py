"""A race's pool end to end: tickets from several wallets, the race, settlement, payouts.

On the replay feed with every worker stepping: two punters buy tickets (locally signed vault
receipts) while the race accumulates; the race runs and settles; Lifecycle saves the pool's
rows with the race; Economy's settlement policy records them once; each punter reads payout
authorizations signed by the payout key; every wei staked is accounted for.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from eth_account import Account

from adapters.settings import DEV_PAYOUT_PRIVATE_KEY
from domain.economy.payouts import verify_payout
from domain.economy.race_payments import PayoutAuthorization
from domain.economy.receipts import ticket_receipt_document
from domain.economy.typed_data import address_of_key
from projections.economy_audit import audit_economy
from tests.api.clones_kit import admin, user
from tests.domain.economy.vault_kit import sign
from tests.workers.audition_kit import DOMAIN, AuditionWorld, audition_world
from tests.workers.race_kit import racer
from tests.workers.test_races import RACES, WARM_UP
from workers.arena import ArenaWorker
from workers.races import RaceWorker, settlement_policy

PAYOUT_SIGNER = Account.from_key(DEV_PAYOUT_PRIVATE_KEY).address
STAKES = {"p1": (0, 3 * 10**16), "p2": (1, 10**16), "p3": (2, 2 * 10**16)}


@pytest.fixture
def world(database_url: str) -> Iterator[AuditionWorld]:
    settings = {**RACES, "race_entrants": 3, "arena_capacity": 3}
    with audition_world(database_url, extra=(ArenaWorker, RaceWorker), settings=settings) as built:
        built.run(WARM_UP)
        owner = built.client.get("/v1/me", headers=built.owner).json()["id"]
        variants = [("BTC", 5, 20), ("ETH", 5, 20), ("SOL", 5, 20)]
        for n, variant in enumerate(variants):
            racer(built, f"Pooled {n}", variant, f"{3 - n}", revert=n == 1, owner=owner)
        built.run(5)  # admitted, and the race of the slot scheduled
        yield built


def bet(world: AuditionWorld, race: dict[str, Any], who: str, nonce: int) -> dict[str, Any]:
    """``who`` quotes and pays a ticket on the entrant ``STAKES[who]`` names."""
    headers = user(world.client, who)
    entrant, stake = STAKES[who]
    body = {"cloneId": race["entrants"][entrant]["cloneId"], "stakeWei": str(stake)}
    quote = world.client.post(f"/v1/races/{race['id']}/tickets/quote", headers=headers, json=body)
    assert quote.status_code == 201, quote.text
    quoted = quote.json()
    document = ticket_receipt_document(
        DOMAIN,
        payer=quoted["payer"],
        amount_wei=stake,
        race_id=race["id"],
        clone_id=quoted["cloneId"],
        nonce=nonce,
        deadline=world.world.service.now() + timedelta(minutes=5),
    )
    submitted = world.client.post(
        f"/v1/races/{race['id']}/tickets/submit",
        headers={**headers, "Idempotency-Key": f"bet-{who}"},
        json={"quoteId": quoted["id"], "typedData": document, "signature": sign(document)},
    )
    assert submitted.status_code == 201, submitted.text
    return headers


def test_a_settled_race_pays_its_punters_and_creators_to_the_wei(world: AuditionWorld) -> None:
    summary = world.client.get("/v1/races").json()["data"][0]
    race = world.client.get(f"/v1/races/{summary['id']}").json()
    punters = {who: bet(world, race, who, nonce) for nonce, who in enumerate(STAKES, 1)}

    world.run(80)

    settled = world.client.get(f"/v1/races/{race['id']}").json()
    assert settled["state"] == "settled"
    summary = settled["settlement"]
    rows = world.client.get(
        f"/v1/admin/races/{race['id']}/settlement", headers=admin(world.client)
    ).json()
    assert (summary["digest"], summary["payments"]) == (rows["digest"], len(rows["payments"]))
    staked = sum(stake for _, stake in STAKES.values())
    assert int(rows["stakedWei"]) == staked
    spent = sum(int(rows[k]) for k in ("rakeWei", "breakageWei", "creatorUnclaimedWei"))
    spent += sum(int(p["amountWei"]) for p in rows["payments"])
    assert spent == staked
    paid: dict[str, int] = {}
    for who, headers in punters.items():
        for row in world.client.get("/v1/economy/payouts", headers=headers).json()["data"]:
            terms = verify_payout(
                row["typedData"], row["signature"], domain=DOMAIN, payout_signer=PAYOUT_SIGNER
            )
            assert (terms.amount_wei, terms.race_id) == (int(row["amountWei"]), race["id"])
            assert terms.nonce == UUID(row["id"]).int
            paid[who] = paid.get(who, 0) + terms.amount_wei
    expected = {}
    for payment in rows["payments"]:
        if payment["kind"] == "payout" and int(payment["amountWei"]):
            holder = next(
                w for w, h in punters.items() if _wallet(world, h) == payment["recipient"]
            )
            expected[holder] = expected.get(holder, 0) + int(payment["amountWei"])
    assert paid == expected
    creator = world.client.get("/v1/economy/payouts", headers=world.owner).json()["data"]
    shares = [r for r in creator if r["kind"] == "creator_share"]
    assert sum(int(r["amountWei"]) for r in shares) == sum(
        int(p["amountWei"]) for p in rows["payments"] if p["kind"] == "creator_share"
    )
    settlement_policy(world.world.container).catch_up()  # a second pass records nothing new
    again = world.client.get("/v1/economy/payouts", headers=punters["p1"]).json()["data"]
    mine = _wallet(world, punters["p1"])
    assert len(again) == len(
        {p["kind"] for p in rows["payments"] if p["recipient"] == mine and int(p["amountWei"])}
    )
    container = world.world.container
    report = audit_economy(container.economy, container.lifecycle)
    assert report.ok, report.breaches
    assert (report.checked["settled_races"], report.checked["tickets"]) == (1, 3)
    with container.economy.clocked():  # a bug pays a punter twice
        extra = PayoutAuthorization.open(
            uuid4(), race_id=UUID(race["id"]), kind="payout", recipient=mine, amount_wei="1", rows=1
        )
        container.economy.save(extra)
    kinds = [b.kind for b in audit_economy(container.economy, container.lifecycle).breaches]
    assert kinds == ["authorizations_match"]


def test_a_rotated_payout_key_re_signs_live_payouts_with_the_same_nonce(
    world: AuditionWorld,
) -> None:
    # Arrange: a settled race whose payouts the old payout key signed.
    summary = world.client.get("/v1/races").json()["data"][0]
    race = world.client.get(f"/v1/races/{summary['id']}").json()
    headers = {who: bet(world, race, who, nonce) for nonce, who in enumerate(STAKES, 1)}
    world.run(80)
    before = world.client.get("/v1/economy/payouts", headers=headers["p1"]).json()["data"]
    assert before, "p1 holds a payout"
    new_key = "0x" + "d4" * 32

    # Act: the next deployment signs payouts with the new key (docs/keys.md).
    economy = world.world.container.economy
    economy.bind_vault(replace(economy.vault, payout_private_key=new_key))
    after = world.client.get("/v1/economy/payouts", headers=headers["p1"]).json()["data"]
    again = world.client.get("/v1/economy/payouts", headers=headers["p1"]).json()["data"]

    # Assert: the same terms and nonces under the new signer, signed once and then kept.
    assert [r["id"] for r in after] == [r["id"] for r in before]
    for old, new in zip(before, after, strict=True):
        assert new["signature"] != old["signature"]
        terms = verify_payout(
            new["typedData"],
            new["signature"],
            domain=DOMAIN,
            payout_signer=address_of_key(new_key),
        )
        assert (terms.nonce, terms.amount_wei) == (UUID(old["id"]).int, int(old["amountWei"]))
    assert [r["signature"] for r in again] == [r["signature"] for r in after]


def test_a_cancelled_race_refunds_every_stake(world: AuditionWorld) -> None:
    summary = world.client.get("/v1/races").json()["data"][0]
    race = world.client.get(f"/v1/races/{summary['id']}").json()
    punters = {who: bet(world, race, who, nonce) for nonce, who in enumerate(STAKES, 1)}

    cancelled = world.client.post(
        f"/v1/admin/races/{race['id']}/cancel",
        headers=admin(world.client),
        json={"reason": "feed down"},
    )
    world.run(5)

    assert cancelled.status_code == 200, cancelled.text
    for who, headers in punters.items():
        rows = world.client.get("/v1/economy/payouts", headers=headers).json()["data"]
        assert [(r["kind"], int(r["amountWei"])) for r in rows] == [("refund", STAKES[who][1])]
    container = world.world.container
    report = audit_economy(container.economy, container.lifecycle)
    assert report.ok, report.breaches


def _wallet(world: AuditionWorld, headers: dict[str, str]) -> str:
    me = world.client.get("/v1/me", headers=headers).json()
    address: str = me["wallets"][0]["address"]
    return address
