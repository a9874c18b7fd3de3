"""Audition-fee receipts: every way a SignedVault receipt can be wrong has its own reason."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from domain.economy.errors import InvalidTypedData, ReceiptRejected, VaultMisconfigured
from domain.economy.receipts import (
    FeeReceipt,
    read_fee_receipt,
    read_ticket_receipt,
    ticket_receipt_document,
    verify_fee_receipt,
)
from domain.economy.typed_data import VaultDomain
from domain.economy.withdrawals import sign_withdrawal
from tests.domain.economy.vault_kit import (
    AUDITION_ID,
    CHAIN_ID,
    CONTRACT,
    DEADLINE,
    DOMAIN,
    FEE_WEI,
    NONCE,
    OTHER_CONTRACT,
    OTHER_KEY,
    REFUND_KEY,
    SOMEONE,
    USER,
    VAULT_SIGNER,
    a_fee_receipt,
    edited,
    expectations,
    sign,
    without,
)


def _reason(document: Any, signature: Any, **overrides: Any) -> str:
    with pytest.raises(ReceiptRejected) as rejected:
        verify_fee_receipt(document, signature, **expectations(**overrides))
    return rejected.value.reason


# --- accepted ---


def test_a_valid_receipt_returns_its_nonce() -> None:
    # Arrange
    receipt = a_fee_receipt()
    # Act
    nonce = verify_fee_receipt(receipt, sign(receipt), **expectations())
    # Assert
    assert nonce == NONCE


def test_a_receipt_reads_back_as_its_signed_values() -> None:
    receipt = a_fee_receipt(nonce=2**255)
    read = read_fee_receipt(receipt, sign(receipt), domain=DOMAIN, vault_signer=VAULT_SIGNER)
    assert read == FeeReceipt(USER, FEE_WEI, "audition_fee", AUDITION_ID, 2**255, read.deadline)
    assert read.deadline == int(DEADLINE.timestamp())


def test_uint256_values_as_json_integers_are_accepted() -> None:
    receipt = edited(a_fee_receipt(), "message", amountWei=FEE_WEI, nonce=NONCE)
    assert verify_fee_receipt(receipt, sign(receipt), **expectations()) == NONCE


def test_a_chain_id_sent_as_a_decimal_string_is_the_same_chain() -> None:
    receipt = edited(a_fee_receipt(), "domain", chainId=str(CHAIN_ID))
    assert verify_fee_receipt(receipt, sign(receipt), **expectations()) == NONCE


def test_the_session_wallet_compares_case_insensitively() -> None:
    receipt = a_fee_receipt()
    assert verify_fee_receipt(receipt, sign(receipt), **expectations(payer=USER.lower())) == NONCE


def test_a_receipt_one_second_before_its_deadline_is_accepted() -> None:
    receipt = a_fee_receipt()
    now = DEADLINE - timedelta(seconds=1)
    assert verify_fee_receipt(receipt, sign(receipt), **expectations(now=now)) == NONCE


def test_v_as_0_or_1_recovers_like_27_or_28() -> None:
    receipt = a_fee_receipt()
    signature = sign(receipt)
    low_v = signature[:-2] + f"{int(signature[-2:], 16) - 27:02x}"
    assert verify_fee_receipt(receipt, low_v, **expectations()) == NONCE


# --- edited after signing -> the signature no longer recovers to the vault ---


@pytest.mark.parametrize(
    ("member", "value"),
    [("amountWei", str(FEE_WEI + 1)), ("payer", SOMEONE), ("nonce", "43"), ("deadline", "1")],
)
def test_a_member_edited_after_signing_is_a_signer_mismatch(member: str, value: str) -> None:
    receipt = a_fee_receipt()
    signature = sign(receipt)
    assert _reason(edited(receipt, "message", **{member: value}), signature) == "signer_mismatch"


def test_a_receipt_signed_by_another_key_is_a_signer_mismatch() -> None:
    receipt = a_fee_receipt()
    assert _reason(receipt, sign(receipt, OTHER_KEY)) == "signer_mismatch"


def test_a_receipt_signed_by_the_refund_key_is_a_signer_mismatch() -> None:
    receipt = a_fee_receipt()
    assert _reason(receipt, sign(receipt, REFUND_KEY)) == "signer_mismatch"


# --- domain ---


def test_a_receipt_for_another_chain_is_a_chain_mismatch() -> None:
    receipt = a_fee_receipt(domain=VaultDomain(1, CONTRACT))
    assert _reason(receipt, sign(receipt)) == "chain_mismatch"


def test_a_receipt_for_another_contract_is_a_contract_mismatch() -> None:
    receipt = a_fee_receipt(domain=VaultDomain(CHAIN_ID, OTHER_CONTRACT))
    assert _reason(receipt, sign(receipt)) == "contract_mismatch"


@pytest.mark.parametrize(
    "changes",
    [{"name": "OtherVault"}, {"version": "2"}, {"salt": "0x" + "00" * 32}, {"chainId": 1.5}],
)
def test_any_other_domain_member_is_a_domain_mismatch(changes: dict[str, Any]) -> None:
    receipt = edited(a_fee_receipt(), "domain", **changes)
    assert _reason(receipt, "0x" + "11" * 65) == "domain_mismatch"


def test_a_domain_without_a_member_is_a_domain_mismatch() -> None:
    receipt = without(a_fee_receipt(), "domain", "version")
    assert _reason(receipt, "0x" + "11" * 65) == "domain_mismatch"


def test_a_lowercase_contract_is_not_checksummed() -> None:
    receipt = edited(a_fee_receipt(), "domain", verifyingContract=CONTRACT.lower())
    assert _reason(receipt, sign(receipt)) == "address_not_checksummed"


# --- what the receipt pays for ---


def test_a_receipt_for_another_audition_is_an_audition_mismatch() -> None:
    receipt = a_fee_receipt(audition_id="another-audition")
    assert _reason(receipt, sign(receipt)) == "audition_mismatch"


def test_a_receipt_for_another_wallet_is_a_payer_mismatch() -> None:
    receipt = a_fee_receipt(payer=SOMEONE)
    assert _reason(receipt, sign(receipt)) == "payer_mismatch"


def test_a_receipt_for_another_amount_is_an_amount_mismatch() -> None:
    receipt = a_fee_receipt(amount_wei=FEE_WEI - 1)
    assert _reason(receipt, sign(receipt)) == "amount_mismatch"


def test_a_receipt_with_another_purpose_is_a_purpose_mismatch() -> None:
    receipt = edited(a_fee_receipt(), "message", purpose="ticket")
    assert _reason(receipt, sign(receipt)) == "purpose_mismatch"


def test_a_receipt_at_its_deadline_has_expired() -> None:
    receipt = a_fee_receipt()
    assert _reason(receipt, sign(receipt), now=DEADLINE) == "receipt_expired"


# --- declared fields only ---


def test_a_signed_extra_message_field_is_unexpected() -> None:
    # eth-account ignores undeclared keys, so this signature is valid over the declared ones
    receipt = edited(a_fee_receipt(), "message", bonusWei="1")
    assert _reason(receipt, sign(receipt)) == "unexpected_field"


def test_a_missing_message_field_is_missing() -> None:
    receipt = without(a_fee_receipt(), "message", "deadline")
    assert _reason(receipt, "0x" + "11" * 65) == "missing_field"


def test_an_extra_declared_member_is_a_types_mismatch() -> None:
    receipt = a_fee_receipt()
    receipt["types"]["AuditionFeeReceipt"].append({"name": "memo", "type": "string"})
    receipt["message"]["memo"] = "hi"
    assert _reason(receipt, sign(receipt)) == "types_mismatch"


@pytest.mark.parametrize(
    "amount",
    [1e16, float(FEE_WEI), -FEE_WEI, "-1", True, None, "0x2386f26fc10000", " 1", "1e16", 2**256],
)
def test_an_amount_that_is_not_a_uint256_is_malformed(amount: object) -> None:
    receipt = edited(a_fee_receipt(), "message", amountWei=amount)
    assert _reason(receipt, "0x" + "11" * 65) == "malformed_field"


@pytest.mark.parametrize("payer", [USER.lower(), USER[:2] + USER[2:].swapcase()])
def test_a_payer_that_is_not_eip55_is_not_checksummed(payer: str) -> None:
    receipt = edited(a_fee_receipt(), "message", payer=payer)
    assert _reason(receipt, sign(receipt)) == "address_not_checksummed"


@pytest.mark.parametrize("audition", [7, None, "x" * 257, "\ud800"])
def test_a_string_member_that_is_not_a_short_string_is_malformed(audition: object) -> None:
    receipt = edited(a_fee_receipt(), "message", auditionId=audition)
    assert _reason(receipt, "0x" + "11" * 65) == "malformed_field"


@pytest.mark.parametrize("document", [None, [], "{}", {"types": {}}])
def test_a_document_of_the_wrong_shape_is_malformed(document: object) -> None:
    assert _reason(document, "0x" + "11" * 65) == "malformed_document"


def test_an_extra_top_level_member_is_malformed() -> None:
    receipt = {**a_fee_receipt(), "extra": 1}
    assert _reason(receipt, sign(a_fee_receipt())) == "malformed_document"


# --- other documents ---


def test_a_withdrawal_presented_as_a_receipt_is_the_wrong_primary_type() -> None:
    withdrawal, signature = sign_withdrawal(
        domain=DOMAIN,
        private_key=REFUND_KEY,
        user=USER,
        amount_wei=FEE_WEI,
        audition_id=AUDITION_ID,
        nonce=NONCE,
        deadline=DEADLINE,
    )
    assert _reason(withdrawal, signature) == "wrong_primary_type"
    relabelled = {**withdrawal, "primaryType": "AuditionFeeReceipt"}
    assert _reason(relabelled, signature) == "types_mismatch"


def test_a_ticket_receipt_is_not_a_fee_receipt() -> None:
    ticket = ticket_receipt_document(
        DOMAIN,
        payer=USER,
        amount_wei=FEE_WEI,
        race_id="race-1",
        clone_id="clone-1",
        nonce=NONCE,
        deadline=DEADLINE,
    )
    signature = sign(ticket)
    assert _reason(ticket, signature) == "wrong_primary_type"
    read = read_ticket_receipt(ticket, signature, domain=DOMAIN, vault_signer=VAULT_SIGNER)
    assert (read.race_id, read.clone_id, read.nonce) == ("race-1", "clone-1", NONCE)


# --- signatures ---


def _high_s(signature: str) -> str:
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    raw = bytes.fromhex(signature[2:])
    s = n - int.from_bytes(raw[32:64], "big")
    v = 27 + 28 - raw[64]
    return "0x" + (raw[:32] + s.to_bytes(32, "big") + bytes([v])).hex()


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda s: "0x" + "00" * 65, id="zero"),
        pytest.param(lambda s: s[:-2], id="truncated"),
        pytest.param(lambda s: s[:130], id="half-byte-short"),
        pytest.param(lambda s: s + "00", id="oversized"),
        pytest.param(lambda s: s[2:], id="no-prefix"),
        pytest.param(lambda s: "0x" + "zz" * 65, id="non-hex"),
        pytest.param(lambda s: "", id="empty"),
        pytest.param(lambda s: "0x", id="bare-prefix"),
        pytest.param(lambda s: s[:-2] + "1d", id="v-29"),
        pytest.param(lambda s: None, id="none"),
        pytest.param(lambda s: bytes.fromhex(s[2:]), id="bytes"),
        pytest.param(_high_s, id="high-s"),
        pytest.param(lambda s: "0x" + "ff" * 64 + "1b", id="r-s-out-of-range"),
    ],
)
def test_a_malformed_signature_is_a_bad_signature(mangle: Any) -> None:
    receipt = a_fee_receipt()
    assert _reason(receipt, mangle(sign(receipt))) == "bad_signature"


# --- the order of checks ---


def test_the_domain_is_judged_before_the_signature() -> None:
    receipt = a_fee_receipt(domain=VaultDomain(1, CONTRACT))
    assert _reason(receipt, "0x" + "00" * 65) == "chain_mismatch"


def test_the_payer_is_judged_before_what_the_receipt_pays_for() -> None:
    receipt = a_fee_receipt(payer=SOMEONE, amount_wei=1, audition_id="other")
    assert _reason(receipt, sign(receipt), now=DEADLINE) == "payer_mismatch"


def test_what_the_receipt_pays_for_is_judged_before_its_deadline() -> None:
    receipt = a_fee_receipt(audition_id="other")
    assert _reason(receipt, sign(receipt), now=DEADLINE) == "audition_mismatch"


# --- configuration errors are not the receipt's fault ---


def test_a_malformed_vault_signer_is_a_configuration_error() -> None:
    receipt = a_fee_receipt()
    with pytest.raises(VaultMisconfigured):
        verify_fee_receipt(receipt, sign(receipt), **expectations(vault_signer="vault"))


@pytest.mark.parametrize("fee", [0, 1e16, True])
def test_a_fee_that_is_not_positive_wei_is_refused(fee: object) -> None:
    receipt = a_fee_receipt()
    with pytest.raises(InvalidTypedData):
        verify_fee_receipt(receipt, sign(receipt), **expectations(fee_wei=fee))
