"""The asset registry: versioned perp specs, so a backtest can pin the registry of its date.

Each asset has versions; a version is in force from its ``valid_from`` market time until
the next one. Recording specs from ``meta`` adds a version only for assets whose content
changed (a hash of the spec and fees), so polling every minute does not grow the table.
On first run the registry is seeded with BTC, ETH and SOL as Hyperliquid lists them, valid
from the start of the bundled data (2020-12-01), so replays and backtests of 2020-21 find
their instruments.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from adapters.database import Database, Session, from_micros, to_micros
from domain.market.instruments import Instrument
from domain.market.model import MarginTier, PerpSpec

BUNDLED_DATA_START = datetime(2020, 12, 1, tzinfo=UTC)

# Real Hyperliquid values (meta, 2025-12/2026-02): index in `universe`, szDecimals,
# maxLeverage and the margin tiers of their tables (trading-math 1.2).
SEED_SPECS = (
    PerpSpec("BTC", 0, 5, 40, (MarginTier(Decimal("0"), 40), MarginTier(Decimal("150000000"), 20))),
    PerpSpec("ETH", 1, 4, 25, (MarginTier(Decimal("0"), 25), MarginTier(Decimal("100000000"), 15))),
    PerpSpec("SOL", 5, 2, 20, (MarginTier(Decimal("0"), 20), MarginTier(Decimal("70000000"), 10))),
)


@dataclass(frozen=True)
class FeeSchedule:
    """Fee rates and the minimum order notional applied to every perp."""

    taker: Decimal
    maker: Decimal
    min_notional: Decimal


class AssetRegistry:
    """Versioned perp specs on the project database."""

    def __init__(self, database: Database, fees: FeeSchedule) -> None:
        self.database = database
        self.fees = fees

    def record(
        self, specs: Sequence[PerpSpec], *, valid_from: datetime, source: str, now: datetime
    ) -> list[str]:
        """Add a version for each spec that differs from the one in force; return names."""
        changed = []
        with self.database.transaction() as session:
            for spec in specs:
                if self._record_one(session, spec, valid_from, source, now):
                    changed.append(spec.name)
        return changed

    def seed(self, now: datetime) -> list[str]:
        """Record the default BTC/ETH/SOL specs for assets that have no version yet."""
        with self.database.transaction(write=False) as session:
            known = {
                r["name"] for r in session.fetch_all("SELECT DISTINCT name FROM market_assets")
            }
        missing = [spec for spec in SEED_SPECS if spec.name not in known]
        return self.record(missing, valid_from=BUNDLED_DATA_START, source="seed", now=now)

    def instrument(self, name: str, at: datetime) -> Instrument | None:
        """The version of ``name`` in force at market time ``at``, or ``None``."""
        with self.database.transaction(write=False) as session:
            row = session.fetch_one(
                "SELECT * FROM market_assets WHERE name = %s AND valid_from <= %s"
                " ORDER BY valid_from DESC, version DESC LIMIT 1",
                (name, to_micros(at)),
            )
        return None if row is None else _instrument(row)

    def instruments(self, at: datetime) -> list[Instrument]:
        """Every asset's version in force at ``at``, by name."""
        with self.database.transaction(write=False) as session:
            names = [
                r["name"]
                for r in session.fetch_all(
                    "SELECT DISTINCT name FROM market_assets WHERE valid_from <= %s ORDER BY name",
                    (to_micros(at),),
                )
            ]
        found = (self.instrument(name, at) for name in names)
        return [instrument for instrument in found if instrument is not None]

    def _record_one(
        self, session: Session, spec: PerpSpec, valid_from: datetime, source: str, now: datetime
    ) -> bool:
        document = _document(spec, self.fees)
        digest = hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()
        latest = session.fetch_one(
            "SELECT version, content_hash FROM market_assets WHERE name = %s"
            " ORDER BY version DESC LIMIT 1",
            (spec.name,),
        )
        if latest is not None and latest["content_hash"] == digest:
            return False
        version = 1 if latest is None else int(latest["version"]) + 1
        session.execute(
            "INSERT INTO market_assets (name, version, valid_from, source, content_hash, spec,"
            " recorded_at) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (
                spec.name,
                version,
                to_micros(valid_from),
                source,
                digest,
                json.dumps(document, sort_keys=True),
                to_micros(now),
            ),
        )
        return True


def _document(spec: PerpSpec, fees: FeeSchedule) -> dict[str, Any]:
    return {
        "name": spec.name,
        "index": spec.index,
        "size_decimals": spec.size_decimals,
        "max_leverage": spec.max_leverage,
        "margin_tiers": [[str(t.lower_bound), t.max_leverage] for t in spec.margin_tiers],
        "only_isolated": spec.only_isolated,
        "delisted": spec.delisted,
        "margin_mode": spec.margin_mode,
        "taker_fee_rate": str(fees.taker),
        "maker_fee_rate": str(fees.maker),
        "min_notional": str(fees.min_notional),
    }


def _instrument(row: dict[str, Any]) -> Instrument:
    doc = json.loads(row["spec"])
    spec = PerpSpec(
        name=doc["name"],
        index=doc["index"],
        size_decimals=doc["size_decimals"],
        max_leverage=doc["max_leverage"],
        margin_tiers=tuple(MarginTier(Decimal(b), lev) for b, lev in doc["margin_tiers"]),
        only_isolated=doc["only_isolated"],
        delisted=doc["delisted"],
        margin_mode=doc["margin_mode"],
    )
    return Instrument(
        spec=spec,
        version=int(row["version"]),
        valid_from=from_micros(row["valid_from"]),
        taker_fee_rate=Decimal(doc["taker_fee_rate"]),
        maker_fee_rate=Decimal(doc["maker_fee_rate"]),
        min_notional=Decimal(doc["min_notional"]),
    )
