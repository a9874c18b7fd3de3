"""Payout authorizations: our signed word that a wallet may take a race's wei from the vault.

A race's settlement produces rows per (recipient, race, kind) with kind ``payout``,
``creator_share`` or ``refund`` (issue 10). Each becomes ``Payout(address user, uint256
amountWei, string raceId, uint256 nonce, uint256 deadline)`` under the SignedVault domain,
signed by the **payout key**: separate from the vault signer (receipts) and the refund key
(audition withdrawals), and a distinct struct, so no document passes for another. The vault
pays ``user`` once per ``nonce`` before ``deadline``; the nonce is the authorization row's
id (:func:`payout_nonce_for`), and an authorization that expired unused is re-signed with
the **same nonce** and a later deadline (:func:`resign_payout`), never a new one.
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

PAYOUT = StructType.of(
    "Payout",
    ("user", "address"),
    ("amountWei", "uint256"),
    ("raceId", "string"),
    ("nonce", "uint256"),
    ("deadline", "uint256"),
)


@dataclass(frozen=True)
class Payout:
    """The terms of one payout authorization, as signed."""

    user: str
    amount_wei: int
    race_id: str
    nonce: int
    deadline: int  # Unix seconds

    def document(self, domain: VaultDomain) -> dict[str, Any]:
        """The ``Payout`` typed data for these terms under ``domain``."""
        message = {
            "user": self.user,
            "amountWei": self.amount_wei,
            "raceId": self.race_id,
            "nonce": self.nonce,
            "deadline": self.deadline,
        }
        return typed_data_document(PAYOUT, domain, message)


SignedPayout = SignedDocument  # typed data and the signing key's signature
payout_nonce_for = record_nonce  # one nonce per record, kept when re-signed


def sign_payout(terms: Payout, *, domain: VaultDomain, private_key: str | bytes) -> SignedPayout:
    """Sign ``terms`` with the payout key."""
    positive_wei(terms.amount_wei)
    typed_data = terms.document(domain)
    return SignedPayout(typed_data, sign_typed_document(typed_data, private_key))


def resign_payout(
    previous: Payout, *, domain: VaultDomain, private_key: str | bytes, deadline: datetime
) -> tuple[Payout, SignedPayout]:
    """Sign ``previous`` again with a later deadline and the **same** nonce."""
    if epoch_seconds(deadline) <= previous.deadline:
        raise InvalidTypedData(f"deadline must be after the previous one ({previous.deadline})")
    renewed = Payout(
        previous.user,
        previous.amount_wei,
        previous.race_id,
        previous.nonce,
        epoch_seconds(deadline),
    )
    return renewed, sign_payout(renewed, domain=domain, private_key=private_key)


def verify_payout(
    typed_data: object,
    signature: object,
    *,
    domain: VaultDomain,
    payout_signer: str,
    now: datetime | None = None,
) -> Payout:
    """Return the payout ``payout_signer`` signed (still live at ``now`` if given)."""
    signer = configured_address(payout_signer, role="payout_signer")
    values = read_signed_document(
        typed_data, signature, struct=PAYOUT, domain=domain, signer=signer
    )
    payout = Payout(
        user=str(values["user"]),
        amount_wei=int(values["amountWei"]),
        race_id=str(values["raceId"]),
        nonce=int(values["nonce"]),
        deadline=int(values["deadline"]),
    )
    if now is not None and payout.deadline <= epoch_seconds(now):
        raise ReceiptRejected("payout_expired", f"deadline={payout.deadline}")
    return payout
