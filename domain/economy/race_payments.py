"""A race's payment facts: the settlement as Economy records it, and payout authorizations.

Why here: Lifecycle computes a race's settlement rows (``parimutuel.settle_pool``) and saves
them with the race; Economy owns payment facts, so a policy following the lifecycle log
records them here exactly once (every id derives from the race and the row):

- :class:`RaceSettlement` (one per race): the method, the totals (staked, gross, rake,
  creator pool, holders' pool, breakage, creator unclaimed) and the rows' digest.
- :class:`PayoutAuthorization`: one per (recipient, race, kind), kind ``payout``,
  ``creator_share`` or ``refund``, with the amount summed over the recipient's rows; signed
  lazily by the payout key (``Signed``), nonce = the row's id, re-signed with the same nonce
  once expired. A ticket refunded before settlement (late, over the cap) gets its own row,
  kind ``refund``, keyed by the ticket refund.
- :class:`PayoutIndex` (one per recipient wallet): the authorizations to list for it.
"""

from __future__ import annotations

from typing import Any, ClassVar
from uuid import UUID, uuid5

from domain.aggregates import ClashAggregate
from domain.economy.purchases import PURCHASES_NAMESPACE

KINDS = ("payout", "creator_share", "refund")


def settlement_id_for(race_id: UUID) -> UUID:
    """The id of a race's settlement record."""
    return uuid5(PURCHASES_NAMESPACE, f"settlement:{race_id}")


def authorization_id_for(race_id: UUID, kind: str, recipient: str, source: str = "") -> UUID:
    """The id of the authorization of ``kind`` to ``recipient`` for ``race_id``."""
    return uuid5(PURCHASES_NAMESPACE, f"payout:{race_id}:{kind}:{recipient.lower()}:{source}")


def payout_index_id_for(recipient: str) -> UUID:
    """The id of a wallet's payout index."""
    return uuid5(PURCHASES_NAMESPACE, f"payouts:{recipient.lower()}")


class RaceSettlement(ClashAggregate):
    """How a race's pool was settled."""

    TOPIC: ClassVar[str] = "economy.RaceSettlement"

    class Event(ClashAggregate.Event):
        TOPIC = "economy.RaceSettlement.Event"

    class Created(Event, ClashAggregate.Created):
        TOPIC = "economy.RaceSettlement.Created"

    class Recorded(Created):
        TOPIC = "economy.RaceSettlement.Recorded"
        race_id: UUID
        method: str
        totals: dict[str, str]
        digest: str
        authorizations: int

    def __init__(
        self,
        *,
        race_id: UUID,
        method: str,
        totals: dict[str, str],
        digest: str,
        authorizations: int,
    ) -> None:
        self.race_id, self.method, self.totals = race_id, method, dict(totals)
        self.digest, self.authorizations = digest, authorizations

    @classmethod
    def record(cls, race_id: UUID, **values: Any) -> RaceSettlement:
        """Record a race's settlement (once: the id derives from the race)."""
        return cls._create(cls.Recorded, id=settlement_id_for(race_id), race_id=race_id, **values)


class PayoutAuthorization(ClashAggregate):
    """Wei a wallet may take from the vault for a race, and the payout key's signature."""

    TOPIC: ClassVar[str] = "economy.PayoutAuthorization"

    class Event(ClashAggregate.Event):
        TOPIC = "economy.PayoutAuthorization.Event"

    class Created(Event, ClashAggregate.Created):
        TOPIC = "economy.PayoutAuthorization.Created"

    class Opened(Created):
        TOPIC = "economy.PayoutAuthorization.Opened"
        race_id: UUID
        kind: str
        recipient: str
        amount_wei: str
        rows: int

    class Signed(Event):
        TOPIC = "economy.PayoutAuthorization.Signed"
        deadline: int
        signature: str

        def apply(self, aggregate: PayoutAuthorization) -> None:
            aggregate.deadline, aggregate.signature = self.deadline, self.signature

    def __init__(
        self, *, race_id: UUID, kind: str, recipient: str, amount_wei: str, rows: int
    ) -> None:
        self.race_id, self.kind, self.recipient = race_id, kind, recipient
        self.amount_wei, self.rows = int(amount_wei), rows
        self.deadline: int | None = None
        self.signature: str | None = None

    @classmethod
    def open(cls, authorization_id: UUID, **values: Any) -> PayoutAuthorization:
        """Open the authorization row."""
        return cls._create(cls.Opened, id=authorization_id, **values)

    def sign(self, deadline: int, signature: str) -> None:
        """Record a (new) signature: same nonce, a new deadline."""
        self.trigger_event(self.Signed, deadline=deadline, signature=signature)


class PayoutIndex(ClashAggregate):
    """A wallet's payout authorizations, in the order recorded."""

    TOPIC: ClassVar[str] = "economy.PayoutIndex"

    class Event(ClashAggregate.Event):
        TOPIC = "economy.PayoutIndex.Event"

    class Created(Event, ClashAggregate.Created):
        TOPIC = "economy.PayoutIndex.Created"

    class Opened(Created):
        TOPIC = "economy.PayoutIndex.Opened"
        recipient: str

    class Listed(Event):
        TOPIC = "economy.PayoutIndex.Listed"
        authorization_id: UUID

        def apply(self, aggregate: PayoutIndex) -> None:
            aggregate.authorizations = [*aggregate.authorizations, self.authorization_id]

    def __init__(self, *, recipient: str) -> None:
        self.recipient = recipient
        self.authorizations: list[UUID] = []

    @classmethod
    def open(cls, recipient: str) -> PayoutIndex:
        """Start a wallet's index."""
        return cls._create(cls.Opened, id=payout_index_id_for(recipient), recipient=recipient)

    def list(self, authorization_id: UUID) -> None:
        """Append an authorization (once)."""
        if authorization_id not in self.authorizations:
            self.trigger_event(self.Listed, authorization_id=authorization_id)
