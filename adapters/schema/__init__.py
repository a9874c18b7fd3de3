"""The plain-table schema as ordered migrations, one module per owner."""

from __future__ import annotations

from adapters.schema.backtests import BACKTESTS
from adapters.schema.economy import ECONOMY
from adapters.schema.identity import IDENTITY
from adapters.schema.keys import KEYS
from adapters.schema.lifecycle import LIFECYCLE
from adapters.schema.market import MARKET
from adapters.schema.migration import Migration
from adapters.schema.model_usage import MODEL_USAGE
from adapters.schema.operations import OPERATIONS
from adapters.schema.projections import PROJECTIONS
from adapters.schema.prop import PROP
from adapters.schema.trading import TRADING
from adapters.schema.workers import WORKERS

MIGRATIONS: tuple[Migration, ...] = (
    IDENTITY,
    WORKERS,
    MARKET,
    PROJECTIONS,
    PROP,
    TRADING,
    BACKTESTS,
    ECONOMY,
    LIFECYCLE,
    OPERATIONS,
    MODEL_USAGE,
    KEYS,
)

__all__ = ["MIGRATIONS", "Migration"]
