"""DefiLlama's free TVL and yields APIs as async calls returning market types (notes §3).

Why it looks like this:

- Two hosts (``api.llama.fi`` for TVL, ``yields.llama.fi`` for pools) behind the same
  Cloudflare front, so one budget covers both. No numeric limit is documented and the data
  refreshes about hourly, so the budget is deliberately small (30 requests a minute): a
  backfill of a few protocols and chains fits easily, and nothing here hammers a free API.
- Slugs and chain names go into the path percent-encoded, so a name with a space or a slash
  asks for that name rather than another route. An unknown one answers 404, which surfaces
  as :class:`~adapters.source_http.SourceRejected`.
- ``/protocols`` and ``/pools`` are multi-megabyte; callers fetch them rarely and filter.
"""

from __future__ import annotations

from urllib.parse import quote

import httpx

from adapters.settings import Settings
from adapters.source_http import Charge, Pacing, SourceHttp, SourceOptions, WeightBudget
from domain.market.model import TvlPoint
from domain.market.payloads_defillama import (
    SOURCE,
    parse_chains,
    parse_historical_chain_tvl,
    parse_pools,
    parse_protocol_tvl,
    parse_protocols,
)
from domain.market.sources import ChainSummary, ProtocolSummary, YieldPool

REQUESTS_PER_MINUTE = 30


class DefiLlamaClient:
    """Protocol and chain TVL and yield pools from DefiLlama."""

    def __init__(self, api: SourceHttp, yields: SourceHttp, budget: WeightBudget) -> None:
        self._api = api
        self._yields = yields
        self._budget = budget

    @classmethod
    def create(
        cls,
        api_url: str = "https://api.llama.fi",
        yields_url: str = "https://yields.llama.fi",
        *,
        timeout_seconds: float = 10.0,
        max_attempts: int = 4,
        transport: httpx.AsyncBaseTransport | None = None,
        pacing: Pacing | None = None,
    ) -> DefiLlamaClient:
        """Build a client with one conservative budget for both hosts."""
        options = SourceOptions(
            SOURCE, timeout_seconds, max_attempts, transport, pacing or Pacing()
        )
        budget = WeightBudget("defillama", REQUESTS_PER_MINUTE, 60.0, options.pacing.monotonic)
        return cls(options.http(api_url), options.http(yields_url), budget)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        pacing: Pacing | None = None,
    ) -> DefiLlamaClient:
        """Build a client from ``CLASH_DEFILLAMA_*URL`` and the source timeouts."""
        return cls.create(
            settings.defillama_url,
            settings.defillama_yields_url,
            timeout_seconds=settings.source_timeout_seconds,
            max_attempts=settings.source_max_attempts,
            transport=transport,
            pacing=pacing,
        )

    @property
    def budgets(self) -> tuple[WeightBudget, ...]:
        """The request budgets this client spends from."""
        return (self._budget,)

    async def aclose(self) -> None:
        """Close the HTTP connections of both hosts."""
        await self._api.aclose()
        await self._yields.aclose()

    async def protocols(self) -> list[ProtocolSummary]:
        """Return every listed protocol with its current TVL."""
        return parse_protocols(await self._get(self._api, "/protocols"))

    async def protocol(self, slug: str) -> list[TvlPoint]:
        """Return the protocol's total TVL series (USD), oldest first."""
        payload = await self._get(self._api, f"/protocol/{quote(slug, safe='')}")
        return parse_protocol_tvl(payload, slug)

    async def chains(self) -> list[ChainSummary]:
        """Return every chain with its current TVL."""
        return parse_chains(await self._get(self._api, "/v2/chains"))

    async def historical_chain_tvl(self, chain: str | None = None) -> list[TvlPoint]:
        """Return a chain's daily TVL series, or all chains' total when ``chain`` is None."""
        suffix = "" if chain is None else f"/{quote(chain, safe='')}"
        payload = await self._get(self._api, f"/v2/historicalChainTvl{suffix}")
        return parse_historical_chain_tvl(payload, chain)

    async def pools(self) -> list[YieldPool]:
        """Return every yield pool the yields service tracks."""
        return parse_pools(await self._get(self._yields, "/pools"))

    async def _get(self, http: SourceHttp, path: str) -> object:
        return await http.request("GET", path, charges=(Charge(self._budget),))
