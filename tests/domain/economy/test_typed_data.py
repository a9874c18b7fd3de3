"""The SignedVault domain value, document building and signer recovery."""

from __future__ import annotations

from typing import Any

import pytest

from domain.economy.errors import InvalidTypedData, VaultMisconfigured
from domain.economy.receipts import AUDITION_FEE_RECEIPT
from domain.economy.typed_data import (
    VaultDomain,
    address_of_key,
    recover_typed_signer,
    typed_data_document,
)
from tests.domain.economy.vault_kit import (
    CHAIN_ID,
    CONTRACT,
    DOMAIN,
    VAULT_KEY,
    VAULT_SIGNER,
    a_fee_receipt,
    sign,
)


@pytest.mark.parametrize(("chain", "contract"), [(0, CONTRACT), (True, CONTRACT), (1, "0x12")])
def test_a_vault_domain_refuses_unusable_configuration(chain: Any, contract: str) -> None:
    with pytest.raises(VaultMisconfigured):
        VaultDomain(chain, contract)


def test_a_vault_domain_checksums_its_contract() -> None:
    assert VaultDomain(CHAIN_ID, CONTRACT.lower()).verifying_contract == CONTRACT


def test_a_document_carries_the_domain_and_the_declared_fields_only() -> None:
    # Act
    document = typed_data_document(
        AUDITION_FEE_RECEIPT,
        DOMAIN,
        {
            "payer": VAULT_SIGNER.lower(),
            "amountWei": 10**18,
            "purpose": "audition_fee",
            "auditionId": "a",
            "nonce": 0,
            "deadline": 1,
            "ignored": "x",
        },
    )
    # Assert
    assert document["domain"] == {
        "name": "SignedVault",
        "version": "1",
        "chainId": CHAIN_ID,
        "verifyingContract": CONTRACT,
    }
    assert document["primaryType"] == "AuditionFeeReceipt"
    assert list(document["types"]) == ["EIP712Domain", "AuditionFeeReceipt"]
    assert document["message"] == {
        "payer": VAULT_SIGNER,
        "amountWei": str(10**18),
        "purpose": "audition_fee",
        "auditionId": "a",
        "nonce": "0",
        "deadline": "1",
    }


def test_a_document_missing_a_declared_value_cannot_be_built() -> None:
    with pytest.raises(InvalidTypedData):
        typed_data_document(AUDITION_FEE_RECEIPT, DOMAIN, {"payer": VAULT_SIGNER})


def test_recovery_names_the_signer() -> None:
    receipt = a_fee_receipt()
    assert recover_typed_signer(receipt, sign(receipt)) == VAULT_SIGNER == address_of_key(VAULT_KEY)


@pytest.mark.parametrize(
    "document", [{}, "receipt", {"types": 1}, {**a_fee_receipt(), "primaryType": "Mail"}]
)
def test_recovery_of_nonsense_under_a_real_signature_is_none(document: Any) -> None:
    assert recover_typed_signer(document, sign(a_fee_receipt())) is None


def test_recovery_with_a_nonsense_signature_is_none() -> None:
    assert recover_typed_signer(a_fee_receipt(), "0x" + "11" * 65) is None
