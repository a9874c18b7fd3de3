"""The base of every read-model query class: views that exist before the first projection.

A query may run before its projection has ever caught up (a fresh store, a rebuild in
progress); the views then read as empty instead of failing, because the reader creates
the projection's tables (``CREATE TABLE IF NOT EXISTS``) once per instance.
"""

from __future__ import annotations

from typing import Any

from adapters.database import Database
from projections.runner import Projection


class ViewReader:
    """Reads one projection's views."""

    def __init__(self, database: Database, projection: Projection) -> None:
        self.database = database
        self._projection = projection
        self._views_exist = False

    def tracked_position(self) -> int:
        """How far the projection has read its log."""
        row = self._one(
            "SELECT position FROM projection_tracking WHERE projection = %s",
            (self._projection.name,),
        )
        return 0 if row is None else int(row["position"])

    def _ensure_views(self) -> None:
        if not self._views_exist:
            with self.database.transaction() as session:
                self._projection.create(session)
            self._views_exist = True

    def _one(self, sql: str, params: tuple[Any, ...]) -> dict[str, Any] | None:
        self._ensure_views()
        with self.database.transaction(write=False) as session:
            return session.fetch_one(sql, params)

    def _all(self, sql: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
        self._ensure_views()
        with self.database.transaction(write=False) as session:
            return session.fetch_all(sql, params)
