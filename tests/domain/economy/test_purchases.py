"""Audition-fee purchases, refunds and attempts through the economy's Python API (in memory)."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID, uuid4

import pytest

from domain.clock import SimulatedClock
from domain.economy.application import Economy, VaultTerms
from domain.economy.errors import VaultMisconfigured
from domain.economy.purchases import NoAttemptsLeft, ReceiptRefused
from domain.economy.withdrawals import verify_withdrawal
from tests.domain.economy.vault_kit import (
    DOMAIN,
    NOW,
    REFUND_KEY,
    REFUND_SIGNER,
    USER,
    VAULT_KEY,
    VAULT_SIGNER,
    a_fee_receipt,
    sign,
)

CLONE = UUID("3f1e2d4c-5b6a-4978-8c1d-2e3f4a5b6c7d")


def terms(**changes: object) -> VaultTerms:
    values: dict[str, object] = {
        "domain": DOMAIN,
        "vault_signer": VAULT_SIGNER,
        "refund_private_key": REFUND_KEY,
        "fees_wei": {"starter": 10**16, "builder": 3 * 10**16},
        "retries": {"builder": 1},
        "quote_ttl": timedelta(minutes=15),
        "refund_ttl": timedelta(days=1),
    }
    return VaultTerms(**{**values, **changes})  # type: ignore[arg-type]


@pytest.fixture
def economy() -> Economy:
    found = Economy(clock=SimulatedClock(NOW))
    found.bind_vault(terms())
    return found


def test_the_refund_key_must_not_be_the_vault_signers() -> None:
    with pytest.raises(VaultMisconfigured):
        terms(refund_private_key=VAULT_KEY)


def test_an_unbound_economy_refuses_to_quote() -> None:
    with pytest.raises(VaultMisconfigured):
        Economy(clock=SimulatedClock(NOW)).quote(
            user_id="u", payer=USER, clone_id=CLONE, version_id=uuid4(), tier="starter"
        )


def _quote_and_receipt(economy: Economy, nonce: int = 1, **changes: object) -> tuple[UUID, dict]:  # type: ignore[type-arg]
    quote = economy.quote(
        user_id="u", payer=USER, clone_id=CLONE, version_id=uuid4(), tier="builder"
    )
    values: dict[str, object] = {
        "payer": USER,
        "amount_wei": quote.amount_wei,
        "audition_id": str(quote.audition_id),
        "nonce": nonce,
        "deadline": NOW + timedelta(minutes=5),
        **changes,
    }
    return quote.id, a_fee_receipt(**values)  # type: ignore[arg-type]


def test_a_purchase_grants_attempts_that_lifecycle_consumes_and_releases(
    economy: Economy,
) -> None:
    quote_id, document = _quote_and_receipt(economy)
    submitted = economy.submit_fee_receipt(
        user_id="u", quote_id=quote_id, typed_data=document, signature=sign(document)
    )
    assert submitted.purchase is not None
    assert submitted.refund is None
    assert economy.attempts(CLONE) == (2, 2)
    assert economy.consume_attempt(CLONE, "a1") == 1
    assert economy.consume_attempt(CLONE, "a2") == 0
    with pytest.raises(NoAttemptsLeft):
        economy.consume_attempt(CLONE, "a3")
    assert economy.release_attempt(CLONE, "a1") == 1
    assert economy.release_attempt(CLONE, "a1") == 1
    assert [p.id for p in economy.purchases("u")] == [submitted.purchase.id]


def test_a_foreign_payer_is_refused_and_an_unhonoured_receipt_refunded(
    economy: Economy,
) -> None:
    quote_id, document = _quote_and_receipt(economy, payer=VAULT_SIGNER)
    with pytest.raises(ReceiptRefused) as refused:
        economy.submit_fee_receipt(
            user_id="u", quote_id=quote_id, typed_data=document, signature=sign(document)
        )
    assert refused.value.rejection == "payer_mismatch"
    quote_id, document = _quote_and_receipt(economy, nonce=2, amount_wei=1)
    submitted = economy.submit_fee_receipt(
        user_id="u", quote_id=quote_id, typed_data=document, signature=sign(document)
    )
    assert submitted.refund is not None
    refund, signed = economy.withdrawal(submitted.refund)
    withdrawal = verify_withdrawal(
        signed.typed_data, signed.signature, domain=DOMAIN, refund_signer=REFUND_SIGNER, now=NOW
    )
    assert (withdrawal.amount_wei, withdrawal.nonce) == (1, refund.id.int)
    assert economy.attempts(CLONE) == (0, 0)
