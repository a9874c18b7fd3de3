"""Refunds of voided auditions through the economy's Python API (in memory).

Worked example: user ``u`` pays 0.03 ETH for a ``builder`` audition of a clone, which buys
two attempts (one run and one retry). Run 1 consumes an attempt; the audition is voided.
Economy refunds the whole fee to the payer with a withdrawal signed by the refund key
(nonce = the refund id), and takes back the one attempt no run used: the clone keeps one
attempt granted, consumed by run 1, and none remaining.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID, uuid4

import pytest

from domain.clock import SimulatedClock
from domain.economy.application import Economy, VaultTerms
from domain.economy.errors import ReceiptRejected, VaultMisconfigured
from domain.economy.purchases import Purchase, PurchaseNotFound, voided_refund_id_for
from domain.economy.typed_data import epoch_seconds
from domain.economy.withdrawals import Withdrawal, verify_withdrawal
from tests.domain.economy.vault_kit import (
    DOMAIN,
    NOW,
    REFUND_KEY,
    REFUND_SIGNER,
    USER,
    VAULT_SIGNER,
    a_fee_receipt,
    sign,
)

CLONE = UUID("7a2b3c4d-5e6f-4a1b-8c2d-3e4f5a6b7c8d")
OTHER_CLONE = UUID("8b3c4d5e-6f7a-4b2c-9d3e-4f5a6b7c8d9e")
OWNER = "u"
INTRUDER = "v"
BUILDER_FEE = 3 * 10**16
REFUND_TTL = timedelta(days=1)
REASON = "audition_voided: unhealthy market data"


def terms() -> VaultTerms:
    return VaultTerms(
        domain=DOMAIN,
        vault_signer=VAULT_SIGNER,
        refund_private_key=REFUND_KEY,
        fees_wei={"starter": 10**16, "builder": BUILDER_FEE},
        retries={"builder": 1},
        quote_ttl=timedelta(minutes=15),
        refund_ttl=REFUND_TTL,
    )


@pytest.fixture
def economy() -> Economy:
    built = Economy(clock=SimulatedClock(NOW))
    built.bind_vault(terms())
    return built


def buy(economy: Economy, *, nonce: int = 1, clone_id: UUID = CLONE) -> Purchase:
    """Quote a builder audition for ``clone_id`` and pay it with a vault receipt."""
    quote = economy.quote(
        user_id=OWNER, payer=USER, clone_id=clone_id, version_id=uuid4(), tier="builder"
    )
    document = a_fee_receipt(
        payer=USER,
        amount_wei=quote.amount_wei,
        audition_id=str(quote.audition_id),
        nonce=nonce,
        deadline=NOW + timedelta(minutes=5),
    )
    submitted = economy.submit_fee_receipt(
        user_id=OWNER, quote_id=quote.id, typed_data=document, signature=sign(document)
    )
    assert submitted.purchase is not None
    return submitted.purchase


def run_key(purchase: Purchase, run: int) -> str:
    return f"{purchase.audition_id}#run-{run}"


def test_refund_pays_the_purchases_payer_the_full_fee(economy: Economy) -> None:
    # Arrange
    purchase = buy(economy)

    # Act
    refund = economy.refund_voided_audition(purchase.id, reason=REASON)

    # Assert
    assert refund.id == voided_refund_id_for(UUID(purchase.audition_id))
    assert (refund.payer, refund.amount_wei) == (USER, BUILDER_FEE)
    assert refund.amount_wei == purchase.amount_wei
    assert (refund.user_id, refund.clone_id, refund.quote_id) == (
        OWNER,
        CLONE,
        purchase.quote_id,
    )
    assert refund.audition_id == purchase.audition_id
    assert refund.receipt_nonce == purchase.nonce
    assert refund.reason == REASON
    assert refund.deadline == epoch_seconds(NOW + REFUND_TTL)
    assert economy.refund_of(refund.id) is not None


def test_refund_twice_answers_the_first_refund(economy: Economy) -> None:
    # Arrange
    purchase = buy(economy)
    first = economy.refund_voided_audition(purchase.id, reason=REASON)

    # Act
    again = economy.refund_voided_audition(purchase.id, reason="another reason")

    # Assert
    assert again.id == first.id
    assert (again.reason, again.signature, again.deadline) == (
        first.reason,
        first.signature,
        first.deadline,
    )
    assert again.version == first.version == 1
    assert [r.id for r in economy.refunds(OWNER)] == [first.id]


def test_refund_signature_is_the_refund_keys_withdrawal_with_the_refund_id_as_nonce(
    economy: Economy,
) -> None:
    # Arrange
    purchase = buy(economy)
    refund = economy.refund_voided_audition(purchase.id, reason=REASON)
    terms_signed = Withdrawal(
        user=USER,
        amount_wei=BUILDER_FEE,
        audition_id=purchase.audition_id,
        nonce=refund.id.int,
        deadline=epoch_seconds(NOW + REFUND_TTL),
    )

    # Act
    withdrawal = verify_withdrawal(
        terms_signed.document(DOMAIN),
        refund.signature,
        domain=DOMAIN,
        refund_signer=REFUND_SIGNER,
        now=NOW,
    )

    # Assert
    assert withdrawal == terms_signed
    assert withdrawal.nonce == voided_refund_id_for(UUID(purchase.audition_id)).int


def test_refund_signature_is_not_the_vault_signers(economy: Economy) -> None:
    # Arrange
    purchase = buy(economy)
    refund = economy.refund_voided_audition(purchase.id, reason=REASON)
    _refund, signed = economy.withdrawal(refund)

    # Act
    with pytest.raises(ReceiptRejected) as rejected:
        verify_withdrawal(
            signed.typed_data, signed.signature, domain=DOMAIN, refund_signer=VAULT_SIGNER
        )

    # Assert
    assert rejected.value.reason == "signer_mismatch"


def test_refund_withdrawal_served_to_the_payer_verifies(economy: Economy) -> None:
    # Arrange
    purchase = buy(economy)
    refund = economy.refund_voided_audition(purchase.id, reason=REASON)

    # Act
    served, signed = economy.withdrawal(refund)
    withdrawal = verify_withdrawal(
        signed.typed_data, signed.signature, domain=DOMAIN, refund_signer=REFUND_SIGNER, now=NOW
    )

    # Assert
    assert served.id == refund.id
    assert (withdrawal.user, withdrawal.amount_wei, withdrawal.nonce) == (
        USER,
        BUILDER_FEE,
        refund.id.int,
    )


def test_refund_is_listed_among_the_owners_refunds_only(economy: Economy) -> None:
    # Arrange
    purchase = buy(economy)

    # Act
    refund = economy.refund_voided_audition(purchase.id, reason=REASON)

    # Assert
    assert [r.id for r in economy.refunds(OWNER)] == [refund.id]
    assert [p.id for p in economy.purchases(OWNER)] == [purchase.id]
    assert economy.refunds(INTRUDER) == []


def test_refund_revokes_the_attempts_no_run_used_and_keeps_the_consumed_one(
    economy: Economy,
) -> None:
    # Arrange
    purchase = buy(economy)
    economy.consume_attempt(CLONE, run_key(purchase, 1))
    before = economy.attempts(CLONE)

    # Act
    economy.refund_voided_audition(purchase.id, reason=REASON)

    # Assert
    assert before == (2, 1)
    assert economy.attempts(CLONE) == (1, 0)


def test_refund_of_an_audition_that_never_ran_revokes_every_attempt(economy: Economy) -> None:
    # Arrange
    purchase = buy(economy)

    # Act
    economy.refund_voided_audition(purchase.id, reason=REASON)

    # Assert
    assert economy.attempts(CLONE) == (0, 0)


def test_refund_after_a_released_attempt_revokes_it_too(economy: Economy) -> None:
    # Arrange: run 1 was abandoned and gave its attempt back.
    purchase = buy(economy)
    economy.consume_attempt(CLONE, run_key(purchase, 1))
    economy.release_attempt(CLONE, run_key(purchase, 1))

    # Act
    economy.refund_voided_audition(purchase.id, reason=REASON)

    # Assert
    assert economy.attempts(CLONE) == (0, 0)


def test_refund_keeps_the_attempts_of_the_clones_other_purchases(economy: Economy) -> None:
    # Arrange: two purchases for the same clone, two attempts each.
    voided = buy(economy, nonce=1)
    other = buy(economy, nonce=2)
    economy.consume_attempt(CLONE, run_key(voided, 1))
    economy.consume_attempt(CLONE, run_key(other, 1))

    # Act
    economy.refund_voided_audition(voided.id, reason=REASON)

    # Assert: one unused attempt of the voided purchase is revoked; the other's stays.
    assert economy.attempts(CLONE) == (3, 1)
    assert economy.consume_attempt(CLONE, run_key(other, 2)) == 0


def test_refund_leaves_another_clones_attempts_alone(economy: Economy) -> None:
    # Arrange
    purchase = buy(economy, nonce=1)
    buy(economy, nonce=2, clone_id=OTHER_CLONE)

    # Act
    economy.refund_voided_audition(purchase.id, reason=REASON)

    # Assert
    assert economy.attempts(OTHER_CLONE) == (2, 2)


def test_refund_twice_revokes_once(economy: Economy) -> None:
    # Arrange
    purchase = buy(economy)
    economy.consume_attempt(CLONE, run_key(purchase, 1))
    economy.refund_voided_audition(purchase.id, reason=REASON)

    # Act
    economy.refund_voided_audition(purchase.id, reason=REASON)

    # Assert
    assert economy.attempts(CLONE) == (1, 0)


def test_refund_of_an_unknown_purchase_is_not_found(economy: Economy) -> None:
    # Act
    with pytest.raises(PurchaseNotFound):
        economy.refund_voided_audition(uuid4(), reason=REASON)

    # Assert
    assert economy.refunds(OWNER) == []


def test_refund_without_a_vault_is_misconfigured(economy: Economy) -> None:
    # Arrange
    purchase = buy(economy)
    unbound = Economy(clock=SimulatedClock(NOW))

    # Act / Assert
    with pytest.raises(VaultMisconfigured):
        unbound.refund_voided_audition(purchase.id, reason=REASON)


def test_purchase_of_answers_the_owner(economy: Economy) -> None:
    # Arrange
    purchase = buy(economy)

    # Act
    found = economy.purchase_of(OWNER, purchase.id)

    # Assert
    assert found.id == purchase.id
    assert (found.payer, found.amount_wei, found.attempts) == (USER, BUILDER_FEE, 2)


def test_purchase_of_another_user_is_not_found(economy: Economy) -> None:
    # Arrange
    purchase = buy(economy)

    # Act
    with pytest.raises(PurchaseNotFound) as raised:
        economy.purchase_of(INTRUDER, purchase.id)

    # Assert
    assert raised.value.reason == "purchase_not_found"


def test_purchase_of_an_unknown_id_is_not_found(economy: Economy) -> None:
    with pytest.raises(PurchaseNotFound):
        economy.purchase_of(OWNER, uuid4())
