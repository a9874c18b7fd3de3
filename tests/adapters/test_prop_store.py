"""The prop ledger on the real stores: its own event table, state that survives a restart."""

from __future__ import annotations

from decimal import Decimal

from adapters.asset_registry import AssetRegistry
from adapters.bootstrap import fee_schedule
from adapters.database import Database
from adapters.event_stores import factory_builder
from adapters.market_store import MarketStore
from adapters.market_view import MarketMemoryView
from adapters.settings import Settings
from domain.clock import SimulatedClock
from domain.market.model import AssetContext
from domain.prop.application import PropLedger
from domain.prop.orders import MarketOrder
from domain.prop.positions import Side
from domain.prop.rules import Purpose, RuleSet
from tests.domain.prop.test_ledger import T0


def _ledger(database: Database) -> PropLedger:
    ledger = PropLedger(clock=SimulatedClock(T0), factory_builder=factory_builder(database))
    registry = AssetRegistry(database, fee_schedule(Settings()))
    registry.seed(T0)
    ledger.bind_market(MarketMemoryView(registry, MarketStore(database)))
    return ledger


def test_orders_against_market_memory_persist_across_instances(database: Database) -> None:
    # Arrange: market memory knows BTC's mark at T0.
    MarketStore(database).upsert_contexts(
        "bundled", [AssetContext("BTC", T0, Decimal("33776.6"), Decimal("33776.6"), Decimal(0))]
    )
    ledger = _ledger(database)
    account_id = ledger.open_account(
        cause="audition:1",
        owner="u1",
        purpose=Purpose.AUDITION,
        rules=RuleSet(),
        collateral_micros=10_000_000_000,
    )
    # Act
    outcome = ledger.submit_order(
        account_id, MarketOrder("o1", "BTC", Side.BUY, Decimal("0.01"), 5)
    )
    reloaded = _ledger(database).account(account_id)
    # Assert
    assert outcome.status == "filled"
    assert reloaded.positions["BTC"]["size"] == Decimal("0.01")
    assert reloaded.positions["BTC"]["instrument_version"] == 1
    assert reloaded.positions["BTC"]["entry_price"] == Decimal("33794")  # +5 bps, gridded up
    assert reloaded.collateral_micros == ledger.account(account_id).collateral_micros
    with database.transaction(write=False) as session:
        assert session.table_exists("prop_events")


def test_order_without_a_mark_is_rejected_not_lost(database: Database) -> None:
    ledger = _ledger(database)
    account_id = ledger.open_account(
        cause="sandbox:1",
        owner="u1",
        purpose=Purpose.SANDBOX,
        rules=RuleSet(),
        collateral_micros=1_000_000_000,
    )
    outcome = ledger.submit_order(account_id, MarketOrder("o1", "ETH", Side.BUY, Decimal("1"), 2))
    assert (outcome.status, outcome.reason) == ("rejected", "no_mark")
    assert _ledger(database).account(account_id).orders["o1"]["status"] == "rejected"
