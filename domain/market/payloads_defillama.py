"""DefiLlama TVL and yields payloads to market types (``notes/market-data-sources.md`` §3).

Why these rules:

- DefiLlama sends amounts as JSON numbers (floats); each becomes ``Decimal`` through its
  printed form, so the stored value is the one the source printed, not a binary
  approximation of it.
- ``chainTvls`` means two things: on ``/protocols`` it maps chain to a number, on
  ``/protocol/{slug}`` it maps chain to whole series. Only the list shape is read here, and
  the series shape is left alone (the protocol's own ``tvl`` series is what is returned).
- ``historicalChainTvl`` is daily at 00:00 UTC except its last point, the latest hourly
  value; dates can repeat. Series are returned in time order with one point per ``date``
  (the later entry wins). The off-grid last point keeps its true time, so a reader can tell
  it from the daily closes.
- ``/pools`` wraps its rows in ``{"status": "success", "data": [...]}``; any other status is
  a malformed answer, not an empty list.
"""

from __future__ import annotations

from domain.market.model import TvlPoint
from domain.market.payloads import Field, maybe
from domain.market.sources import ChainSummary, ProtocolSummary, YieldPool

SOURCE = "defillama"


def parse_protocols(payload: object) -> list[ProtocolSummary]:
    """Parse ``/protocols`` into one summary per protocol."""
    root = Field.root(payload, SOURCE, "/protocols")
    return [_protocol(node) for node in root.items()]


def parse_protocol_tvl(payload: object, slug: str) -> list[TvlPoint]:
    """Parse ``/protocol/{slug}`` into the protocol's total TVL series (USD)."""
    root = Field.root(payload, SOURCE, f"/protocol/{slug}")
    subject = f"protocol:{slug}"
    points = [
        TvlPoint(subject, node.key("date").seconds(), node.key("totalLiquidityUSD").number())
        for node in root.key("tvl").items()
    ]
    return _one_per_time(points)


def parse_chains(payload: object) -> list[ChainSummary]:
    """Parse ``/v2/chains`` into one summary per chain."""
    root = Field.root(payload, SOURCE, "/v2/chains")
    return [_chain(node) for node in root.items()]


def parse_historical_chain_tvl(payload: object, chain: str | None) -> list[TvlPoint]:
    """Parse ``/v2/historicalChainTvl[/{chain}]``; ``None`` is the all-chains total."""
    endpoint = "/v2/historicalChainTvl" + ("" if chain is None else f"/{chain}")
    root = Field.root(payload, SOURCE, endpoint)
    subject = f"chain:{'*' if chain is None else chain}"
    points = [
        TvlPoint(subject, node.key("date").seconds(), node.key("tvl").number())
        for node in root.items()
    ]
    return _one_per_time(points)


def parse_pools(payload: object) -> list[YieldPool]:
    """Parse the yields service's ``/pools`` into one summary per pool."""
    root = Field.root(payload, SOURCE, "/pools")
    status = root.key("status")
    if status.text() != "success":
        status.fail(f"must be 'success', not {status.text()!r}")
    return [_pool(node) for node in root.key("data").items()]


def _one_per_time(points: list[TvlPoint]) -> list[TvlPoint]:
    return sorted({point.time: point for point in points}.values(), key=lambda p: p.time)


def _texts(node: Field | None) -> tuple[str, ...]:
    return () if node is None else tuple(item.text() for item in node.items())


def _protocol(node: Field) -> ProtocolSummary:
    chain_tvls = node.optional("chainTvls")
    return ProtocolSummary(
        protocol_id=node.key("id").text(),
        slug=node.key("slug").text(),
        name=node.key("name").text(),
        category=maybe(node.optional("category"), Field.text),
        chains=_texts(node.optional("chains")),
        tvl_usd=maybe(node.optional("tvl"), Field.number),
        chain_tvls={}
        if chain_tvls is None
        else {chain: tvl.number() for chain, tvl in chain_tvls.entries()},
        change_1d=maybe(node.optional("change_1d"), Field.number),
        change_7d=maybe(node.optional("change_7d"), Field.number),
        parent=maybe(node.optional("parentProtocol"), Field.text),
    )


def _chain(node: Field) -> ChainSummary:
    return ChainSummary(
        name=node.key("name").text(),
        tvl_usd=node.key("tvl").number(),
        token_symbol=maybe(node.optional("tokenSymbol"), Field.text),
        gecko_id=maybe(node.optional("gecko_id"), Field.text),
        cmc_id=maybe(node.optional("cmcId"), Field.text),
        chain_id=maybe(node.optional("chainId"), Field.integer),
    )


def _pool(node: Field) -> YieldPool:
    return YieldPool(
        pool_id=node.key("pool").text(),
        chain=node.key("chain").text(),
        project=node.key("project").text(),
        symbol=node.key("symbol").text(),
        tvl_usd=node.key("tvlUsd").number(),
        apy=maybe(node.optional("apy"), Field.number),
        apy_base=maybe(node.optional("apyBase"), Field.number),
        apy_reward=maybe(node.optional("apyReward"), Field.number),
        stablecoin=maybe(node.optional("stablecoin"), Field.flag) or False,
        exposure=maybe(node.optional("exposure"), Field.text),
        il_risk=maybe(node.optional("ilRisk"), Field.text),
        pool_meta=maybe(node.optional("poolMeta"), Field.text),
        underlying_tokens=_texts(node.optional("underlyingTokens")),
    )
