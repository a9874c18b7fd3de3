"""One schema change of the plain tables: a version, a name and its statements."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    """One schema change: a version, a name and its statements (each idempotent)."""

    version: int
    name: str
    statements: tuple[str, ...]
