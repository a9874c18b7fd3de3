"""Account bindings: which clone version trades which prop account, and when.

Auditions, the Arena and races do not run strategies themselves: they *bind* an account to
a pinned clone version for a market-time window, and the trading worker drives exactly the
bound accounts. Two aggregates, saved together:

- :class:`AccountBinding` (one per account, id from the account id) records each binding,
  its pauses and its end. Binding again with the same terms is a no-op (idempotent);
  other terms while bound are refused.
- :class:`VersionSchedule` (one per clone version) holds the windows in which that version
  trades. A new window that overlaps another account's window (less the pauses) is
  refused unless the binder allows concurrency, so one version never trades two accounts
  at the same instant by accident. Races pause the Arena binding for their window and
  then bind the race account: the pause is what makes the windows disjoint.

Saving both in one ``save()`` makes the exclusivity check and the binding atomic: two
concurrent binds of one version cannot both pass, the loser's save conflicts and retries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID, uuid5

from domain.aggregates import ClashAggregate

BINDINGS_NAMESPACE = UUID("0c0e5f4f-2b8e-4f55-8d1e-5a3f6c1d9b27")


def binding_id_for(account_id: UUID) -> UUID:
    """The id of ``account_id``'s binding aggregate."""
    return uuid5(BINDINGS_NAMESPACE, f"account:{account_id}")


def schedule_id_for(version_id: UUID) -> UUID:
    """The id of ``version_id``'s schedule aggregate."""
    return uuid5(BINDINGS_NAMESPACE, f"version:{version_id}")


@dataclass(frozen=True)
class Window:
    """A half-open market-time window ``[start, end)``; ``end`` None means open-ended."""

    start: datetime
    end: datetime | None

    def contains(self, instant: datetime) -> bool:
        """Whether ``instant`` lies in the window."""
        return self.start <= instant and (self.end is None or instant < self.end)

    def overlaps(self, other: Window) -> bool:
        """Whether the two windows share an instant."""
        before = other.end is not None and other.end <= self.start
        after = self.end is not None and self.end <= other.start
        return not (before or after)

    def to_document(self) -> list[str | None]:
        """``[start, end]`` as ISO 8601 strings."""
        return [self.start.isoformat(), None if self.end is None else self.end.isoformat()]

    @classmethod
    def from_document(cls, document: list[Any]) -> Window:
        """Rebuild from :meth:`to_document`."""
        end = document[1]
        return cls(datetime.fromisoformat(document[0]), end and datetime.fromisoformat(end))


class AccountBinding(ClashAggregate):
    """The binding history of one prop account (state assigned only by the events)."""

    TOPIC: ClassVar[str] = "trading.AccountBinding"

    class Event(ClashAggregate.Event):
        TOPIC = "trading.AccountBinding.Event"

    class Created(Event, ClashAggregate.Created):
        TOPIC = "trading.AccountBinding.Created"

    class Registered(Created):
        TOPIC = "trading.AccountBinding.Registered"
        account_id: UUID

    class Bound(Event):
        TOPIC = "trading.AccountBinding.Bound"
        version_id: UUID
        clone_id: UUID
        content_hash: str
        purpose: str
        window: list[Any]
        allow_concurrent: bool

        def apply(self, aggregate: AccountBinding) -> None:
            aggregate.terms = {
                "version_id": self.version_id,
                "clone_id": self.clone_id,
                "content_hash": self.content_hash,
                "purpose": self.purpose,
                "window": self.window,
                "allow_concurrent": self.allow_concurrent,
            }
            aggregate.pauses = []
            aggregate.active = True
            aggregate.bindings += 1

    class Paused(Event):
        TOPIC = "trading.AccountBinding.Paused"
        window: list[Any]
        reason: str

        def apply(self, aggregate: AccountBinding) -> None:
            aggregate.pauses = [*aggregate.pauses, self.window]

    class Resumed(Event):
        TOPIC = "trading.AccountBinding.Resumed"
        window: list[Any]
        reason: str

        def apply(self, aggregate: AccountBinding) -> None:
            aggregate.pauses = [p for p in aggregate.pauses if p != self.window]

    class Unbound(Event):
        TOPIC = "trading.AccountBinding.Unbound"
        reason: str

        def apply(self, aggregate: AccountBinding) -> None:
            aggregate.active = False
            aggregate.unbound_reason = self.reason

    def __init__(self, account_id: UUID) -> None:
        self.account_id = account_id
        self.terms: dict[str, Any] = {}
        self.pauses: list[list[Any]] = []
        self.active = False
        self.bindings = 0
        self.unbound_reason: str | None = None

    @classmethod
    def register(cls, account_id: UUID) -> AccountBinding:
        """A new, unbound binding aggregate for ``account_id`` (deterministic id)."""
        return cls._create(cls.Registered, id=binding_id_for(account_id), account_id=account_id)

    @property
    def window(self) -> Window:
        """The current (or last) binding's window."""
        return Window.from_document(self.terms["window"])

    @property
    def version_id(self) -> UUID:
        """The bound clone version."""
        version: UUID = self.terms["version_id"]
        return version

    def paused_windows(self) -> list[Window]:
        """The pauses of the current binding."""
        return [Window.from_document(p) for p in self.pauses]

    def trades_at(self, instant: datetime) -> bool:
        """Whether the account is bound, in its window and not paused at ``instant``."""
        if not self.active or not self.window.contains(instant):
            return False
        return not any(p.contains(instant) for p in self.paused_windows())


