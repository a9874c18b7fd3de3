"""The bindings read model: which accounts the trading worker drives, for which version.

Bindings are rare events (an audition starts, an Arena slot fills, a race launches), so
the fold writes per event. The trading worker catches this projection up itself before
each step (the runner's page claims make that safe beside the projections worker), so a
binding made a moment ago is traded at its next tick, not after a projection lag.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from adapters.database import Database, Session, to_micros
from domain.trading.binding import AccountBinding, Window
from projections.runner import Projection

_TABLE = """CREATE TABLE IF NOT EXISTS trading_bindings_view (
    binding_id TEXT PRIMARY KEY, account_id TEXT NOT NULL, version_id TEXT,
    clone_id TEXT, purpose TEXT, window_doc TEXT, pauses TEXT NOT NULL,
    active BIGINT NOT NULL, reason TEXT, updated_at BIGINT NOT NULL)"""


class TradingBindingsProjection(Projection):
    """Folds the ``trading`` log into ``trading_bindings_view``."""

    name = "trading_bindings"
    version = 1
    tables = ("trading_bindings_view",)

    def create(self, session: Session) -> None:
        """Create the view table."""
        session.execute(_TABLE)

    def apply(self, session: Session, event: Any, position: int) -> None:
        """Write what one binding event implies."""
        binding, at = str(event.originator_id), to_micros(event.timestamp)
        match event:
            case AccountBinding.Registered():
                session.execute(
                    "INSERT INTO trading_bindings_view (binding_id, account_id, pauses, active,"
                    " updated_at) VALUES (%s, %s, '[]', 0, %s) ON CONFLICT (binding_id)"
                    " DO NOTHING",
                    (binding, str(event.account_id), at),
                )
            case AccountBinding.Bound():
                session.execute(
                    "UPDATE trading_bindings_view SET version_id = %s, clone_id = %s,"
                    " purpose = %s, window_doc = %s, pauses = '[]', active = 1, reason = NULL,"
                    " updated_at = %s WHERE binding_id = %s",
                    (
                        str(event.version_id),
                        str(event.clone_id),
                        event.purpose,
                        json.dumps(event.window),
                        at,
                        binding,
                    ),
                )
            case AccountBinding.Paused():
                row = session.fetch_one(
                    "SELECT pauses FROM trading_bindings_view WHERE binding_id = %s", (binding,)
                )
                pauses = [*json.loads(row["pauses"] if row else "[]"), event.window]
                session.execute(
                    "UPDATE trading_bindings_view SET pauses = %s, updated_at = %s"
                    " WHERE binding_id = %s",
                    (json.dumps(pauses), at, binding),
                )
            case AccountBinding.Resumed():
                row = session.fetch_one(
                    "SELECT pauses FROM trading_bindings_view WHERE binding_id = %s", (binding,)
                )
                kept = [p for p in json.loads(row["pauses"] if row else "[]") if p != event.window]
                session.execute(
                    "UPDATE trading_bindings_view SET pauses = %s, updated_at = %s"
                    " WHERE binding_id = %s",
                    (json.dumps(kept), at, binding),
                )
            case AccountBinding.Unbound():
                session.execute(
                    "UPDATE trading_bindings_view SET active = 0, reason = %s, updated_at = %s"
                    " WHERE binding_id = %s",
                    (event.reason, at, binding),
                )


@dataclass(frozen=True)
class BoundAccount:
    """An active binding as the trading worker reads it."""

    account_id: UUID
    version_id: UUID
    clone_id: UUID
    purpose: str
    window: Window
    pauses: tuple[Window, ...]

    def trades_at(self, instant: datetime) -> bool:
        """In the window and not paused at ``instant``."""
        return self.window.contains(instant) and not any(p.contains(instant) for p in self.pauses)


def active_bindings(database: Database) -> list[BoundAccount]:
    """Every active binding, by account id."""
    with database.transaction(write=False) as session:
        if not session.table_exists("trading_bindings_view"):
            return []
        rows = session.fetch_all(
            "SELECT * FROM trading_bindings_view WHERE active = 1 ORDER BY account_id"
        )
    return [
        BoundAccount(
            account_id=UUID(row["account_id"]),
            version_id=UUID(row["version_id"]),
            clone_id=UUID(row["clone_id"]),
            purpose=row["purpose"],
            window=Window.from_document(json.loads(row["window_doc"])),
            pauses=tuple(Window.from_document(p) for p in json.loads(row["pauses"])),
        )
        for row in rows
    ]
