"""Audition fees: quotes, purchases, refunds, audition attempts and each user's payment index.

Every aggregate here is stamped by the service clock (see ``application.py``).

- :class:`Quote`: a price for one clone version's audition at one tier, reserving the
  audition id (``uuid5`` of the quote id) the vault's receipt must name. ``Used`` records
  the purchase that spent it (a quote pays for one audition).
- :class:`Purchase`: an honoured receipt. Its id derives from the receipt nonce's id, so
  one receipt can never make two purchases.
- :class:`Refund`: a genuine receipt of the user's money that could not be honoured (the
  record of the money received), with the refund key's signed ``Withdrawal``; the
  withdrawal nonce is the refund id (``withdrawal_nonce_for``). ``Resigned`` records a new
  deadline for the same nonce.
- :class:`AuditionAttempts`: per clone, the audition attempts purchases granted
  (``AttemptsGranted``), and which audition consumed or released one.
- :class:`PaymentIndex`: per user, the purchases and refunds in the order recorded (the
  list routes page through it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID, uuid5

from domain.aggregates import ClashAggregate
from domain.economy.errors import EconomyError

PURCHASES_NAMESPACE = UUID("9c3e5a17-2f6b-5d84-b0e1-7a4c2d9f6e35")


class QuoteNotFound(EconomyError):
    """Raised when a quote id names no quote of the caller."""

    reason = "quote_not_found"


class ReceiptRefused(EconomyError):
    """Raised when a submitted receipt is no proof this user paid (``rejection``: why)."""

    reason = "receipt_rejected"

    def __init__(self, rejection: str, detail: str = "") -> None:
        super().__init__(detail or rejection)
        self.rejection = rejection

    def problem_extensions(self) -> dict[str, str]:
        """The members a problem document adds: the stable rejection reason."""
        return {"reason": self.rejection}


class ReceiptNonceUsed(EconomyError):
    """Raised when a receipt's nonce already paid for something else."""

    reason = "receipt_nonce_used"


class PurchaseNotFound(EconomyError):
    """Raised when a purchase id names no purchase of the caller."""

    reason = "purchase_not_found"


class NoAttemptsLeft(EconomyError):
    """Raised when a clone has no audition attempt left to consume."""

    reason = "no_attempts_left"


def audition_id_for(quote_id: UUID) -> UUID:
    """The audition id a quote reserves."""
    return uuid5(PURCHASES_NAMESPACE, f"audition:{quote_id}")


def purchase_id_for(nonce_id: UUID) -> UUID:
    """The id of the purchase a receipt nonce paid for."""
    return uuid5(PURCHASES_NAMESPACE, f"purchase:{nonce_id}")


def refund_id_for(nonce_id: UUID) -> UUID:
    """The id of the refund of a receipt that could not be honoured."""
    return uuid5(PURCHASES_NAMESPACE, f"refund:{nonce_id}")


def voided_refund_id_for(audition_id: UUID) -> UUID:
    """The id of the refund of a voided audition (one per audition)."""
    return uuid5(PURCHASES_NAMESPACE, f"void:{audition_id}")


def attempts_id_for(clone_id: UUID) -> UUID:
    """The id of a clone's audition-attempts aggregate."""
    return uuid5(PURCHASES_NAMESPACE, f"attempts:{clone_id}")


def index_id_for(user_id: str) -> UUID:
    """The id of a user's payment index."""
    return uuid5(PURCHASES_NAMESPACE, f"payments:{user_id}")


