"""The economy module: payment facts and what they entitle (tier grants, later tickets).

The signature checks are plain functions that tools and tests call directly
(:func:`verify_fee_receipt`, :func:`verify_withdrawal`); see ``docs/economy.md``.
"""

from domain.economy.errors import (
    EconomyError,
    InvalidTypedData,
    ReceiptRejected,
    VaultMisconfigured,
)
from domain.economy.nonces import ReceiptKind, ReceiptNonce, consume, nonce_id_for
from domain.economy.receipts import (
    AUDITION_FEE_RECEIPT,
    TICKET_RECEIPT,
    FeeReceipt,
    TicketReceipt,
    check_fee_receipt,
    fee_receipt_document,
    read_fee_receipt,
    read_ticket_receipt,
    ticket_receipt_document,
    verify_fee_receipt,
)
from domain.economy.signed_documents import read_signed_document
from domain.economy.typed_data import VaultDomain, recover_typed_signer
from domain.economy.withdrawals import (
    WITHDRAWAL,
    SignedWithdrawal,
    Withdrawal,
    resign_withdrawal,
    sign_withdrawal,
    verify_withdrawal,
    withdrawal_nonce_for,
)

__all__ = [
    "AUDITION_FEE_RECEIPT",
    "TICKET_RECEIPT",
    "WITHDRAWAL",
    "EconomyError",
    "FeeReceipt",
    "InvalidTypedData",
    "ReceiptKind",
    "ReceiptNonce",
    "ReceiptRejected",
    "SignedWithdrawal",
    "TicketReceipt",
    "VaultDomain",
    "VaultMisconfigured",
    "Withdrawal",
    "check_fee_receipt",
    "consume",
    "fee_receipt_document",
    "nonce_id_for",
    "read_fee_receipt",
    "read_signed_document",
    "read_ticket_receipt",
    "recover_typed_signer",
    "resign_withdrawal",
    "sign_withdrawal",
    "ticket_receipt_document",
    "verify_fee_receipt",
    "verify_withdrawal",
    "withdrawal_nonce_for",
]
