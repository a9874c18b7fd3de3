"""Payout authorizations: signed by the payout key, one nonce per row, re-signed alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from eth_account import Account

from domain.economy.errors import InvalidTypedData, ReceiptRejected
from domain.economy.payouts import (
    Payout,
    payout_nonce_for,
    resign_payout,
    sign_payout,
    verify_payout,
)
from domain.economy.receipts import read_fee_receipt
from domain.economy.typed_data import epoch_seconds
from domain.economy.withdrawals import verify_withdrawal
from tests.domain.economy.vault_kit import DOMAIN, REFUND_KEY, REFUND_SIGNER, VAULT_SIGNER

PAYOUT_KEY = "0x" + "f6" * 32
PAYOUT_SIGNER = Account.from_key(PAYOUT_KEY).address
ROW = UUID("6f1c3a2b-4d5e-4f60-8a1b-2c3d4e5f6a7b")
NOW = datetime(2026, 12, 2, 12, tzinfo=UTC)
WINNER = Account.from_key("0x" + "17" * 32).address


def terms(**changes: object) -> Payout:
    values: dict[str, object] = {
        "user": WINNER,
        "amount_wei": 350,
        "race_id": "0a0b9a50-4291-509e-a519-b3cc52dedc87",
        "nonce": payout_nonce_for(ROW),
        "deadline": epoch_seconds(NOW + timedelta(days=1)),
    }
    return Payout(**{**values, **changes})  # type: ignore[arg-type]


def test_a_signed_payout_reads_back_as_its_terms() -> None:
    signed = sign_payout(terms(), domain=DOMAIN, private_key=PAYOUT_KEY)

    found = verify_payout(
        signed.typed_data, signed.signature, domain=DOMAIN, payout_signer=PAYOUT_SIGNER, now=NOW
    )

    assert found == terms()
    assert found.nonce == ROW.int
    assert signed.typed_data["primaryType"] == "Payout"


def test_a_payout_signed_by_another_key_or_edited_is_refused() -> None:
    signed = sign_payout(terms(), domain=DOMAIN, private_key=REFUND_KEY)
    with pytest.raises(ReceiptRejected) as refused:
        verify_payout(
            signed.typed_data, signed.signature, domain=DOMAIN, payout_signer=PAYOUT_SIGNER
        )
    assert refused.value.reason == "signer_mismatch"
    good = sign_payout(terms(), domain=DOMAIN, private_key=PAYOUT_KEY)
    edited = {**good.typed_data, "message": {**good.typed_data["message"], "amountWei": 3500}}
    with pytest.raises(ReceiptRejected) as tampered:
        verify_payout(edited, good.signature, domain=DOMAIN, payout_signer=PAYOUT_SIGNER)
    assert tampered.value.reason == "signer_mismatch"


def test_a_payout_is_neither_a_withdrawal_nor_a_receipt() -> None:
    signed = sign_payout(terms(), domain=DOMAIN, private_key=PAYOUT_KEY)
    with pytest.raises(ReceiptRejected) as as_withdrawal:
        verify_withdrawal(
            signed.typed_data, signed.signature, domain=DOMAIN, refund_signer=REFUND_SIGNER
        )
    with pytest.raises(ReceiptRejected) as as_receipt:
        read_fee_receipt(
            signed.typed_data, signed.signature, domain=DOMAIN, vault_signer=VAULT_SIGNER
        )
    assert as_withdrawal.value.reason == as_receipt.value.reason == "wrong_primary_type"


def test_an_expired_payout_is_resigned_with_the_same_nonce() -> None:
    first = terms(deadline=epoch_seconds(NOW - timedelta(seconds=1)))
    old = sign_payout(first, domain=DOMAIN, private_key=PAYOUT_KEY)
    with pytest.raises(ReceiptRejected) as expired:
        verify_payout(
            old.typed_data, old.signature, domain=DOMAIN, payout_signer=PAYOUT_SIGNER, now=NOW
        )
    assert expired.value.reason == "payout_expired"

    renewed, signed = resign_payout(
        first, domain=DOMAIN, private_key=PAYOUT_KEY, deadline=NOW + timedelta(days=1)
    )

    found = verify_payout(
        signed.typed_data, signed.signature, domain=DOMAIN, payout_signer=PAYOUT_SIGNER, now=NOW
    )
    assert (found.nonce, found.amount_wei) == (first.nonce, first.amount_wei)
    assert renewed.deadline > first.deadline
    with pytest.raises(InvalidTypedData):
        resign_payout(renewed, domain=DOMAIN, private_key=PAYOUT_KEY, deadline=NOW)


@pytest.mark.parametrize("amount", [0, -1, True])
def test_a_payout_of_no_wei_is_refused(amount: object) -> None:
    with pytest.raises(InvalidTypedData):
        sign_payout(terms(amount_wei=amount), domain=DOMAIN, private_key=PAYOUT_KEY)
