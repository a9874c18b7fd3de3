"""Optional on-chain confirmation of an audition fee: the port the economy asks.

Why: a vault receipt is the vault signer's word that a fee arrived. Where a deployment wants
the chain's word too (``CLASH_VAULT_RPC_URL``), the economy asks the vault contract, through
this port, what it recorded for the audition before it records anything. The adapter
(``adapters/vault_chain.py``) reads the contract over JSON-RPC; RPC answers are untrusted, so
anything but a clear answer is :class:`ChainUnavailable` (the submission can be retried, and
nothing is recorded), never a confirmation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from domain.economy.errors import EconomyError


@dataclass(frozen=True)
class OnChainFee:
    """What the vault contract recorded for one audition id, ``confirmations`` deep."""

    payer: str
    amount_wei: int
    confirmations: int


class ChainUnavailable(EconomyError):
    """Raised when the chain cannot be asked (unreachable node, wrong chain, garbage answer)."""

    reason = "chain_unavailable"


class PaymentUnconfirmed(EconomyError):
    """Raised when the chain shows no fee, another payer or amount, or too few blocks on it."""

    reason = "payment_unconfirmed"


class PaymentConfirmations(Protocol):
    """Reads the vault contract's record of an audition fee."""

    required_confirmations: int

    def fee_paid(self, *, audition_id: str) -> OnChainFee | None:
        """The fee recorded for ``audition_id`` (``None``: none); raises ChainUnavailable."""
        ...


def require_confirmed(
    chain: PaymentConfirmations, *, audition_id: str, payer: str, amount_wei: int
) -> OnChainFee:
    """Return the chain's record of the fee, or raise :class:`PaymentUnconfirmed`."""
    fee = chain.fee_paid(audition_id=audition_id)
    if fee is None:
        raise PaymentUnconfirmed(f"audition={audition_id} has no fee on chain")
    if fee.payer.lower() != payer.lower() or fee.amount_wei != amount_wei:
        raise PaymentUnconfirmed(
            f"audition={audition_id} on chain payer={fee.payer} amount_wei={fee.amount_wei}"
        )
    if fee.confirmations < chain.required_confirmations:
        raise PaymentUnconfirmed(
            f"audition={audition_id} confirmations={fee.confirmations}"
            f" required={chain.required_confirmations}"
        )
    return fee