class VersionSchedule(ClashAggregate):
    """When one clone version trades which account (the exclusivity guard)."""

    TOPIC: ClassVar[str] = "trading.VersionSchedule"

    class Event(ClashAggregate.Event):
        TOPIC = "trading.VersionSchedule.Event"

    class Created(Event, ClashAggregate.Created):
        TOPIC = "trading.VersionSchedule.Created"

    class Started(Created):
        TOPIC = "trading.VersionSchedule.Started"
        version_id: UUID

    class Claimed(Event):
        TOPIC = "trading.VersionSchedule.Claimed"
        account_id: UUID
        window: list[Any]
        allow_concurrent: bool

        def apply(self, aggregate: VersionSchedule) -> None:
            aggregate.claims = {
                **aggregate.claims,
                str(self.account_id): {
                    "window": self.window,
                    "pauses": [],
                    "shared": self.allow_concurrent,
                },
            }

    class Yielded(Event):
        TOPIC = "trading.VersionSchedule.Yielded"
        account_id: UUID
        window: list[Any]

        def apply(self, aggregate: VersionSchedule) -> None:
            claim = aggregate.claims[str(self.account_id)]
            claim["pauses"] = [*claim["pauses"], self.window]

    class Reclaimed(Event):
        TOPIC = "trading.VersionSchedule.Reclaimed"
        account_id: UUID
        window: list[Any]

        def apply(self, aggregate: VersionSchedule) -> None:
            claim = aggregate.claims.get(str(self.account_id))
            if claim is not None:
                claim["pauses"] = [p for p in claim["pauses"] if p != self.window]

    class Released(Event):
        TOPIC = "trading.VersionSchedule.Released"
        account_id: UUID

        def apply(self, aggregate: VersionSchedule) -> None:
            aggregate.claims = {
                k: v for k, v in aggregate.claims.items() if k != str(self.account_id)
            }

    def __init__(self, version_id: UUID) -> None:
        self.version_id = version_id
        self.claims: dict[str, dict[str, Any]] = {}

    @classmethod
    def start(cls, version_id: UUID) -> VersionSchedule:
        """A new, empty schedule for ``version_id`` (deterministic id)."""
        return cls._create(cls.Started, id=schedule_id_for(version_id), version_id=version_id)

    def conflicts(self, account_id: UUID, window: Window) -> list[str]:
        """Accounts whose exclusive claim overlaps ``window`` outside their pauses."""
        found = []
        for other, claim in sorted(self.claims.items()):
            if other == str(account_id) or claim["shared"]:
                continue
            theirs = Window.from_document(claim["window"])
            pauses = [Window.from_document(p) for p in claim["pauses"]]
            if theirs.overlaps(window) and not any(_covers(p, theirs, window) for p in pauses):
                found.append(other)
        return found


def _covers(pause: Window, theirs: Window, mine: Window) -> bool:
    """Whether ``pause`` covers the whole overlap of ``theirs`` and ``mine``."""
    start = max(theirs.start, mine.start)
    ends = [e for e in (theirs.end, mine.end) if e is not None]
    end = min(ends) if ends else None
    starts_in = pause.start <= start
    ends_in = pause.end is None or (end is not None and end <= pause.end)
    return starts_in and ends_in
