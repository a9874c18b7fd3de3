"""A replay-fed world with the auditions worker, and the whole paid flow over HTTP.

The market runs on the bundled candles (five market minutes per service second); the
driver steps the feed, the trading worker, the mark worker and the auditions worker in
that order, so each 5-minute mark is traded, marked and judged in one step. ``paid_audition``
does what a user does: draft an EMA-crossover clone, publish it, quote, pay (a receipt the
vault's key signs locally), submit the audition.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

from fastapi.testclient import TestClient

from adapters.bootstrap import Container
from api.app import create_app
from domain.economy.typed_data import VaultDomain
from tests.api.clones_kit import user
from tests.domain.economy.vault_kit import CONTRACT, a_fee_receipt, sign
from tests.workers.trading_kit import TradingWorld, ema_graph, trading_world
from workers.auditions import AuditionWorker
from workers.marks import MarkWorker
from workers.runtime import Worker

DOMAIN = VaultDomain(84532, CONTRACT)


@dataclass
class AuditionWorld:
    """The trading world, an HTTP client on the same container, and a signed-in owner."""

    world: TradingWorld
    client: TestClient
    owner: dict[str, str]

    def run(self, market_minutes: int) -> None:
        """Advance the market (every worker steps at every 5-minute mark)."""
        self.world.run(market_minutes)

    def audition(self, audition_id: str, headers: dict[str, str] | None = None) -> Any:
        """GET the audition as the owner (or ``headers``)."""
        return self.client.get(f"/v1/auditions/{audition_id}", headers=headers or self.owner)

    def run_until_over(self, audition_id: str, *, hours: int) -> dict[str, Any]:
        """Run hour by hour until the audition is no longer running (at most ``hours``)."""
        body: dict[str, Any] = self.audition(audition_id).json()
        for _ in range(hours):
            if body["state"] not in ("starting", "running"):
                break
            self.run(60)
            body = self.audition(audition_id).json()
        return body

    def paid_audition(
        self, tier: str = "starter", *, nonce: int = 1, asset: str = "BTC", name: str = "Ema"
    ) -> dict[str, str]:
        """Publish an EMA clone (on ``asset``), pay its audition fee, submit; the ids."""
        clone_id, version_id = self.published_version(name, asset)
        purchase = self.pay(clone_id, version_id, tier, nonce=nonce)
        body = {"cloneId": clone_id, "versionId": version_id, "purchaseId": purchase["id"]}
        response = self.client.post("/v1/auditions", headers=self.owner, json=body)
        assert response.status_code == 202, response.text
        return {
            "clone_id": clone_id,
            "version_id": version_id,
            "purchase_id": purchase["id"],
            "audition_id": response.json()["id"],
            "amount_wei": purchase["amountWei"],
        }

    def published_version(self, name: str = "Ema", asset: str = "BTC") -> tuple[str, str]:
        """Create, draft and publish an EMA-crossover clone of the owner on ``asset``."""
        created = self.client.post("/v1/clones", headers=self.owner, json={"name": name})
        assert created.status_code == 201, created.text
        clone_id = created.json()["id"]
        draft = {"graph": ema_graph(asset)}
        drafted = self.client.put(f"/v1/clones/{clone_id}/draft", headers=self.owner, json=draft)
        assert drafted.status_code == 200, drafted.text
        version = self.client.post(f"/v1/clones/{clone_id}/versions", headers=self.owner)
        assert version.status_code == 201, version.text
        return clone_id, version.json()["versionId"]

    def pay(self, clone_id: str, version_id: str, tier: str, *, nonce: int) -> dict[str, Any]:
        """Quote, then submit the vault's locally signed receipt: the purchase."""
        body = {"cloneId": clone_id, "versionId": version_id, "tier": tier}
        quote = self.client.post("/v1/economy/audition-fee/quote", headers=self.owner, json=body)
        assert quote.status_code == 201, quote.text
        quoted = quote.json()
        receipt = a_fee_receipt(
            domain=DOMAIN,
            payer=quoted["payer"],
            amount_wei=int(quoted["amountWei"]),
            audition_id=quoted["auditionId"],
            nonce=nonce,
            deadline=self.world.service.now() + timedelta(minutes=10),
        )
        submitted = self.client.post(
            "/v1/economy/audition-fee/submit",
            headers={**self.owner, "Idempotency-Key": f"pay-{nonce}"},
            json={"quoteId": quoted["id"], "typedData": receipt, "signature": sign(receipt)},
        )
        assert submitted.status_code == 201, submitted.text
        found: dict[str, Any] = submitted.json()
        return found

    def publish_profile(self, clone_id: str, name: str) -> None:
        """Publish the clone's public profile (an Arena gate)."""
        body = {"name": name, "bio": f"{name} trades EMA crossovers.", "avatarUrl": None}
        found = self.client.put(f"/v1/clones/{clone_id}/profile", headers=self.owner, json=body)
        assert found.status_code == 200, found.text

    def account_id(self, audition_id: str) -> UUID:
        """The current run's prop account."""
        return UUID(self.audition(audition_id).json()["accountId"])


@contextmanager
def audition_world(
    database_url: str,
    *,
    market_mode: str = "replay",
    extra: Sequence[Callable[[Container], Worker]] = (),
    settings: dict[str, Any] | None = None,
    **rules: dict[str, Any],
) -> Iterator[AuditionWorld]:
    """Build the world; ``rules`` overlay the audition rules per tier (``starter={...}``).

    ``market_mode="live"`` judges the replayed data as live data (health history counts).
    """
    with trading_world(
        database_url,
        extra=(MarkWorker, AuditionWorker, *extra),
        audition_rules=rules,
        market_mode=market_mode,
        **(settings or {}),
    ) as world:
        client = TestClient(create_app(world.container), raise_server_exceptions=False)
        yield AuditionWorld(world, client, user(client, "owner"))
