"""An audition's progress: the evaluator's whole state, small enough to persist after every mark.

Why a value with a document: the evaluator (:mod:`domain.lifecycle.audition_evaluator`) is a
pure fold over observations, and the worker that drives it restarts. Everything the fold needs
lives here, so ``from_document(to_document(p)) == p`` and resuming from a stored progress gives
the same outcome as never stopping (a property test pins this).

State, all money in ``Decimal`` USDC as observed (never rounded here):

- ``day`` and ``day_reference``: the current UTC day of the market clock and the daily-loss
  reference fixed at its midnight (the starting balance on the first day);
- ``eod_high``: the highest end-of-day balance so far, seeded with the starting balance (the
  trailing max-loss floor reads it);
- ``balance`` and ``equity``: the last known figures. A mark sets both; a fill moves the
  balance by its realized PnL minus its fee (the ledger posts exactly that), so a midnight
  after a late fill takes the right reference; equity is what the last mark showed;
- ``peak_equity``, ``max_drawdown``, ``max_drawdown_pct``: the running drawdown of the marked
  equity, the peak seeded with the starting balance (the ranking score reads it);
- ``day_pnl``: realized PnL net of fees per UTC day with a fill, days in order; the days it
  lists are the trading days;
- ``status``, ``ended_at`` and, when failed, the :class:`Breach` (rule, equity, instant, limit).

Documents: instants as ISO 8601 with offset, days as ISO dates, decimals as plain strings,
``day_pnl`` as an object of day to amount. A document that does not fit raises
:class:`ProgressDocumentInvalid`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from domain.backtesting.equity_curve import ZERO, utc_day
from domain.lifecycle.audition_rules import AuditionError, AuditionRules

__all__ = [
    "AuditionProgress",
    "AuditionStatus",
    "Breach",
    "BreachRule",
    "InstantNaive",
    "ProgressDocumentInvalid",
    "require_aware",
]

ProgressDocument = dict[str, object]
_AMOUNTS = (
    "starting_balance",
    "day_reference",
    "eod_high",
    "balance",
    "equity",
    "peak_equity",
    "max_drawdown",
    "max_drawdown_pct",
)


class ProgressDocumentInvalid(AuditionError):
    """Raised when a stored progress document is missing a field or holds a wrong value."""

    reason = "audition_progress_invalid"


class InstantNaive(AuditionError):
    """Raised when an audition instant (a start, an observation) has no UTC offset."""

    reason = "audition_instant_naive"


def require_aware(name: str, instant: datetime) -> None:
    """Raise InstantNaive unless ``instant`` is a timezone-aware datetime."""
    if not isinstance(instant, datetime) or instant.utcoffset() is None:
        raise InstantNaive(**{name: instant})


class AuditionStatus(StrEnum):
    """Where an audition stands; ``passed`` and ``failed`` are final."""

    RUNNING = "running"
    PASSED = "passed"
    FAILED = "failed"


class BreachRule(StrEnum):
    """The rule a failed audition broke (stable reasons)."""

    DAILY_LOSS = "daily_loss"
    MAX_LOSS = "max_loss"
    DEADLINE = "deadline"


@dataclass(frozen=True)
class Breach:
    """Why and when an audition failed: the equity seen and the limit it broke.

    ``limit`` is the floor the equity fell below; a deadline has none (``None``), and its
    ``at`` is the instant the window closed, its ``equity`` the last one marked.
    """

    rule: BreachRule
    equity: Decimal
    at: datetime
    limit: Decimal | None

    def to_document(self) -> ProgressDocument:
        """Return the breach as JSON-ready data."""
        return {
            "rule": self.rule.value,
            "equity": _text(self.equity),
            "at": self.at.isoformat(),
            "limit": None if self.limit is None else _text(self.limit),
        }

    @classmethod
    def from_document(cls, document: object) -> Breach:
        """Rebuild a breach from :meth:`to_document` (raises ProgressDocumentInvalid)."""
        data = _object(document, ("rule", "equity", "at", "limit"))
        if data["rule"] not in {rule.value for rule in BreachRule}:
            raise ProgressDocumentInvalid(rule=data["rule"])
        limit = None if data["limit"] is None else _decimal(data, "limit")
        rule = BreachRule(str(data["rule"]))
        return cls(rule, _decimal(data, "equity"), _instant(data, "at"), limit)


@dataclass(frozen=True)
class AuditionProgress:
    """Where one audition run stands; see the module docstring for each field."""

    started_at: datetime
    starting_balance: Decimal
    last_at: datetime
    day: date
    day_reference: Decimal
    eod_high: Decimal
    balance: Decimal
    equity: Decimal
    peak_equity: Decimal
    max_drawdown: Decimal
    max_drawdown_pct: Decimal
    day_pnl: tuple[tuple[date, Decimal], ...] = ()
    status: AuditionStatus = AuditionStatus.RUNNING
    ended_at: datetime | None = None
    breach: Breach | None = None

    @classmethod
    def start(cls, rules: AuditionRules, at: datetime) -> AuditionProgress:
        """Return the progress of a run that starts at ``at`` on the starting collateral."""
        require_aware("started_at", at)
        start = rules.starting_collateral
        return cls(at, start, at, utc_day(at), start, start, start, start, start, ZERO, ZERO)

    @property
    def running(self) -> bool:
        """Return whether observations still count."""
        return self.status is AuditionStatus.RUNNING

    @property
    def trading_days(self) -> frozenset[date]:
        """Return the UTC days with at least one fill."""
        return frozenset(day for day, _pnl in self.day_pnl)

    @property
    def total_profit(self) -> Decimal:
        """Return the realized PnL net of fees over the whole run."""
        return sum((pnl for _day, pnl in self.day_pnl), ZERO)

    @property
    def best_day_profit(self) -> Decimal | None:
        """Return the largest single day's realized PnL (``None`` before the first fill)."""
        return max((pnl for _day, pnl in self.day_pnl), default=None)

    def to_document(self) -> ProgressDocument:
        """Return the progress as JSON-ready data (see the module docstring)."""
        document: ProgressDocument = {name: _text(getattr(self, name)) for name in _AMOUNTS}
        return document | {
            "started_at": self.started_at.isoformat(),
            "last_at": self.last_at.isoformat(),
            "day": self.day.isoformat(),
            "day_pnl": {day.isoformat(): _text(pnl) for day, pnl in self.day_pnl},
            "status": self.status.value,
            "ended_at": None if self.ended_at is None else self.ended_at.isoformat(),
            "breach": None if self.breach is None else self.breach.to_document(),
        }

    @classmethod
    def from_document(cls, document: object) -> AuditionProgress:
        """Rebuild a progress from :meth:`to_document` (raises ProgressDocumentInvalid)."""
        keys = (*_AMOUNTS, "started_at", "last_at", "day", "day_pnl", "status")
        data = _object(document, (*keys, "ended_at", "breach"))
        if data["status"] not in {status.value for status in AuditionStatus}:
            raise ProgressDocumentInvalid(status=data["status"])
        status = AuditionStatus(str(data["status"]))
        ended_at = None if data["ended_at"] is None else _instant(data, "ended_at")
        breach = None if data["breach"] is None else Breach.from_document(data["breach"])
        if (status is AuditionStatus.RUNNING) != (ended_at is None) or (
            status is AuditionStatus.FAILED
        ) != (breach is not None):
            raise ProgressDocumentInvalid(status=status, ended_at=ended_at, breach=breach)
        amounts = {name: _decimal(data, name) for name in _AMOUNTS}
        return cls(
            started_at=_instant(data, "started_at"),
            last_at=_instant(data, "last_at"),
            day=_day(data["day"], "day"),
            day_pnl=_day_pnl(data["day_pnl"]),
            status=status,
            ended_at=ended_at,
            breach=breach,
            **amounts,
        )


