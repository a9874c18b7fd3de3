"""Receipt nonces: one nonce space per vault signer, spent once, atomically with a purchase."""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID, uuid4

import pytest
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from domain.aggregates import ClashAggregate, clock_in_use
from domain.application import ClashApplication
from domain.clock import SimulatedClock
from domain.economy.errors import InvalidTypedData, VaultMisconfigured
from domain.economy.nonces import ReceiptKind, ReceiptNonce, consume, nonce_id_for
from tests.domain.economy.vault_kit import NOW, REFUND_SIGNER, VAULT_SIGNER


class Purchase(ClashAggregate):
    """A stand-in for the purchase a receipt pays for."""

    TOPIC: ClassVar[str] = "tests.economy.Purchase"

    class Event(ClashAggregate.Event):
        TOPIC = "tests.economy.Purchase.Event"

    class Created(Event, ClashAggregate.Created):
        TOPIC = "tests.economy.Purchase.Created"

    class Made(Created):
        TOPIC = "tests.economy.Purchase.Made"
        nonce: str

    def __init__(self, *, nonce: str) -> None:
        self.nonce = nonce

    @classmethod
    def make(cls, nonce: int) -> Purchase:
        return cls._create(cls.Made, id=uuid4(), nonce=str(nonce))


class Purchases(ClashApplication):
    """The smallest application that saves purchases with their nonces."""

    name = "nonces_test"

    def buy(self, nonce: int, kind: ReceiptKind = ReceiptKind.AUDITION_FEE) -> UUID:
        with self.clocked():
            purchase = Purchase.make(nonce)
            spent = consume(VAULT_SIGNER, nonce, kind, str(purchase.id))
            self.save(purchase, spent)
        return purchase.id


@pytest.fixture
def purchases() -> Purchases:
    return Purchases(clock=SimulatedClock(NOW))


def test_the_id_depends_on_signer_and_nonce_only() -> None:
    assert nonce_id_for(VAULT_SIGNER, 7) == nonce_id_for(VAULT_SIGNER.lower(), 7)
    assert nonce_id_for(VAULT_SIGNER, 7) != nonce_id_for(VAULT_SIGNER, 8)
    assert nonce_id_for(VAULT_SIGNER, 7) != nonce_id_for(REFUND_SIGNER, 7)


def test_a_consumption_records_what_it_paid_for() -> None:
    with clock_in_use(SimulatedClock(NOW)):
        spent = consume(VAULT_SIGNER.lower(), 2**255, ReceiptKind.TICKET, "purchase-1")
    assert spent.id == nonce_id_for(VAULT_SIGNER, 2**255)
    assert (spent.signer, spent.nonce, spent.kind, spent.reference) == (
        VAULT_SIGNER,
        2**255,
        "ticket",
        "purchase-1",
    )


def test_a_spent_nonce_reloads_from_the_store(purchases: Purchases) -> None:
    # Arrange
    purchase_id = purchases.buy(2**255)
    # Act
    spent: ReceiptNonce = purchases.repository.get(nonce_id_for(VAULT_SIGNER, 2**255))
    # Assert
    assert (spent.nonce, spent.kind, spent.reference) == (2**255, "audition_fee", str(purchase_id))
    assert spent.created_on == NOW


def test_a_nonce_is_spent_once(purchases: Purchases) -> None:
    purchases.buy(42)
    with pytest.raises(IntegrityError):
        purchases.buy(42)


def test_one_nonce_space_serves_every_receipt_kind(purchases: Purchases) -> None:
    purchases.buy(42, ReceiptKind.AUDITION_FEE)
    with pytest.raises(IntegrityError):
        purchases.buy(42, ReceiptKind.TICKET)


def test_a_refused_second_purchase_is_not_recorded(purchases: Purchases) -> None:
    # Arrange
    purchases.buy(42)
    with purchases.clocked():
        second = Purchase.make(42)
        spent = consume(VAULT_SIGNER, 42, ReceiptKind.AUDITION_FEE, str(second.id))
        # Act
        with pytest.raises(IntegrityError):
            purchases.save(second, spent)
    # Assert
    with pytest.raises(AggregateNotFoundError):
        purchases.repository.get(second.id)


def test_another_nonce_is_another_purchase(purchases: Purchases) -> None:
    first, second = purchases.buy(42), purchases.buy(43)
    assert first != second


@pytest.mark.parametrize("nonce", [-1, 2**256, 1.0, True, "42"])
def test_a_nonce_outside_uint256_is_refused(nonce: object) -> None:
    with pytest.raises(InvalidTypedData):
        nonce_id_for(VAULT_SIGNER, nonce)  # type: ignore[arg-type]


def test_a_malformed_signer_is_refused() -> None:
    with pytest.raises(VaultMisconfigured):
        nonce_id_for("vault", 1)


@pytest.mark.parametrize("reference", ["", "x" * 129])
def test_a_reference_out_of_bounds_is_refused(reference: str) -> None:
    with pytest.raises(InvalidTypedData):
        consume(VAULT_SIGNER, 1, ReceiptKind.AUDITION_FEE, reference)
