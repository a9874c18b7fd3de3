"""SignedVault payment receipts: the vault signer's attestation that a wallet paid.

The vault signer signs, under the SignedVault domain, one of two receipt structs:

- ``AuditionFeeReceipt(address payer, uint256 amountWei, string purpose, string auditionId,
  uint256 nonce, uint256 deadline)`` with ``purpose == "audition_fee"``;
- ``TicketReceipt(address payer, uint256 amountWei, string raceId, string cloneId,
  uint256 nonce, uint256 deadline)`` (Arena tickets, a later issue).

Both draw their ``nonce`` from one space per vault signer (see ``nonces``): a nonce pays
for one thing, whatever the struct. Amounts are integer wei; ``deadline`` is Unix seconds.

Verifying a fee receipt is two steps, so the purchase flow can tell "not this user's
money" from "money received that cannot be honoured" (refunded in full):

1. :func:`read_fee_receipt`, the reasons of ``signed_documents`` (structure, domain, fields,
   ``bad_signature``, ``signer_mismatch``): is this a receipt the vault signed?
2. :func:`check_fee_receipt`, in this order: ``payer_mismatch`` (the payer is not the
   signed-in wallet: someone else's receipt, refused like a forgery), then what the receipt
   is for, ``purpose_mismatch``, ``audition_mismatch``, ``amount_mismatch`` (exact wei),
   and last when, ``receipt_expired`` (``deadline <= now``).

:func:`verify_fee_receipt` runs both and returns the nonce. Consuming it is the caller's
job, in the same save as the purchase.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.economy.errors import InvalidTypedData, ReceiptRejected
from domain.economy.signed_documents import read_signed_document
from domain.economy.typed_data import (
    StructType,
    TypedValue,
    VaultDomain,
    configured_address,
    epoch_seconds,
    typed_data_document,
)

AUDITION_FEE_PURPOSE = "audition_fee"

AUDITION_FEE_RECEIPT = StructType.of(
    "AuditionFeeReceipt",
    ("payer", "address"),
    ("amountWei", "uint256"),
    ("purpose", "string"),
    ("auditionId", "string"),
    ("nonce", "uint256"),
    ("deadline", "uint256"),
)
TICKET_RECEIPT = StructType.of(
    "TicketReceipt",
    ("payer", "address"),
    ("amountWei", "uint256"),
    ("raceId", "string"),
    ("cloneId", "string"),
    ("nonce", "uint256"),
    ("deadline", "uint256"),
)


@dataclass(frozen=True)
class FeeReceipt:
    """An audition-fee receipt the vault signer signed (not yet checked against a sale)."""

    payer: str
    amount_wei: int
    purpose: str
    audition_id: str
    nonce: int
    deadline: int  # Unix seconds


@dataclass(frozen=True)
class TicketReceipt:
    """A ticket receipt the vault signer signed (not yet checked against a race entry)."""

    payer: str
    amount_wei: int
    race_id: str
    clone_id: str
    nonce: int
    deadline: int  # Unix seconds


def fee_receipt_document(
    domain: VaultDomain,
    *,
    payer: str,
    amount_wei: int,
    audition_id: str,
    nonce: int,
    deadline: datetime,
) -> dict[str, Any]:
    """The ``AuditionFeeReceipt`` typed data the vault signs for a fee payment."""
    message = {
        "payer": payer,
        "amountWei": amount_wei,
        "purpose": AUDITION_FEE_PURPOSE,
        "auditionId": audition_id,
        "nonce": nonce,
        "deadline": epoch_seconds(deadline),
    }
    return typed_data_document(AUDITION_FEE_RECEIPT, domain, message)


def ticket_receipt_document(
    domain: VaultDomain,
    *,
    payer: str,
    amount_wei: int,
    race_id: str,
    clone_id: str,
    nonce: int,
    deadline: datetime,
) -> dict[str, Any]:
    """The ``TicketReceipt`` typed data the vault signs for a race ticket."""
    message = {
        "payer": payer,
        "amountWei": amount_wei,
        "raceId": race_id,
        "cloneId": clone_id,
        "nonce": nonce,
        "deadline": epoch_seconds(deadline),
    }
    return typed_data_document(TICKET_RECEIPT, domain, message)


def read_fee_receipt(
    typed_data: object, signature: object, *, domain: VaultDomain, vault_signer: str
) -> FeeReceipt:
    """Return the fee receipt ``vault_signer`` signed, or raise ``ReceiptRejected``."""
    values = _vault_signed(typed_data, signature, AUDITION_FEE_RECEIPT, domain, vault_signer)
    return FeeReceipt(
        payer=str(values["payer"]),
        amount_wei=int(values["amountWei"]),
        purpose=str(values["purpose"]),
        audition_id=str(values["auditionId"]),
        nonce=int(values["nonce"]),
        deadline=int(values["deadline"]),
    )


def read_ticket_receipt(
    typed_data: object, signature: object, *, domain: VaultDomain, vault_signer: str
) -> TicketReceipt:
    """Return the ticket receipt ``vault_signer`` signed, or raise ``ReceiptRejected``."""
    values = _vault_signed(typed_data, signature, TICKET_RECEIPT, domain, vault_signer)
    return TicketReceipt(
        payer=str(values["payer"]),
        amount_wei=int(values["amountWei"]),
        race_id=str(values["raceId"]),
        clone_id=str(values["cloneId"]),
        nonce=int(values["nonce"]),
        deadline=int(values["deadline"]),
    )


def _vault_signed(
    typed_data: object,
    signature: object,
    struct: StructType,
    domain: VaultDomain,
    vault_signer: str,
) -> dict[str, TypedValue]:
    """The message values of a document of ``struct`` signed by the configured vault signer."""
    signer = configured_address(vault_signer, role="vault_signer")
    return read_signed_document(typed_data, signature, struct=struct, domain=domain, signer=signer)


def check_fee_receipt(
    receipt: FeeReceipt, *, payer: str, audition_id: str, fee_wei: int, now: datetime
) -> None:
    """Check a signed receipt pays ``fee_wei`` for ``audition_id`` by ``payer``, in time."""
    if isinstance(fee_wei, bool) or not isinstance(fee_wei, int) or fee_wei <= 0:
        raise InvalidTypedData(f"fee_wei={fee_wei!r} must be a positive integer of wei")
    if receipt.payer.lower() != payer.lower():
        raise ReceiptRejected("payer_mismatch", f"payer={receipt.payer}")
    if receipt.purpose != AUDITION_FEE_PURPOSE:
        raise ReceiptRejected("purpose_mismatch", f"expected={AUDITION_FEE_PURPOSE}")
    if receipt.audition_id != audition_id:
        raise ReceiptRejected("audition_mismatch", f"expected={audition_id}")
    if receipt.amount_wei != fee_wei:
        raise ReceiptRejected("amount_mismatch", f"amount_wei={receipt.amount_wei}")
    if receipt.deadline <= epoch_seconds(now):
        raise ReceiptRejected("receipt_expired", f"deadline={receipt.deadline}")


def verify_fee_receipt(
    typed_data: object,
    signature: object,
    *,
    domain: VaultDomain,
    vault_signer: str,
    payer: str,
    audition_id: str,
    fee_wei: int,
    now: datetime,
) -> int:
    """Return the nonce of a receipt that pays this audition's fee, or raise ``ReceiptRejected``."""
    receipt = read_fee_receipt(typed_data, signature, domain=domain, vault_signer=vault_signer)
    check_fee_receipt(receipt, payer=payer, audition_id=audition_id, fee_wei=fee_wei, now=now)
    return receipt.nonce
