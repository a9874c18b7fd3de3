"""Refund withdrawals: our signed authorisation for a user to take wei back from the vault.

When a paid audition is voided, or a paid receipt cannot be honoured, Economy records a
refund and signs ``Withdrawal(address user, uint256 amountWei, string auditionId,
uint256 nonce, uint256 deadline)`` under the same SignedVault domain as the receipts, with
the **refund key**, a key separate from the vault signer's (so neither can forge the
other's documents, and the distinct struct keeps a receipt from passing as a withdrawal).
The key is handed in by the caller; nothing here reads the environment.

The vault contract pays ``user`` once per ``nonce`` before ``deadline``. The nonce is the
refund record's id (:func:`withdrawal_nonce_for`), so there is one withdrawal per refund.
An authorisation that expired unused is **re-signed with the same nonce** and a later
deadline (:func:`resign_withdrawal`); a new nonce would let both signatures pay out.
:func:`verify_withdrawal` reads one back (tests, reconciliation) with the reasons of
``signed_documents`` and, given ``now``, ``withdrawal_expired``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.economy.errors import InvalidTypedData, ReceiptRejected
from domain.economy.signed_documents import read_signed_document
from domain.economy.typed_data import (
    SignedDocument,
    StructType,
    VaultDomain,
    configured_address,
    epoch_seconds,
    positive_wei,
    record_nonce,
    sign_typed_document,
    typed_data_document,
)

WITHDRAWAL = StructType.of(
    "Withdrawal",
    ("user", "address"),
    ("amountWei", "uint256"),
    ("auditionId", "string"),
    ("nonce", "uint256"),
    ("deadline", "uint256"),
)


@dataclass(frozen=True)
class Withdrawal:
    """The terms of one withdrawal authorisation, as signed."""

    user: str
    amount_wei: int
    audition_id: str
    nonce: int
    deadline: int  # Unix seconds

    def document(self, domain: VaultDomain) -> dict[str, Any]:
        """The ``Withdrawal`` typed data for these terms under ``domain``."""
        message = {
            "user": self.user,
            "amountWei": self.amount_wei,
            "auditionId": self.audition_id,
            "nonce": self.nonce,
            "deadline": self.deadline,
        }
        return typed_data_document(WITHDRAWAL, domain, message)


SignedWithdrawal = SignedDocument  # typed data and the signing key's signature
withdrawal_nonce_for = record_nonce  # one nonce per record, kept when re-signed


def sign_withdrawal(
    *,
    domain: VaultDomain,
    private_key: str | bytes,
    user: str,
    amount_wei: int,
    audition_id: str,
    nonce: int,
    deadline: datetime,
) -> SignedWithdrawal:
    """Authorise ``user`` to withdraw ``amount_wei`` once (``nonce``) until ``deadline``."""
    positive_wei(amount_wei)
    terms = Withdrawal(
        user=user,
        amount_wei=amount_wei,
        audition_id=audition_id,
        nonce=nonce,
        deadline=epoch_seconds(deadline),
    )
    typed_data = terms.document(domain)
    return SignedWithdrawal(typed_data, sign_typed_document(typed_data, private_key))


def resign_withdrawal(
    previous: Withdrawal, *, domain: VaultDomain, private_key: str | bytes, deadline: datetime
) -> SignedWithdrawal:
    """Sign ``previous`` again with a later deadline and the **same** nonce."""
    if epoch_seconds(deadline) <= previous.deadline:
        raise InvalidTypedData(f"deadline must be after the previous one ({previous.deadline})")
    return sign_withdrawal(
        domain=domain,
        private_key=private_key,
        user=previous.user,
        amount_wei=previous.amount_wei,
        audition_id=previous.audition_id,
        nonce=previous.nonce,
        deadline=deadline,
    )


def verify_withdrawal(
    typed_data: object,
    signature: object,
    *,
    domain: VaultDomain,
    refund_signer: str,
    now: datetime | None = None,
) -> Withdrawal:
    """Return the withdrawal ``refund_signer`` signed (still live at ``now`` if given)."""
    signer = configured_address(refund_signer, role="refund_signer")
    values = read_signed_document(
        typed_data, signature, struct=WITHDRAWAL, domain=domain, signer=signer
    )
    withdrawal = Withdrawal(
        user=str(values["user"]),
        amount_wei=int(values["amountWei"]),
        audition_id=str(values["auditionId"]),
        nonce=int(values["nonce"]),
        deadline=int(values["deadline"]),
    )
    if now is not None and withdrawal.deadline <= epoch_seconds(now):
        raise ReceiptRejected("withdrawal_expired", f"deadline={withdrawal.deadline}")
    return withdrawal
