"""A race's configuration, frozen on the race when it is scheduled.

Why frozen: a running race is judged by the rules it started with; changing the settings
later (more entrants, another strike rule) changes only races scheduled afterwards. The
document round-trips through the ``Scheduled`` event (decimals as strings, durations in
seconds).

- ``entrants`` (at most) and ``min_entrants`` (fewer at launch: cancelled);
- ``selection``: ``hashed_rotation`` (``race_selection.py``);
- ``ticket_window`` (scheduled -> launch), ``launch_gap`` (launch -> live: accounts are
  opened and bound before the window opens), ``duration`` (live -> end), ``retention``
  (settled -> archived);
- ``collateral_micros``: every entrant's race account starts equal;
- ``rake_rate``, ``creator_rate`` and ``rank_weights`` (positive integers that never grow
  with the rank; K = how many): the ticket pool's settlement rules
  (``domain/economy/parimutuel.py``, :attr:`RaceConfig.pool_rules`);
- ``strike_rule`` (``last_place`` or ``drawdown_over``), ``strike_drawdown`` (for the
  latter) and ``strikes_to_retire``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import timedelta
from decimal import Decimal
from typing import Any

from domain.economy.parimutuel import PoolRules
from domain.lifecycle.audition_rules import AuditionError

SELECTIONS = frozenset({"hashed_rotation"})
STRIKE_RULES = frozenset({"last_place", "drawdown_over"})
_SECONDS = ("ticket_window", "launch_gap", "duration", "retention")


class RaceConfigInvalid(AuditionError):
    """Raised when a race configuration breaks a bound."""

    reason = "race_config_invalid"


@dataclass(frozen=True)
class RaceConfig:
    """What a race is run and judged by."""

    entrants: int = 4
    min_entrants: int = 2
    selection: str = "hashed_rotation"
    ticket_window: timedelta = timedelta(minutes=30)
    launch_gap: timedelta = timedelta(minutes=5)
    duration: timedelta = timedelta(hours=2)
    retention: timedelta = timedelta(days=7)
    collateral_micros: int = 10_000_000_000
    rake_rate: Decimal = Decimal("0.05")
    creator_rate: Decimal = Decimal("0.05")
    rank_weights: tuple[int, ...] = (3, 2, 1)
    strike_rule: str = "last_place"
    strike_drawdown: Decimal = Decimal("0.20")
    strikes_to_retire: int = 3

    def __post_init__(self) -> None:
        _require_types(self)
        if not 2 <= self.min_entrants <= self.entrants <= 64:
            raise RaceConfigInvalid(entrants=self.entrants, min_entrants=self.min_entrants)
        if self.selection not in SELECTIONS or self.strike_rule not in STRIKE_RULES:
            raise RaceConfigInvalid(selection=self.selection, strike_rule=self.strike_rule)
        if any(getattr(self, name) < timedelta(0) for name in _SECONDS):
            raise RaceConfigInvalid(durations="must not be negative")
        if any(getattr(self, name) % timedelta(seconds=1) for name in _SECONDS):
            raise RaceConfigInvalid(durations="whole seconds (the document keeps seconds)")
        if self.duration <= timedelta(0) or self.collateral_micros <= 0:
            raise RaceConfigInvalid(duration=self.duration, collateral=self.collateral_micros)
        rates = (self.rake_rate, self.creator_rate)
        if any(r < 0 for r in rates) or sum(rates) >= 1 or self.strikes_to_retire < 1:
            raise RaceConfigInvalid(rates=rates, strikes=self.strikes_to_retire)
        weights = self.rank_weights
        if not weights or any(w <= 0 for w in weights) or list(weights) != sorted(weights)[::-1]:
            raise RaceConfigInvalid(rank_weights=weights)
        if not Decimal(0) < self.strike_drawdown <= 1:
            raise RaceConfigInvalid(drawdown=self.strike_drawdown)

    @property
    def pool_rules(self) -> PoolRules:
        """The ticket pool's settlement rules this race was scheduled with."""
        return PoolRules(self.rake_rate, self.creator_rate, self.rank_weights)

    def to_document(self) -> dict[str, Any]:
        """The configuration as JSON-ready data."""
        document: dict[str, Any] = {}
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, timedelta):
                document[f"{field.name}_seconds"] = int(value.total_seconds())
            elif isinstance(value, Decimal):
                document[field.name] = str(value)
            elif isinstance(value, tuple):
                document[field.name] = list(value)
            else:
                document[field.name] = value
        return document

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> RaceConfig:
        """Rebuild from :meth:`to_document` (raises RaceConfigInvalid on a bad document)."""
        try:
            values: dict[str, Any] = {}
            for field in fields(cls):
                if field.name in _SECONDS:
                    seconds = document[f"{field.name}_seconds"]
                    if not isinstance(seconds, int) or isinstance(seconds, bool):
                        raise TypeError(field.name)
                    values[field.name] = timedelta(seconds=seconds)
                elif field.name in _DECIMALS:
                    values[field.name] = _decimal(document[field.name])
                elif field.name == "rank_weights":
                    values[field.name] = tuple(document[field.name])
                else:
                    values[field.name] = document[field.name]
            return cls(**values)
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            raise RaceConfigInvalid(document=type(exc).__name__) from None


_INTS = ("entrants", "min_entrants", "collateral_micros", "strikes_to_retire")
_DECIMALS = ("rake_rate", "creator_rate", "strike_drawdown")


def _require_types(config: RaceConfig) -> None:
    """Counts are ints, amounts finite Decimals, durations timedeltas: never floats."""
    for name in _INTS:
        value = getattr(config, name)
        if not isinstance(value, int) or isinstance(value, bool):
            raise RaceConfigInvalid(**{name: value})
    amounts = tuple(getattr(config, name) for name in _DECIMALS)
    if not all(isinstance(a, Decimal) and a.is_finite() for a in amounts):
        raise RaceConfigInvalid(amounts="finite Decimals")
    if not isinstance(config.rank_weights, tuple) or not all(
        isinstance(w, int) and not isinstance(w, bool) for w in config.rank_weights
    ):
        raise RaceConfigInvalid(rank_weights="integers")
    if not all(isinstance(getattr(config, name), timedelta) for name in _SECONDS):
        raise RaceConfigInvalid(durations="timedeltas")
    if not isinstance(config.selection, str) or not isinstance(config.strike_rule, str):
        raise RaceConfigInvalid(selection=config.selection, strike_rule=config.strike_rule)


def _decimal(value: object) -> Decimal:
    if not isinstance(value, str):
        raise TypeError("decimals are strings in the document")
    found = Decimal(value)
    if not found.is_finite():
        raise ValueError(value)
    return found
