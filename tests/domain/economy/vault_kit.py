"""Test kit for SignedVault documents: fixed keys, one deployment, receipt builders.

Keys are fixed hex, so every signature reproduces byte for byte. Documents are signed here
with eth-account directly (``encode_typed_data`` + ``sign_message``), not with the code
under test, so a test that signs a tampered or odd document signs exactly what it built.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data

from domain.economy.receipts import fee_receipt_document
from domain.economy.typed_data import VaultDomain

VAULT_KEY = "0x" + "a1" * 32
REFUND_KEY = "0x" + "b2" * 32
OTHER_KEY = "0x" + "c3" * 32
USER_KEY = "0x" + "d4" * 32
SOMEONE_KEY = "0x" + "e5" * 32

VAULT_SIGNER = Account.from_key(VAULT_KEY).address
REFUND_SIGNER = Account.from_key(REFUND_KEY).address
USER = Account.from_key(USER_KEY).address
SOMEONE = Account.from_key(SOMEONE_KEY).address
CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
OTHER_CONTRACT = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"

CHAIN_ID = 8453
DOMAIN = VaultDomain(CHAIN_ID, CONTRACT)
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
DEADLINE = NOW + timedelta(minutes=15)
FEE_WEI = 10**16
AUDITION_ID = "6f1c3a52-0d4e-4b7a-9c21-8e5f0a7d3b19"
NONCE = 42


def a_fee_receipt(
    *,
    domain: VaultDomain = DOMAIN,
    payer: str = USER,
    amount_wei: int = FEE_WEI,
    audition_id: str = AUDITION_ID,
    nonce: int = NONCE,
    deadline: datetime = DEADLINE,
) -> dict[str, Any]:
    """An AuditionFeeReceipt document; every default matches :func:`expectations`."""
    return fee_receipt_document(
        domain,
        payer=payer,
        amount_wei=amount_wei,
        audition_id=audition_id,
        nonce=nonce,
        deadline=deadline,
    )


def sign(document: dict[str, Any], key: str = VAULT_KEY) -> str:
    """Sign any document exactly as given (eth-account ignores undeclared message keys)."""
    signed = Account.sign_message(encode_typed_data(full_message=copy.deepcopy(document)), key)
    return str(signed.signature.to_0x_hex())


def expectations(**overrides: Any) -> dict[str, Any]:
    """The keyword arguments of ``verify_fee_receipt`` for the default receipt."""
    values: dict[str, Any] = {
        "domain": DOMAIN,
        "vault_signer": VAULT_SIGNER,
        "payer": USER,
        "audition_id": AUDITION_ID,
        "fee_wei": FEE_WEI,
        "now": NOW,
    }
    return {**values, **overrides}


def edited(document: dict[str, Any], section: str, **changes: Any) -> dict[str, Any]:
    """A deep copy of ``document`` with members of ``section`` replaced (or added)."""
    copied = copy.deepcopy(document)
    copied[section].update(changes)
    return copied


def without(document: dict[str, Any], section: str, member: str) -> dict[str, Any]:
    """A deep copy of ``document`` with one member of ``section`` removed."""
    copied = copy.deepcopy(document)
    del copied[section][member]
    return copied