def _text(value: Decimal) -> str:
    return format(value, "f")


def _object(document: object, keys: tuple[str, ...]) -> dict[str, object]:
    if not isinstance(document, dict) or set(document) != set(keys):
        raise ProgressDocumentInvalid(keys=",".join(keys))
    return document


def _decimal(data: dict[str, object], key: str) -> Decimal:
    value = data[key]
    if not isinstance(value, str):
        raise ProgressDocumentInvalid(**{key: value})
    try:
        parsed = Decimal(value)
    except InvalidOperation:
        raise ProgressDocumentInvalid(**{key: value}) from None
    if not parsed.is_finite():
        raise ProgressDocumentInvalid(**{key: value})
    return parsed


def _instant(data: dict[str, object], key: str) -> datetime:
    value = data[key]
    try:
        instant = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        instant = None
    if instant is None or instant.utcoffset() is None:
        raise ProgressDocumentInvalid(**{key: value})
    return instant


def _day(value: object, key: str) -> date:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ProgressDocumentInvalid(**{key: value})


def _day_pnl(value: object) -> tuple[tuple[date, Decimal], ...]:
    if not isinstance(value, dict):
        raise ProgressDocumentInvalid(day_pnl=value)
    days = sorted((_day(day, "day_pnl"), _decimal(value, day)) for day in value)
    if len({day for day, _pnl in days}) != len(days):
        raise ProgressDocumentInvalid(day_pnl=value)
    return tuple(days)
