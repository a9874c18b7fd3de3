"""Refund withdrawals: signed with the refund key, verified back, re-signed on the same nonce."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data

from domain.economy.errors import InvalidTypedData, ReceiptRejected, VaultMisconfigured
from domain.economy.withdrawals import (
    SignedWithdrawal,
    Withdrawal,
    resign_withdrawal,
    sign_withdrawal,
    verify_withdrawal,
    withdrawal_nonce_for,
)
from tests.domain.economy.vault_kit import (
    AUDITION_ID,
    CHAIN_ID,
    CONTRACT,
    DEADLINE,
    DOMAIN,
    FEE_WEI,
    NOW,
    REFUND_KEY,
    REFUND_SIGNER,
    USER,
    VAULT_KEY,
    VAULT_SIGNER,
    a_fee_receipt,
    sign,
)

REFUND_ID = UUID("0b9d2f4e-5c61-4a8f-9e37-12d4c6a8b0f3")
NONCE = withdrawal_nonce_for(REFUND_ID)


def _signed(**overrides: Any) -> SignedWithdrawal:
    values: dict[str, Any] = {
        "domain": DOMAIN,
        "private_key": REFUND_KEY,
        "user": USER,
        "amount_wei": FEE_WEI,
        "audition_id": AUDITION_ID,
        "nonce": NONCE,
        "deadline": DEADLINE,
    }
    return sign_withdrawal(**{**values, **overrides})


def _verified(signed: SignedWithdrawal, **overrides: Any) -> Withdrawal:
    values: dict[str, Any] = {"domain": DOMAIN, "refund_signer": REFUND_SIGNER, "now": NOW}
    return verify_withdrawal(signed.typed_data, signed.signature, **{**values, **overrides})


def test_a_signed_withdrawal_verifies_as_its_terms() -> None:
    # Act
    withdrawal = _verified(_signed())
    # Assert
    assert withdrawal == Withdrawal(USER, FEE_WEI, AUDITION_ID, NONCE, int(DEADLINE.timestamp()))


def test_the_nonce_of_a_refund_is_its_record_id() -> None:
    assert REFUND_ID.int == NONCE
    assert _verified(_signed()).nonce == REFUND_ID.int


def test_the_document_is_what_a_wallet_and_the_contract_hash() -> None:
    # Arrange: the same terms through eth-account's three-argument form, integers as integers
    typed_data, signature = _signed()
    message = {**typed_data["message"], "amountWei": FEE_WEI, "nonce": NONCE}
    message["deadline"] = int(message["deadline"])
    types = {"Withdrawal": typed_data["types"]["Withdrawal"]}
    domain = {
        "name": "SignedVault",
        "version": "1",
        "chainId": CHAIN_ID,
        "verifyingContract": CONTRACT,
    }
    # Act
    signable = encode_typed_data(domain, types, message)
    # Assert
    assert Account.recover_message(signable, signature=signature) == REFUND_SIGNER


def test_a_lapsed_withdrawal_is_refused_when_a_time_is_given() -> None:
    signed = _signed()
    with pytest.raises(ReceiptRejected) as rejected:
        _verified(signed, now=DEADLINE)
    assert rejected.value.reason == "withdrawal_expired"
    assert _verified(signed, now=None).deadline == int(DEADLINE.timestamp())


def test_a_resigned_withdrawal_keeps_its_nonce_and_moves_its_deadline() -> None:
    # Arrange
    first = _signed()
    later = DEADLINE + timedelta(days=7)
    # Act
    second = resign_withdrawal(
        _verified(first, now=None), domain=DOMAIN, private_key=REFUND_KEY, deadline=later
    )
    # Assert
    renewed = _verified(second, now=DEADLINE)
    assert renewed.nonce == NONCE
    assert renewed.deadline == int(later.timestamp())
    assert second.signature != first.signature
    assert second.typed_data["message"]["nonce"] == first.typed_data["message"]["nonce"]


def test_a_resign_must_move_the_deadline_later() -> None:
    previous = _verified(_signed())
    with pytest.raises(InvalidTypedData):
        resign_withdrawal(previous, domain=DOMAIN, private_key=REFUND_KEY, deadline=DEADLINE)


def test_a_withdrawal_signed_with_the_vault_key_is_refused() -> None:
    with pytest.raises(ReceiptRejected) as rejected:
        _verified(_signed(private_key=VAULT_KEY))
    assert rejected.value.reason == "signer_mismatch"


def test_a_receipt_presented_as_a_withdrawal_is_the_wrong_primary_type() -> None:
    receipt = a_fee_receipt()
    with pytest.raises(ReceiptRejected) as rejected:
        verify_withdrawal(receipt, sign(receipt), domain=DOMAIN, refund_signer=VAULT_SIGNER)
    assert rejected.value.reason == "wrong_primary_type"


@pytest.mark.parametrize("key", ["0x1234", "not a key", b"\x00" * 32])
def test_an_unusable_key_is_a_configuration_error_that_does_not_echo_it(key: Any) -> None:
    with pytest.raises(VaultMisconfigured) as refused:
        _signed(private_key=key)
    assert str(key) not in str(refused.value)


@pytest.mark.parametrize(
    "overrides",
    [
        {"amount_wei": 0},
        {"amount_wei": 1e16},
        {"amount_wei": 2**256},
        {"nonce": -1},
        {"user": "0x12"},
        {"audition_id": ""},
        {"deadline": DEADLINE.replace(tzinfo=None)},
    ],
)
def test_terms_a_withdrawal_cannot_carry_are_refused(overrides: dict[str, Any]) -> None:
    with pytest.raises(InvalidTypedData):
        _signed(**overrides)


def test_a_lowercase_user_is_signed_checksummed() -> None:
    typed_data, _ = _signed(user=USER.lower())
    assert typed_data["message"]["user"] == USER
