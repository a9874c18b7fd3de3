"""The economy module's eventsourcing application: tier grants, audition fees, refunds.

Economy facts are stamped by the **service clock** (purchases, receipts and grants happen
in real time whatever the market replay is doing). Grants are recorded per clone on a
:class:`~domain.economy.grants.CloneEntitlement`; the first grant opens it in the same save.
The effective tier is ranked by the tier table the application was built with (the
configured one), or by a table handed in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError

from domain.aggregates import ClashAggregate
from domain.application import ClashApplication, FactoryBuilder
from domain.clock import Clock
from domain.clones.tiers import DEFAULT_TIERS, Grant, TierTable
from domain.economy.confirmations import PaymentConfirmations, require_confirmed
from domain.economy.errors import ReceiptRejected, TierNotInTable, VaultMisconfigured
from domain.economy.grants import CloneEntitlement, GrantSource, entitlement_id_for
from domain.economy.nonces import ReceiptKind, ReceiptNonce, consume, nonce_id_for
from domain.economy.purchases import (
    AuditionAttempts,
    PaymentIndex,
    Purchase,
    PurchaseNotFound,
    Quote,
    QuoteNotFound,
    ReceiptNonceUsed,
    ReceiptRefused,
    Refund,
    attempts_id_for,
    index_id_for,
    purchase_id_for,
    refund_id_for,
    voided_refund_id_for,
)
from domain.economy.receipts import FeeReceipt, check_fee_receipt, read_fee_receipt
from domain.economy.typed_data import VaultDomain, address_of_key, epoch_seconds
from domain.economy.withdrawals import (
    SignedWithdrawal,
    Withdrawal,
    sign_withdrawal,
    withdrawal_nonce_for,
)

A = TypeVar("A", bound=ClashAggregate)


@dataclass(frozen=True)
class VaultTerms:
    """The vault deployment and the fee rules the economy sells audition fees by."""

    domain: VaultDomain
    vault_signer: str
    refund_private_key: str
    fees_wei: Mapping[str, int]
    retries: Mapping[str, int]
    quote_ttl: timedelta
    refund_ttl: timedelta

    def __post_init__(self) -> None:
        if address_of_key(self.refund_private_key).lower() == self.vault_signer.lower():
            raise VaultMisconfigured("the refund key must not be the vault signer's key")


@dataclass(frozen=True)
class Submitted:
    """What a fee submission recorded: a purchase, or a refund (money received, unhonoured)."""

    purchase: Purchase | None = None
    refund: Refund | None = None


class Economy(ClashApplication):
    """Payment facts and entitlements; today, the tier grants of clones."""

    name = "economy"

    def __init__(
        self,
        *,
        clock: Clock,
        factory_builder: FactoryBuilder | None = None,
        tiers: TierTable | None = None,
    ) -> None:
        super().__init__(clock=clock, factory_builder=factory_builder)
        self.tiers = tiers or TierTable(DEFAULT_TIERS)

    def grant_tier(
        self,
        clone_id: UUID,
        tier: str,
        *,
        source: GrantSource,
        reference: str | None,
        reason: str,
        granted_by: str,
        table: TierTable | None = None,
    ) -> Grant:
        """Grant ``tier`` to a clone (once per source reference); return the effective grant."""
        chosen = table or self.tiers

        def command() -> Grant:
            entitlement = self._entitlement(clone_id) or CloneEntitlement.open(clone_id)
            entitlement.grant(
                tier,
                source=source,
                reference=reference,
                reason=reason,
                granted_by=granted_by,
                table=chosen,
            )
            if entitlement.pending_events:
                self.save(entitlement)
            effective = entitlement.effective(chosen)
            if effective is None:  # the tier was just checked against this table
                raise RuntimeError(f"clone={clone_id} has no effective tier after a grant")
            return effective

        return self.run_command(command)

    def effective_tier(self, clone_id: UUID, table: TierTable | None = None) -> Grant | None:
        """The highest-ranked tier granted to the clone, or ``None``."""
        entitlement = self._entitlement(clone_id)
        return None if entitlement is None else entitlement.effective(table or self.tiers)

    def grants(self, clone_id: UUID) -> list[dict[str, object]]:
        """Every grant of the clone, oldest first (tier, source, reference, reason, by, at)."""
        entitlement = self._entitlement(clone_id)
        return [] if entitlement is None else [dict(g) for g in entitlement.grants]

    def _entitlement(self, clone_id: UUID) -> CloneEntitlement | None:
        return self._find(entitlement_id_for(clone_id), CloneEntitlement)

    def _find(self, aggregate_id: UUID, kind: type[A]) -> A | None:
        try:
            found: object = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, kind) else None

    # --- audition fees ---------------------------------------------------------------------

    def bind_vault(self, terms: VaultTerms) -> None:
        """Configure the vault deployment, keys and fee rules (the composition root does)."""
        self.vault = terms

    def bind_chain(self, chain: PaymentConfirmations | None) -> None:
        """Ask ``chain`` to confirm each fee on chain before recording it (``None``: don't)."""
        self.chain = chain

    def _terms(self) -> VaultTerms:
        terms: VaultTerms | None = getattr(self, "vault", None)
        if terms is None:
            raise VaultMisconfigured("no vault is configured")
        return terms

    def quote(
        self,
        *,
        user_id: str,
        payer: str,
        clone_id: UUID,
        version_id: UUID,
        tier: str,
        table: TierTable | None = None,
    ) -> Quote:
        """Price an audition of a clone version at ``tier``; reserve its audition id."""
        terms = self._terms()
        chosen = table or self.tiers
        if tier not in chosen.names or tier not in terms.fees_wei:
            raise TierNotInTable(f"tier={tier!r} known={','.join(chosen.names)}")

        def command() -> Quote:
            quote = Quote.issue(
                uuid4(),
                user_id=user_id,
                payer=payer,
                clone_id=clone_id,
                version_id=version_id,
                tier=tier,
                amount_wei=str(terms.fees_wei[tier]),
                chain_id=terms.domain.chain_id,
                vault=terms.domain.verifying_contract,
                expires_at=self.clock.now() + terms.quote_ttl,
            )
            self.save(quote)
            return quote

        return self.run_command(command)

    def quote_of(self, user_id: str, quote_id: UUID) -> Quote:
        """The caller's quote, or :class:`QuoteNotFound` (another user's too)."""
        quote = self._find(quote_id, Quote)
        if quote is None or quote.user_id != user_id:
            raise QuoteNotFound(f"quote={quote_id}")
        return quote

    def submit_fee_receipt(
        self, *, user_id: str, quote_id: UUID, typed_data: object, signature: object
    ) -> Submitted:
        """Record the receipt that pays a quote: a purchase, or a refund if unhonourable.

        Refuses (``ReceiptRejected``) what is no proof this user paid; a receipt whose nonce
        already paid answers the first record when it is the same quote and receipt, and
        raises :class:`ReceiptNonceUsed` otherwise. With a chain bound, the vault contract
        must show the fee first (``PaymentUnconfirmed`` / ``ChainUnavailable`` record nothing).
        """
        terms = self._terms()
        quote = self.quote_of(user_id, quote_id)
        try:
            receipt = read_fee_receipt(
                typed_data, signature, domain=terms.domain, vault_signer=terms.vault_signer
            )
        except ReceiptRejected as exc:
            raise ReceiptRefused(exc.reason, exc.detail) from exc
        now = self.clock.now()
        unhonoured: str | None = None
        try:
            check_fee_receipt(
                receipt,
                payer=quote.payer,
                audition_id=str(quote.audition_id),
                fee_wei=quote.amount_wei,
                now=now,
            )
        except ReceiptRejected as exc:
            if exc.reason == "payer_mismatch":
                raise ReceiptRefused(exc.reason, exc.detail) from exc
            unhonoured = exc.reason
        nonce_id = nonce_id_for(terms.vault_signer, receipt.nonce)
        chain: PaymentConfirmations | None = getattr(self, "chain", None)
        if chain is not None and self._find(nonce_id, ReceiptNonce) is None:
            # A spent nonce answers its first record below: the chain was asked back then.
            require_confirmed(
                chain,
                audition_id=receipt.audition_id,
                payer=receipt.payer,
                amount_wei=receipt.amount_wei,
            )

        def command() -> Submitted:
            spent = self._find(nonce_id, ReceiptNonce)
            if spent is not None:
                return self._replayed(nonce_id, quote_id, receipt)
            fresh = self.quote_of(user_id, quote_id)
            reason = unhonoured
            if reason is None and fresh.purchase_id is not None:
                reason = "quote_used"
            if reason is None and fresh.expired(self.clock.now()):
                reason = "quote_expired"
            index = self._find(index_id_for(user_id), PaymentIndex) or PaymentIndex.open(user_id)
            if reason is not None:
                refund = self._refund(nonce_id, fresh, receipt, reason)
                spend = consume(
                    terms.vault_signer, receipt.nonce, ReceiptKind.AUDITION_FEE, str(refund.id)
                )
                index.list("refund", refund.id)
                self.save(refund, spend, index)
                return Submitted(refund=refund)
            purchase = self._purchase(nonce_id, fresh, receipt, terms)
            spend = consume(
                terms.vault_signer, receipt.nonce, ReceiptKind.AUDITION_FEE, str(purchase.id)
            )
            fresh.use(purchase.id)
            entitlement = self._entitlement(fresh.clone_id) or CloneEntitlement.open(fresh.clone_id)
            entitlement.grant(
                fresh.tier,
                source=GrantSource.AUDITION_FEE,
                reference=str(purchase.id),
                reason="audition fee paid",
                granted_by=user_id,
                table=self.tiers,
            )
            attempts = self._find(
                attempts_id_for(fresh.clone_id), AuditionAttempts
            ) or AuditionAttempts.open(fresh.clone_id)
            attempts.grant(purchase.attempts, purchase.id)
            index.list("purchase", purchase.id)
            self.save(purchase, spend, fresh, entitlement, attempts, index)
            return Submitted(purchase=purchase)

        return self.run_command(command)

    def _purchase(
        self, nonce_id: UUID, quote: Quote, receipt: FeeReceipt, terms: VaultTerms
    ) -> Purchase:
        return Purchase.make(
            purchase_id_for(nonce_id),
            user_id=quote.user_id,
            quote_id=quote.id,
            clone_id=quote.clone_id,
            version_id=quote.version_id,
            tier=quote.tier,
            audition_id=receipt.audition_id,
            amount_wei=str(receipt.amount_wei),
            payer=receipt.payer,
            signer=terms.vault_signer,
            nonce=str(receipt.nonce),
            attempts=1 + terms.retries.get(quote.tier, 0),
        )

    def _refund(self, nonce_id: UUID, quote: Quote, receipt: FeeReceipt, reason: str) -> Refund:
        return self._open_refund(
            refund_id_for(nonce_id),
            user_id=quote.user_id,
            quote_id=quote.id,
            clone_id=quote.clone_id,
            audition_id=receipt.audition_id,
            amount_wei=receipt.amount_wei,
            payer=receipt.payer,
            receipt_nonce=receipt.nonce,
            reason=reason,
        )

    def _open_refund(
        self,
        refund_id: UUID,
        *,
        payer: str,
        amount_wei: int,
        audition_id: str,
        receipt_nonce: int,
        **facts: Any,
    ) -> Refund:
        """A refund with its first withdrawal authorisation (nonce = the refund id)."""
        deadline, signature = self._authorise(refund_id, payer, amount_wei, audition_id)
        return Refund.open(
            refund_id,
            audition_id=audition_id,
            amount_wei=str(amount_wei),
            payer=payer,
            receipt_nonce=str(receipt_nonce),
            deadline=deadline,
            signature=signature,
            **facts,
        )

    def _authorise(
        self, refund_id: UUID, payer: str, amount_wei: int, audition_id: str
    ) -> tuple[int, str]:
        """Sign a refund's withdrawal, live for the refund TTL: ``(deadline, signature)``."""
        terms = self._terms()
        deadline = self.clock.now() + terms.refund_ttl
        signed = sign_withdrawal(
            domain=terms.domain,
            private_key=terms.refund_private_key,
            user=payer,
            amount_wei=amount_wei,
            audition_id=audition_id,
            nonce=withdrawal_nonce_for(refund_id),
            deadline=deadline,
        )
        return epoch_seconds(deadline), signed.signature

    def _replayed(self, nonce_id: UUID, quote_id: UUID, receipt: FeeReceipt) -> Submitted:
        purchase = self._find(purchase_id_for(nonce_id), Purchase)
        if purchase is not None and purchase.quote_id == quote_id and _same(purchase, receipt):
            return Submitted(purchase=purchase)
        refund = self._find(refund_id_for(nonce_id), Refund)
        if refund is not None and refund.quote_id == quote_id and _same(refund, receipt):
            return Submitted(refund=refund)
        raise ReceiptNonceUsed(f"nonce={receipt.nonce}")

    def purchases(self, user_id: str) -> list[Purchase]:
        """The user's purchases, oldest first."""
        index = self._find(index_id_for(user_id), PaymentIndex)
        ids = [] if index is None else index.records["purchase"]
        return [p for p in (self._find(i, Purchase) for i in ids) if p is not None]

    def refunds(self, user_id: str) -> list[Refund]:
        """The user's refunds, oldest first."""
        index = self._find(index_id_for(user_id), PaymentIndex)
        ids = [] if index is None else index.records["refund"]
        return [r for r in (self._find(i, Refund) for i in ids) if r is not None]

    def purchase_of(self, user_id: str, purchase_id: UUID) -> Purchase:
        """The caller's purchase, or :class:`PurchaseNotFound` (another user's too)."""
        purchase = self._find(purchase_id, Purchase)
        if purchase is None or purchase.user_id != user_id:
            raise PurchaseNotFound(f"purchase={purchase_id}")
        return purchase

    def refund_of(self, refund_id: UUID) -> Refund | None:
        """A refund by id, or ``None``."""
        return self._find(refund_id, Refund)

    def refund_voided_audition(self, purchase_id: UUID, *, reason: str) -> Refund:
        """Refund the fee of the purchase's voided audition in full (once per audition).

        The attempts the purchase granted that no run of the audition used are revoked in
        the same save, so a refunded fee leaves nothing it paid for behind but the runs.
        """
        self._terms()  # refuse before anything is read when no vault is configured
        purchase = self._find(purchase_id, Purchase)
        if purchase is None:
            raise PurchaseNotFound(f"purchase={purchase_id}")
        audition_id = UUID(purchase.audition_id)
        refund_id = voided_refund_id_for(audition_id)

        def command() -> Refund:
            found = self._find(refund_id, Refund)
            if found is not None:
                return found
            refund = self._open_refund(
                refund_id,
                user_id=purchase.user_id,
                quote_id=purchase.quote_id,
                clone_id=purchase.clone_id,
                audition_id=purchase.audition_id,
                amount_wei=purchase.amount_wei,
                payer=purchase.payer,
                receipt_nonce=purchase.nonce,
                reason=reason,
            )
            attempts = self._find(attempts_id_for(purchase.clone_id), AuditionAttempts)
            changed: list[AuditionAttempts] = []
            if attempts is not None:
                used = sum(1 for key in attempts.consumed if key.startswith(f"{audition_id}#"))
                if attempts.revoke(purchase.attempts - used, purchase.id):
                    changed.append(attempts)
            index = self._find(index_id_for(purchase.user_id), PaymentIndex)
            index = index or PaymentIndex.open(purchase.user_id)
            index.list("refund", refund.id)
            self.save(refund, index, *changed)
            return refund

        return self.run_command(command)

    def withdrawal(self, refund: Refund) -> tuple[Refund, SignedWithdrawal]:
        """The refund's live withdrawal; an expired one is re-signed (same nonce, new deadline)."""
        terms = self._terms()
        if refund.deadline <= epoch_seconds(self.clock.now()):

            def command() -> Refund:
                fresh = self._find(refund.id, Refund)
                if fresh is None:
                    raise QuoteNotFound(f"refund={refund.id}")
                if fresh.deadline <= epoch_seconds(self.clock.now()):
                    deadline, signature = self._authorise(
                        fresh.id, fresh.payer, fresh.amount_wei, fresh.audition_id
                    )
                    fresh.resign(deadline, signature)
                    self.save(fresh)
                return fresh

            refund = self.run_command(command)
        terms_signed = Withdrawal(
            user=refund.payer,
            amount_wei=refund.amount_wei,
            audition_id=refund.audition_id,
            nonce=withdrawal_nonce_for(refund.id),
            deadline=refund.deadline,
        )
        return refund, SignedWithdrawal(terms_signed.document(terms.domain), refund.signature)

    # --- audition attempts (Lifecycle calls these) -------------------------------------------

    def attempts(self, clone_id: UUID) -> tuple[int, int]:
        """``(granted, remaining)`` audition attempts of a clone."""
        found = self._find(attempts_id_for(clone_id), AuditionAttempts)
        return (0, 0) if found is None else (found.granted, found.remaining)

    def consume_attempt(self, clone_id: UUID, audition_id: str) -> int:
        """Spend one attempt on ``audition_id`` (idempotent); return the attempts remaining."""
        return self._attempts_command(clone_id, lambda a: a.consume(audition_id))

    def release_attempt(self, clone_id: UUID, audition_id: str) -> int:
        """Give back the attempt an abandoned audition held; return the attempts remaining."""
        return self._attempts_command(clone_id, lambda a: a.release(audition_id))

    def _attempts_command(self, clone_id: UUID, change: Any) -> int:
        def command() -> int:
            found = self._find(attempts_id_for(clone_id), AuditionAttempts)
            attempts = found or AuditionAttempts.open(clone_id)
            change(attempts)
            if found is not None and attempts.pending_events:
                self.save(attempts)
            return attempts.remaining

        return self.run_command(command)


def _same(record: Purchase | Refund, receipt: FeeReceipt) -> bool:
    return (
        record.payer.lower() == receipt.payer.lower()
        and record.amount_wei == receipt.amount_wei
        and record.audition_id == receipt.audition_id
    )
