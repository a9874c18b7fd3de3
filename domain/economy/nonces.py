"""Receipt nonces: a vault signer's nonce pays for one thing, once.

Every receipt the vault signer signs (audition fees, race tickets) carries a ``nonce`` from
one space per signer. A :class:`ReceiptNonce` aggregate records that a nonce was spent; its
id derives from the signer and the nonce alone (:func:`nonce_id_for`), not from the receipt
type or what it bought, so a fee receipt and a ticket receipt with the same nonce collide.

The aggregate has a single, creating event (``Consumed``). Saving it in the **same**
``save()`` as the purchase it pays for makes the purchase and the consumption one atomic
write: a second consumption of the nonce is a second version 1 of the same aggregate, so
the store raises its ``IntegrityError`` and the second purchase is not recorded either.
(``ClashApplication.run_command`` retries integrity errors as concurrency races, so a
purchase command should look the nonce up first and report a replay on the retry.)

Withdrawal nonces are not here: the refund key is another signer and the vault contract
spends them on chain.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar
from uuid import UUID, uuid5

from domain.aggregates import ClashAggregate
from domain.economy.errors import InvalidTypedData
from domain.economy.typed_data import UINT256_LIMIT, configured_address

NONCES_NAMESPACE = UUID("2b6f0c1e-93d4-5a7e-8f21-c4d9e07a3b58")
REFERENCE_MAX = 128


class ReceiptKind(StrEnum):
    """What a receipt nonce paid for."""

    AUDITION_FEE = "audition_fee"
    TICKET = "ticket"


def nonce_id_for(signer: str, nonce: int) -> UUID:
    """The id of the aggregate that records ``signer``'s ``nonce`` as spent."""
    return uuid5(NONCES_NAMESPACE, f"{_signer(signer).lower()}:{_nonce(nonce)}")


class ReceiptNonce(ClashAggregate):
    """One spent receipt nonce (state is assigned only by its creating event)."""

    TOPIC: ClassVar[str] = "economy.ReceiptNonce"

    class Event(ClashAggregate.Event):
        TOPIC = "economy.ReceiptNonce.Event"

    class Created(Event, ClashAggregate.Created):
        TOPIC = "economy.ReceiptNonce.Created"

    class Consumed(Created):
        TOPIC = "economy.ReceiptNonce.Consumed"
        signer: str
        nonce: str  # decimal: a uint256 does not fit every JSON reader's integers
        kind: str
        reference: str

    def __init__(self, *, signer: str, nonce: str, kind: str, reference: str) -> None:
        self.signer = signer
        self.nonce = int(nonce)
        self.kind = kind
        self.reference = reference

    @classmethod
    def consume(cls, signer: str, nonce: int, kind: ReceiptKind, reference: str) -> ReceiptNonce:
        """Record ``signer``'s ``nonce`` as spent on ``kind`` (``reference``: the purchase)."""
        if not 1 <= len(reference) <= REFERENCE_MAX:
            raise InvalidTypedData(f"reference length={len(reference)} must be 1..{REFERENCE_MAX}")
        address = _signer(signer)
        return cls._create(
            cls.Consumed,
            id=nonce_id_for(address, nonce),
            signer=address,
            nonce=str(_nonce(nonce)),
            kind=ReceiptKind(kind).value,
            reference=reference,
        )


def consume(signer: str, nonce: int, kind: ReceiptKind, reference: str) -> ReceiptNonce:
    """Spend ``signer``'s ``nonce``; save the result with the purchase it pays for."""
    return ReceiptNonce.consume(signer, nonce, kind, reference)


def _signer(signer: str) -> str:
    return configured_address(signer, role="signer")


def _nonce(nonce: int) -> int:
    if isinstance(nonce, bool) or not isinstance(nonce, int) or not 0 <= nonce < UINT256_LIMIT:
        raise InvalidTypedData(f"nonce={nonce!r} must be an integer within 0..2**256-1")
    return nonce