class Quote(ClashAggregate):
    """A fee quote for one clone version's audition at one tier."""

    TOPIC: ClassVar[str] = "economy.Quote"

    class Event(ClashAggregate.Event):
        TOPIC = "economy.Quote.Event"

    class Created(Event, ClashAggregate.Created):
        TOPIC = "economy.Quote.Created"

    class Issued(Created):
        TOPIC = "economy.Quote.Issued"
        user_id: str
        payer: str
        clone_id: UUID
        version_id: UUID
        tier: str
        audition_id: UUID
        amount_wei: str
        chain_id: int
        vault: str
        expires_at: datetime

    class Used(Event):
        TOPIC = "economy.Quote.Used"
        purchase_id: UUID

        def apply(self, aggregate: Quote) -> None:
            aggregate.purchase_id = self.purchase_id

    def __init__(
        self,
        *,
        user_id: str,
        payer: str,
        clone_id: UUID,
        version_id: UUID,
        tier: str,
        audition_id: UUID,
        amount_wei: str,
        chain_id: int,
        vault: str,
        expires_at: datetime,
    ) -> None:
        self.user_id, self.payer = user_id, payer
        self.clone_id, self.version_id, self.tier = clone_id, version_id, tier
        self.audition_id, self.amount_wei = audition_id, int(amount_wei)
        self.chain_id, self.vault, self.expires_at = chain_id, vault, expires_at
        self.purchase_id: UUID | None = None

    @classmethod
    def issue(cls, quote_id: UUID, **values: Any) -> Quote:
        """Issue a quote (``audition_id`` is derived from ``quote_id``)."""
        return cls._create(cls.Issued, id=quote_id, audition_id=audition_id_for(quote_id), **values)

    def expired(self, now: datetime) -> bool:
        """Whether the quote can no longer be paid."""
        return now >= self.expires_at

    def use(self, purchase_id: UUID) -> None:
        """Record the purchase that spent the quote."""
        self.trigger_event(self.Used, purchase_id=purchase_id)


class Purchase(ClashAggregate):
    """An honoured audition-fee receipt."""

    TOPIC: ClassVar[str] = "economy.Purchase"

    class Event(ClashAggregate.Event):
        TOPIC = "economy.Purchase.Event"

    class Created(Event, ClashAggregate.Created):
        TOPIC = "economy.Purchase.Created"

    class Made(Created):
        TOPIC = "economy.Purchase.Made"
        user_id: str
        quote_id: UUID
        clone_id: UUID
        version_id: UUID
        tier: str
        audition_id: str
        amount_wei: str
        payer: str
        signer: str
        nonce: str
        attempts: int

    def __init__(
        self,
        *,
        user_id: str,
        quote_id: UUID,
        clone_id: UUID,
        version_id: UUID,
        tier: str,
        audition_id: str,
        amount_wei: str,
        payer: str,
        signer: str,
        nonce: str,
        attempts: int,
    ) -> None:
        self.user_id, self.quote_id = user_id, quote_id
        self.clone_id, self.version_id, self.tier = clone_id, version_id, tier
        self.audition_id, self.amount_wei = audition_id, int(amount_wei)
        self.payer, self.signer, self.nonce = payer, signer, int(nonce)
        self.attempts = attempts

    @classmethod
    def make(cls, purchase_id: UUID, **values: Any) -> Purchase:
        """Record an honoured receipt."""
        return cls._create(cls.Made, id=purchase_id, **values)


class Refund(ClashAggregate):
    """Money received that could not be honoured, and its signed withdrawal."""

    TOPIC: ClassVar[str] = "economy.Refund"

    class Event(ClashAggregate.Event):
        TOPIC = "economy.Refund.Event"

    class Created(Event, ClashAggregate.Created):
        TOPIC = "economy.Refund.Created"

    class Opened(Created):
        TOPIC = "economy.Refund.Opened"
        user_id: str
        quote_id: UUID
        clone_id: UUID
        audition_id: str
        amount_wei: str
        payer: str
        receipt_nonce: str
        reason: str
        deadline: int
        signature: str

    class Resigned(Event):
        TOPIC = "economy.Refund.Resigned"
        deadline: int
        signature: str

        def apply(self, aggregate: Refund) -> None:
            aggregate.deadline, aggregate.signature = self.deadline, self.signature

    def __init__(
        self,
        *,
        user_id: str,
        quote_id: UUID,
        clone_id: UUID,
        audition_id: str,
        amount_wei: str,
        payer: str,
        receipt_nonce: str,
        reason: str,
        deadline: int,
        signature: str,
    ) -> None:
        self.user_id, self.quote_id, self.clone_id = user_id, quote_id, clone_id
        self.audition_id, self.amount_wei, self.payer = audition_id, int(amount_wei), payer
        self.receipt_nonce, self.reason = int(receipt_nonce), reason
        self.deadline, self.signature = deadline, signature

    @classmethod
    def open(cls, refund_id: UUID, **values: Any) -> Refund:
        """Record money received that is refunded in full."""
        return cls._create(cls.Opened, id=refund_id, **values)

    def resign(self, deadline: int, signature: str) -> None:
        """Record a new authorisation (same nonce, later deadline)."""
        self.trigger_event(self.Resigned, deadline=deadline, signature=signature)


