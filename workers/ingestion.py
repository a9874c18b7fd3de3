"""Live ingestion: polls each enabled source channel on its cadence (``--market live``).

Work items are source channels (``hyperliquid:contexts``, ``hyperliquid:candles:BTC:5m``,
``polymarket:markets``, ``defillama:tvl:protocol:aave`` ...). A channel is due when its
cadence has passed since its last success (from source health, so several processes agree).
Source failures (unreachable, refused, malformed payload) are not worker failures: they are
recorded as source health with their message and the offending field, nothing partial is
stored (parsers finish before anything is written), and the channel is polled again on its
next step. Anything else is a bug and goes through the runtime's retries and dead letters.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
import structlog

from adapters.bootstrap import Container
from adapters.defillama_client import DefiLlamaClient
from adapters.hyperliquid_client import HyperliquidClient
from adapters.polymarket_client import PolymarketClient
from domain.market.payloads import SourceError
from workers.ingestion_jobs import Fetched, IngestionJobs
from workers.runtime import WorkItem

log = structlog.get_logger("workers.ingestion")


@dataclass(frozen=True)
class Cadence:
    """How often each kind of channel is polled."""

    contexts: timedelta = timedelta(minutes=1)
    candles: timedelta = timedelta(minutes=1)
    funding: timedelta = timedelta(hours=1)
    predictions: timedelta = timedelta(minutes=10)
    tvl: timedelta = timedelta(hours=1)


@dataclass
class Ingestion:
    """The ``ingestion`` worker."""

    container: Container
    cadence: Cadence = field(default_factory=Cadence)
    transport: httpx.AsyncBaseTransport | None = None  # tests hand in a MockTransport
    name: str = "ingestion"
    interval: timedelta = timedelta(seconds=30)
    critical: bool = False

    def channels(self) -> dict[str, timedelta]:
        """Every channel this deployment polls, with its cadence."""
        settings, c = self.container.settings, self.cadence
        channels = {"hyperliquid:contexts": c.contexts}
        for asset in settings.market_assets:
            channels |= {f"hyperliquid:candles:{asset}:{i}": c.candles for i in ("5m", "1h")}
            channels[f"hyperliquid:funding:{asset}"] = c.funding
        if settings.polymarket_market_slugs:
            channels["polymarket:markets"] = c.predictions
        channels |= {f"defillama:tvl:protocol:{p}": c.tvl for p in settings.defillama_protocols}
        channels |= {f"defillama:tvl:chain:{n}": c.tvl for n in settings.defillama_chains}
        return channels

    def pending(self, now: datetime) -> Sequence[WorkItem]:
        """The channels whose cadence has passed since their last success."""
        last = {
            (h.source, h.channel): h.last_success_at for h in self.container.source_health.all()
        }
        due = []
        for key, cadence in self.channels().items():
            source, channel = key.split(":", 1)
            succeeded = last.get((source, channel))
            if succeeded is None or now - succeeded >= cadence:
                due.append(WorkItem(key))
        return due

    def perform(self, item: WorkItem, now: datetime) -> None:
        """Poll one channel; record its health either way."""
        source, channel = item.key.split(":", 1)
        health = self.container.source_health
        try:
            fetched = asyncio.run(self._poll(source, channel, now))
        except SourceError as exc:
            health.record_failure(source, channel, now=now, error=str(exc))
            log.warning("source_failed", source=source, channel=channel, error=str(exc))
            return
        health.record_success(source, channel, now=now, data_at=fetched.newest)

    async def _poll(self, source: str, channel: str, now: datetime) -> Fetched:
        settings, transport = self.container.settings, self.transport
        jobs = IngestionJobs(self.container)
        if source == "hyperliquid":
            hyperliquid = HyperliquidClient.from_settings(settings, transport=transport)
            try:
                return await jobs.hyperliquid(hyperliquid, channel, now)
            finally:
                await hyperliquid.aclose()
        if source == "polymarket":
            polymarket = PolymarketClient.from_settings(settings, transport=transport)
            try:
                return await jobs.polymarket(polymarket, channel, now)
            finally:
                await polymarket.aclose()
        defillama = DefiLlamaClient.from_settings(settings, transport=transport)
        try:
            return await jobs.defillama(defillama, channel, now)
        finally:
            await defillama.aclose()
