"""Source-shaped value types that :mod:`domain.market.model` has no place for yet.

Why separate: ``model.py`` holds what market memory stores and readers consume (candles,
funding, marks, prices, TVL points). The listings here (a Polymarket event with its markets,
DefiLlama's protocol, chain and yield-pool summaries) are what the sources *offer*: ingestion
uses them to choose what to follow and to seed the registry, so they stay close to the
sources' own vocabulary. Amounts are ``Decimal`` like everywhere else; a value a source may
omit is ``None``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from domain.market.model import PredictionMarket

# DefiLlama adds these to ``chainTvls`` beside the plain chains; they double-count if summed.
_EXTRA_TVL_KINDS = ("borrowed", "staking", "pool2")


def is_extra_tvl_key(key: str) -> bool:
    """Return whether a ``chainTvls`` key is an add-on (``Ethereum-staking``, ``pool2``)."""
    kind = key.rsplit("-", 1)[-1]
    return kind in _EXTRA_TVL_KINDS


@dataclass(frozen=True)
class PredictionEvent:
    """A Polymarket event: a headline grouping one or more markets."""

    event_id: str
    slug: str
    title: str
    active: bool
    closed: bool
    markets: tuple[PredictionMarket, ...]
    end_date: datetime | None = None
    volume: Decimal | None = None
    liquidity: Decimal | None = None
    open_interest: Decimal | None = None


@dataclass(frozen=True)
class ProtocolSummary:
    """A DefiLlama protocol as ``/protocols`` lists it, with its current TVL in USD."""

    protocol_id: str
    slug: str
    name: str
    category: str | None
    chains: tuple[str, ...]
    tvl_usd: Decimal | None
    chain_tvls: Mapping[str, Decimal] = field(default_factory=dict, hash=False)
    change_1d: Decimal | None = None
    change_7d: Decimal | None = None
    parent: str | None = None

    @property
    def core_chain_tvls(self) -> dict[str, Decimal]:
        """Return the per-chain TVLs without the add-on kinds, safe to sum."""
        return {key: tvl for key, tvl in self.chain_tvls.items() if not is_extra_tvl_key(key)}


@dataclass(frozen=True)
class ChainSummary:
    """A chain as DefiLlama's ``/v2/chains`` lists it, with its current TVL in USD."""

    name: str
    tvl_usd: Decimal
    token_symbol: str | None = None
    gecko_id: str | None = None
    cmc_id: str | None = None
    chain_id: int | None = None


@dataclass(frozen=True)
class YieldPool:
    """A yield pool from DefiLlama's yields service; APYs are percentages."""

    pool_id: str
    chain: str
    project: str
    symbol: str
    tvl_usd: Decimal
    apy: Decimal | None = None
    apy_base: Decimal | None = None
    apy_reward: Decimal | None = None
    stablecoin: bool = False
    exposure: str | None = None
    il_risk: str | None = None
    pool_meta: str | None = None
    underlying_tokens: tuple[str, ...] = ()