class AuditionAttempts(ClashAggregate):
    """The audition attempts a clone's purchases granted, and their use."""

    TOPIC: ClassVar[str] = "economy.AuditionAttempts"

    class Event(ClashAggregate.Event):
        TOPIC = "economy.AuditionAttempts.Event"

    class Created(Event, ClashAggregate.Created):
        TOPIC = "economy.AuditionAttempts.Created"

    class Opened(Created):
        TOPIC = "economy.AuditionAttempts.Opened"
        clone_id: UUID

    class AttemptsGranted(Event):
        TOPIC = "economy.AuditionAttempts.AttemptsGranted"
        count: int
        purchase_id: UUID

        def apply(self, aggregate: AuditionAttempts) -> None:
            aggregate.granted += self.count

    class AttemptConsumed(Event):
        TOPIC = "economy.AuditionAttempts.AttemptConsumed"
        audition_id: str

        def apply(self, aggregate: AuditionAttempts) -> None:
            aggregate.consumed.append(self.audition_id)

    class AttemptReleased(Event):
        TOPIC = "economy.AuditionAttempts.AttemptReleased"
        audition_id: str

        def apply(self, aggregate: AuditionAttempts) -> None:
            aggregate.consumed.remove(self.audition_id)

    class AttemptsRevoked(Event):
        TOPIC = "economy.AuditionAttempts.AttemptsRevoked"
        count: int
        purchase_id: UUID

        def apply(self, aggregate: AuditionAttempts) -> None:
            aggregate.granted -= self.count

    def __init__(self, *, clone_id: UUID) -> None:
        self.clone_id = clone_id
        self.granted = 0
        self.consumed: list[str] = []

    @classmethod
    def open(cls, clone_id: UUID) -> AuditionAttempts:
        """Start a clone's attempts record."""
        return cls._create(cls.Opened, id=attempts_id_for(clone_id), clone_id=clone_id)

    @property
    def remaining(self) -> int:
        """Attempts granted and not consumed."""
        return self.granted - len(self.consumed)

    def grant(self, count: int, purchase_id: UUID) -> None:
        """Add ``count`` attempts paid by ``purchase_id``."""
        self.trigger_event(self.AttemptsGranted, count=count, purchase_id=purchase_id)

    def consume(self, audition_id: str) -> bool:
        """Spend one attempt on ``audition_id``; ``False`` when it already holds one."""
        if audition_id in self.consumed:
            return False
        if self.remaining <= 0:
            raise NoAttemptsLeft(f"clone={self.clone_id}")
        self.trigger_event(self.AttemptConsumed, audition_id=audition_id)
        return True

    def revoke(self, unused: int, purchase_id: UUID) -> int:
        """Take back up to ``unused`` attempts of a refunded purchase; return how many."""
        count = max(0, min(unused, self.remaining))
        if count:
            self.trigger_event(self.AttemptsRevoked, count=count, purchase_id=purchase_id)
        return count

    def release(self, audition_id: str) -> bool:
        """Give back the attempt ``audition_id`` held; ``False`` when it holds none."""
        if audition_id not in self.consumed:
            return False
        self.trigger_event(self.AttemptReleased, audition_id=audition_id)
        return True


class PaymentIndex(ClashAggregate):
    """A user's purchases and refunds, in the order recorded."""

    TOPIC: ClassVar[str] = "economy.PaymentIndex"

    class Event(ClashAggregate.Event):
        TOPIC = "economy.PaymentIndex.Event"

    class Created(Event, ClashAggregate.Created):
        TOPIC = "economy.PaymentIndex.Created"

    class Opened(Created):
        TOPIC = "economy.PaymentIndex.Opened"
        user_id: str

    class Listed(Event):
        TOPIC = "economy.PaymentIndex.Listed"
        kind: str  # "purchase" | "refund" | "ticket" | "ticket_refund"
        record_id: UUID

        def apply(self, aggregate: PaymentIndex) -> None:
            aggregate.records.setdefault(self.kind, []).append(self.record_id)

    def __init__(self, *, user_id: str) -> None:
        self.user_id = user_id
        self.records: dict[str, list[UUID]] = {"purchase": [], "refund": []}

    @classmethod
    def open(cls, user_id: str) -> PaymentIndex:
        """Start a user's index."""
        return cls._create(cls.Opened, id=index_id_for(user_id), user_id=user_id)

    def list(self, kind: str, record_id: UUID) -> None:
        """Append a purchase or refund."""
        self.trigger_event(self.Listed, kind=kind, record_id=record_id)
