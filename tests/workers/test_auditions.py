"""Paid auditions end to end on a simulated clock, on both stores.

Quote, pay with a locally signed vault receipt, submit an audition of an EMA-crossover
clone, and let the replay feed, the trading, mark and auditions workers run: the verdicts
are checked against the mark worker's equity snapshots, an independent valuation of the
same account at every 5-minute boundary.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from adapters.bootstrap import Container
from adapters.database import from_micros
from domain.economy.withdrawals import verify_withdrawal
from projections.economy_audit import audit_economy
from tests.api.clones_kit import admin
from tests.api.conftest import assert_problem
from tests.domain.economy.vault_kit import REFUND_SIGNER
from tests.workers.audition_kit import DOMAIN, AuditionWorld, audition_world

QUICK = {"min_trading_days": 1, "deadline_seconds": 3 * 86400}
EASY_TARGET = {**QUICK, "profit_target": "0.0005"}  # 10,005 USDC on 10,000
TIGHT_DAILY = {**QUICK, "profit_target": "0.05", "max_daily_loss": "0.001"}  # floor 9,990


@pytest.fixture
def easy(database_url: str) -> Iterator[AuditionWorld]:
    with audition_world(database_url, starter=EASY_TARGET) as world:
        yield world


@pytest.fixture
def tight(database_url: str) -> Iterator[AuditionWorld]:
    with audition_world(database_url, starter=TIGHT_DAILY, builder=TIGHT_DAILY) as world:
        yield world


def equity_points(container: Container, account_id: UUID) -> list[dict[str, Any]]:
    """The account's equity, independently of the evaluator: the mark worker's 5-minute
    snapshots while it holds positions, and the ledger's state after each fill that left
    it flat (its collateral), in time order."""
    with container.database.transaction(write=False) as session:
        rows = session.fetch_all(
            "SELECT * FROM prop_equity_snapshots WHERE account_id = %s ORDER BY at",
            (str(account_id),),
        )
    points = [
        {
            "at": from_micros(row["at"]),
            "value": Decimal(row["account_value"]),
            "flat": Decimal(row["margin_used"]) == 0,
            "collateral": Decimal(row["collateral_micros"]) / 1_000_000,
        }
        for row in rows
    ]
    prop = container.prop
    for event in prop.repository.event_store.get(account_id):
        if type(event).__name__ != "OrderFilled":
            continue
        then = prop.repository.get(account_id, version=event.originator_version)
        if all(p["size"] == 0 for p in then.positions.values()):
            collateral = then.collateral
            points.append(
                {"at": event.timestamp, "value": collateral, "flat": True, "collateral": collateral}
            )
    return sorted(points, key=lambda point: point["at"])


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_an_ema_clone_passes_at_the_first_flat_mark_over_its_target(easy: AuditionWorld) -> None:
    ids = easy.paid_audition()
    submitted = easy.audition(ids["audition_id"]).json()
    assert (submitted["state"], submitted["step"]) == ("starting", "attempt")

    body = easy.run_until_over(ids["audition_id"], hours=24)

    assert body["state"] == "passed", body
    run = body["runs"][0]
    passed_at = instant(run["outcome"]["at"])
    account_id = UUID(run["accountId"])
    seen = equity_points(easy.world.container, account_id)
    first_over = next(s for s in seen if s["flat"] and s["collateral"] >= Decimal("10005"))
    assert first_over["at"] == passed_at
    metrics = body["metrics"]
    assert Decimal(metrics["balance"]) == first_over["collateral"]
    total_return = first_over["collateral"] / Decimal(10_000) - 1
    floor = max(Decimal(metrics["maxDrawdownPct"]), Decimal("0.01"))
    assert Decimal(metrics["score"]) == (total_return / floor).quantize(Decimal("0.000001"))
    assert set(metrics) >= {"score", "totalReturn", "maxDrawdownPct", "tradingDays"}
    assert run["closed"] is True
    assert body["step"] is None
    binding = easy.world.container.trading.binding(account_id)
    assert binding is not None
    assert not binding.active
    assert max(r["tick_at"] for r in easy.world.rows(account_id)) <= passed_at


def test_a_daily_loss_breach_fails_the_run_at_the_breaching_mark(tight: AuditionWorld) -> None:
    ids = tight.paid_audition()

    body = tight.run_until_over(ids["audition_id"], hours=24)

    assert body["state"] == "failed", body
    outcome = body["runs"][0]["outcome"]
    assert (outcome["rule"], outcome["limit"]) == ("daily_loss", "9990.000000")
    account_id = UUID(body["runs"][0]["accountId"])
    seen = equity_points(tight.world.container, account_id)
    breach = next(s for s in seen if s["value"] < Decimal("9990"))
    assert instant(outcome["at"]) == breach["at"]
    assert Decimal(outcome["equity"]) == breach["value"]
    assert all(s["value"] >= Decimal("9990") for s in seen if s["at"] < breach["at"])
    account = tight.world.container.prop.account(account_id)
    assert all(p["size"] == 0 for p in account.positions.values())
    assert body["progress"]["dailyLoss"]["headroom"].startswith("-")


def test_a_voided_audition_yields_a_valid_refund_signature(easy: AuditionWorld) -> None:
    ids = easy.paid_audition()
    easy.run(120)
    assert easy.audition(ids["audition_id"]).json()["state"] == "running"
    url = f"/v1/admin/auditions/{ids['audition_id']}/void"

    refused = easy.client.post(url, headers=easy.owner, json={"reason": "feed glitch"})
    voided = easy.client.post(url, headers=admin(easy.client), json={"reason": "feed glitch"})

    assert_problem(refused, 403, "")
    assert voided.status_code == 200, voided.text
    body = voided.json()
    assert (body["state"], body["step"], body["reason"]) == ("voided", None, "feed glitch")
    refunds = easy.client.get("/v1/economy/refunds", headers=easy.owner).json()["data"]
    assert [r["id"] for r in refunds] == [body["refundId"]]
    refund = refunds[0]
    assert refund["amountWei"] == ids["amount_wei"]
    assert refund["reason"] == "audition_voided: feed glitch"
    withdrawal = refund["withdrawal"]
    signed = verify_withdrawal(
        withdrawal["typedData"],
        withdrawal["signature"],
        domain=DOMAIN,
        refund_signer=REFUND_SIGNER,
    )
    assert signed.nonce == UUID(body["refundId"]).int
    assert (signed.amount_wei, signed.audition_id) == (int(ids["amount_wei"]), ids["audition_id"])
    attempts = easy.client.get(
        f"/v1/economy/clones/{ids['clone_id']}/attempts", headers=easy.owner
    ).json()
    assert (attempts["granted"], attempts["remaining"]) == (1, 0)
    again = easy.client.post(url, headers=admin(easy.client), json={"reason": "twice"})
    assert_problem(again, 409, "lifecycle:audition-conflict")
    container = easy.world.container
    assert audit_economy(container.economy, container.lifecycle).ok


def test_a_failed_audition_retries_on_a_new_account_while_attempts_remain(
    tight: AuditionWorld,
) -> None:
    ids = tight.paid_audition("builder")
    first = tight.run_until_over(ids["audition_id"], hours=24)
    assert first["state"] == "failed"
    url = f"/v1/auditions/{ids['audition_id']}/retry"

    retried = tight.client.post(url, headers=tight.owner)

    assert retried.status_code == 200, retried.text
    assert (retried.json()["state"], retried.json()["run"]) == ("starting", 2)
    second = tight.run_until_over(ids["audition_id"], hours=48)
    assert second["state"] == "failed", second
    old, new = second["runs"]
    assert old["outcome"] == first["runs"][0]["outcome"]
    assert old["accountId"] != new["accountId"]
    used = tight.client.post(url, headers=tight.owner)
    assert_problem(used, 409, "lifecycle:audition-retries-used")
    container = tight.world.container
    assert audit_economy(container.economy, container.lifecycle).ok


def test_a_version_already_trading_abandons_the_audition_and_releases_its_attempt(
    easy: AuditionWorld,
) -> None:
    clone_id, version_id = easy.published_version()
    container = easy.world.container
    sandbox = easy.world.sandbox("elsewhere")
    version = container.clones.version(UUID(version_id))
    starts = container.market_clock.now()
    container.trading.bind(sandbox, version, version.id, purpose="sandbox", starts_at=starts)
    purchase = easy.pay(clone_id, version_id, "starter", nonce=3)
    body = {"cloneId": clone_id, "versionId": version_id, "purchaseId": purchase["id"]}
    audition_id = easy.client.post("/v1/auditions", headers=easy.owner, json=body).json()["id"]

    easy.run(5)

    found = easy.audition(audition_id).json()
    assert found["state"] == "abandoned", found
    assert found["reason"].startswith("bind: VersionAlreadyTrading")
    assert found["step"] is None
    attempts = easy.client.get(f"/v1/economy/clones/{clone_id}/attempts", headers=easy.owner)
    assert (attempts.json()["granted"], attempts.json()["remaining"]) == (1, 1)
    assert audit_economy(container.economy, container.lifecycle).ok


def test_market_data_down_during_the_window_voids_the_audition_in_live_mode(
    database_url: str,
) -> None:
    with audition_world(database_url, market_mode="live", starter=EASY_TARGET) as easy:
        ids = easy.paid_audition()
        easy.run(30)
        container = easy.world.container
        assert easy.audition(ids["audition_id"]).json()["state"] == "running"
        market_now = container.market_clock.now()
        for _ in range(3):  # the health policy's third failure in a row marks it down
            container.source_health.record_failure(
                "hyperliquid", "candles:BTC:5m", now=market_now, error="timeout"
            )

        easy.run(5)

        body = easy.audition(ids["audition_id"]).json()
        assert (body["state"], body["reason"]) == ("voided", "market_data_unhealthy")
        assert body["refundId"] is not None
        assert body["runs"][0]["closed"] is True
