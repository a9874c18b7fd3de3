"""The economy module's eventsourcing application: tier grants, audition fees, refunds.

Economy facts are stamped by the **service clock** (purchases, receipts and grants happen
in real time whatever the market replay is doing). Grants are recorded per clone on a
:class:`~domain.economy.grants.CloneEntitlement`; the first grant opens it in the same save.
The effective tier is ranked by the tier table the application was built with (the
configured one), or by a table handed in.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
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
from domain.economy.parimutuel import PoolRules, Ticket, settle_pool
from domain.economy.payouts import Payout, SignedPayout, payout_nonce_for, sign_payout
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
from domain.economy.race_payments import (
    PayoutAuthorization,
    PayoutIndex,
    RaceSettlement,
    authorization_id_for,
    payout_index_id_for,
    settlement_id_for,
)
from domain.economy.receipts import (
    FeeReceipt,
    TicketReceipt,
    check_fee_receipt,
    read_fee_receipt,
    read_ticket_receipt,
)
from domain.economy.tickets import (
    PoolBook,
    StakeOutOfBounds,
    TicketQuote,
    TicketQuoteNotFound,
    TicketRefund,
    TicketRefused,
    book_id_for,
    ticket_id_for,
    ticket_refund_id_for,
    ticket_row,
)
from domain.economy.typed_data import (
    VaultDomain,
    address_of_key,
    epoch_seconds,
    recover_typed_signer,
)
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
    payout_private_key: str = ""

    def __post_init__(self) -> None:
        if address_of_key(self.refund_private_key).lower() == self.vault_signer.lower():
            raise VaultMisconfigured("the refund key must not be the vault signer's key")
        if self.payout_private_key:
            payout = address_of_key(self.payout_private_key).lower()
            if payout in (
                self.vault_signer.lower(),
                address_of_key(self.refund_private_key).lower(),
            ):
                raise VaultMisconfigured("the payout key must be neither the vault's nor refunds'")


@dataclass(frozen=True)
class Submitted:
    """What a fee submission recorded: a purchase, or a refund (money received, unhonoured)."""

    purchase: Purchase | None = None
    refund: Refund | None = None


class Economy(ClashApplication):
    """Payment facts: tier grants, audition fees, refunds, race tickets, payouts."""

    name = "economy"
    # A race's book takes every ticket of the race: snapshots keep loading it cheap.
    snapshotting_intervals = {PoolBook: 100}

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
        """The refund's live withdrawal, re-signed (same nonce, new deadline) when it expired
        or was signed by a refund key that has since been rotated out."""
        terms = self._terms()
        if self._stale(refund.deadline, self._withdrawal_terms(refund), refund.signature):

            def command() -> Refund:
                fresh = self._find(refund.id, Refund)
                if fresh is None:
                    raise QuoteNotFound(f"refund={refund.id}")
                if self._stale(fresh.deadline, self._withdrawal_terms(fresh), fresh.signature):
                    deadline, signature = self._authorise(
                        fresh.id, fresh.payer, fresh.amount_wei, fresh.audition_id
                    )
                    fresh.resign(deadline, signature)
                    self.save(fresh)
                return fresh

            refund = self.run_command(command)
        terms_signed = self._withdrawal_terms(refund)
        return refund, SignedWithdrawal(terms_signed.document(terms.domain), refund.signature)

    @staticmethod
    def _withdrawal_terms(refund: Refund) -> Withdrawal:
        return Withdrawal(
            user=refund.payer,
            amount_wei=refund.amount_wei,
            audition_id=refund.audition_id,
            nonce=withdrawal_nonce_for(refund.id),
            deadline=refund.deadline,
        )

    def _stale(
        self, deadline: int | None, signed: Withdrawal | Payout, signature: str | None
    ) -> bool:
        """Whether an authorization must be signed again: expired, unsigned, or signed by a
        key other than the one configured now (the signer was rotated, docs/keys.md)."""
        if deadline is None or signature is None or deadline <= epoch_seconds(self.clock.now()):
            return True
        terms = self._terms()
        key = (
            terms.refund_private_key if isinstance(signed, Withdrawal) else terms.payout_private_key
        )
        return recover_typed_signer(signed.document(terms.domain), signature) != address_of_key(key)

    # --- race tickets -------------------------------------------------------------------------

    def book(self, race_id: UUID) -> PoolBook | None:
        """The race's pool book, or ``None`` before its first quote."""
        return self._find(book_id_for(race_id), PoolBook)

    def quote_ticket(
        self,
        *,
        user_id: str,
        payer: str,
        race: RaceFacts,
        clone_id: UUID,
        stake_wei: int,
        limits: TicketLimits,
    ) -> TicketQuote:
        """Price a ticket on an entrant of an open race; open the race's book if need be."""
        if not limits.min_stake_wei <= stake_wei <= limits.max_stake_wei:
            raise StakeOutOfBounds(
                f"stake_wei={stake_wei} bounds=[{limits.min_stake_wei}, {limits.max_stake_wei}]"
            )
        if str(clone_id) not in race.clones:
            raise TicketRefused("not_an_entrant", f"clone={clone_id}")

        def command() -> TicketQuote:
            book = self._find(book_id_for(race.race_id), PoolBook)
            if book is None:
                book = PoolBook.open(
                    race.race_id,
                    close_at=race.close_at,
                    clones=list(race.clones),
                    user_cap_wei=limits.user_cap_wei,
                )
            quote = TicketQuote.issue(
                uuid4(),
                user_id=user_id,
                payer=payer,
                race_id=race.race_id,
                clone_id=clone_id,
                stake_wei=str(stake_wei),
                expires_at=self.clock.now() + limits.quote_ttl,
            )
            self.save(quote, *([book] if book.pending_events else []))
            return quote

        return self.run_command(command)

    def ticket_quote_of(self, user_id: str, race_id: UUID, quote_id: UUID) -> TicketQuote:
        """The caller's ticket quote for the race, or :class:`TicketQuoteNotFound`."""
        quote = self._find(quote_id, TicketQuote)
        if quote is None or quote.user_id != user_id or quote.race_id != race_id:
            raise TicketQuoteNotFound(f"quote={quote_id}")
        return quote

    def submit_ticket(
        self,
        *,
        user_id: str,
        race_id: UUID,
        quote_id: UUID,
        typed_data: object,
        signature: object,
        market_at: datetime,
    ) -> PlacedTicket:
        """Place the ticket a vault receipt paid for, or record and refund the money."""
        terms = self._terms()
        quote = self.ticket_quote_of(user_id, race_id, quote_id)
        try:
            receipt = read_ticket_receipt(
                typed_data, signature, domain=terms.domain, vault_signer=terms.vault_signer
            )
        except ReceiptRejected as exc:
            raise ReceiptRefused(exc.reason, exc.detail) from exc
        if receipt.payer.lower() != quote.payer.lower():
            raise ReceiptRefused("payer_mismatch", f"payer={receipt.payer}")
        nonce_id = nonce_id_for(terms.vault_signer, receipt.nonce)

        def command() -> PlacedTicket:
            if self._find(nonce_id, ReceiptNonce) is not None:
                return self._ticket_replayed(nonce_id, quote_id, receipt)
            fresh = self.ticket_quote_of(user_id, race_id, quote_id)
            index = self._find(index_id_for(user_id), PaymentIndex) or PaymentIndex.open(user_id)
            why = _ticket_mismatch(fresh, receipt, epoch_seconds(self.clock.now()))
            book = self._find(book_id_for(race_id), PoolBook)
            ticket_id = ticket_id_for(nonce_id)
            if why is None and book is not None:
                try:
                    book.place(
                        ticket_id,
                        user_id=user_id,
                        payer=receipt.payer,
                        clone_id=receipt.clone_id,
                        stake_wei=receipt.amount_wei,
                        nonce=receipt.nonce,
                        market_at=market_at,
                    )
                except TicketRefused as refused:
                    why = refused.why
            if why is not None or book is None:
                refund = TicketRefund.open(
                    ticket_refund_id_for(nonce_id),
                    user_id=user_id,
                    quote_id=fresh.id,
                    race_id=receipt.race_id,
                    clone_id=receipt.clone_id,
                    amount_wei=str(receipt.amount_wei),
                    payer=receipt.payer,
                    receipt_nonce=str(receipt.nonce),
                    reason=why or "no_book",
                )
                spend = consume(
                    terms.vault_signer, receipt.nonce, ReceiptKind.TICKET, str(refund.id)
                )
                index.list("ticket_refund", refund.id)
                rows = self._authorizations(
                    race_id, [("refund", receipt.payer, receipt.amount_wei, str(refund.id))]
                )
                self.save(refund, spend, index, *rows)
                return PlacedTicket(None, refund)
            placed = book.pending_events[-1]
            if not isinstance(placed, PoolBook.TicketPlaced):
                raise RuntimeError("a placed ticket's event is the book's last")
            spend = consume(terms.vault_signer, receipt.nonce, ReceiptKind.TICKET, str(ticket_id))
            fresh.trigger_event(TicketQuote.Used, ticket_id=ticket_id)
            index.list("ticket_quote", fresh.id)
            self.save(book, spend, fresh, index)
            return PlacedTicket({**ticket_row(placed), "race_id": str(race_id)}, None)

        return self.run_command(command)

    def close_book(self, race_id: UUID) -> PoolBook | None:
        """Freeze a race's book at its close (idempotent; ``None``: nobody quoted)."""
        return self._on_book(race_id, lambda book: book.close())

    def cancel_book(self, race_id: UUID, reason: str) -> PoolBook | None:
        """Mark a cancelled race's book: its stakes are all refunded (idempotent)."""
        return self._on_book(race_id, lambda book: book.cancel(reason))

    def ticket_records(self, user_id: str) -> tuple[list[dict[str, str]], list[TicketRefund]]:
        """The user's placed tickets (with their race) and ticket refunds, oldest first."""
        index = self._find(index_id_for(user_id), PaymentIndex)
        records = {} if index is None else index.records
        tickets = []
        for quote_id in records.get("ticket_quote", []):
            quote = self._find(quote_id, TicketQuote)
            if quote is None or quote.ticket_id is None:
                continue
            placed = self._placed_ticket(quote.race_id, quote.ticket_id)
            if placed is not None:
                tickets.append(placed)
        refunded = (self._find(i, TicketRefund) for i in records.get("ticket_refund", []))
        return tickets, [r for r in refunded if r is not None]

    # --- race settlement and payouts ------------------------------------------------------

    def record_settlement(self, race_id: UUID, settlement: dict[str, Any]) -> RaceSettlement:
        """Turn a race's settlement rows into payment facts, once (the policy calls this)."""

        def command() -> RaceSettlement:
            found = self._find(settlement_id_for(race_id), RaceSettlement)
            if found is not None:
                return found
            grouped: dict[tuple[str, str], int] = defaultdict(int)
            for row in settlement.get("payments", []):
                grouped[(row["kind"], row["recipient"])] += int(row["amountWei"])
            rows = [(kind, who, amount, "") for (kind, who), amount in grouped.items() if amount]
            # No settlement yet, so none of its rows exists: they are saved together.
            changed = self._authorizations(race_id, rows, known_new=True)
            totals = {
                key: str(settlement[key])
                for key in settlement
                if key.endswith("Wei") and isinstance(settlement[key], str)
            }
            record = RaceSettlement.record(
                race_id,
                method=str(settlement.get("method", "")),
                totals=totals,
                digest=str(settlement.get("digest", "")),
                authorizations=len(rows),
            )
            self.save(record, *changed)
            return record

        return self.run_command(command)

    def refund_cancelled_race(self, race_id: UUID) -> RaceSettlement:
        """Refund every stake of a cancelled race (the policy calls this once)."""
        tickets = [
            Ticket(t["ticket_id"], t["payer"], t["clone_id"], int(t["stake_wei"]))
            for t in self.book_tickets(race_id)
        ]
        settlement = settle_pool(tickets, [], PoolRules(), cancelled=True)
        return self.record_settlement(race_id, settlement.to_document())

    def book_tickets(self, race_id: UUID) -> list[dict[str, str]]:
        """Every ticket placed in the race's book, in order (its ``TicketPlaced`` events)."""
        events = self.repository.event_store.get(book_id_for(race_id))
        return [ticket_row(e) for e in events if isinstance(e, PoolBook.TicketPlaced)]

    def _placed_ticket(self, race_id: UUID, ticket_id: UUID) -> dict[str, str] | None:
        found = next(
            (t for t in self.book_tickets(race_id) if t["ticket_id"] == str(ticket_id)), None
        )
        return None if found is None else {**found, "race_id": str(race_id)}

    def settlement_of(self, race_id: UUID) -> RaceSettlement | None:
        """The race's recorded settlement, or ``None``."""
        return self._find(settlement_id_for(race_id), RaceSettlement)

    def payouts(self, wallets: list[str]) -> list[tuple[PayoutAuthorization, SignedPayout]]:
        """The wallets' payout authorizations, each with a live signature (signed if need be)."""
        found = []
        for wallet in wallets:
            index = self._find(payout_index_id_for(wallet), PayoutIndex)
            for authorization_id in [] if index is None else index.authorizations:
                found.append(self._signed(authorization_id))
        return found

    def _signed(self, authorization_id: UUID) -> tuple[PayoutAuthorization, SignedPayout]:
        terms = self._terms()
        if not terms.payout_private_key:
            raise VaultMisconfigured("no payout key is configured")

        def command() -> tuple[PayoutAuthorization, SignedPayout]:
            row = self._find(authorization_id, PayoutAuthorization)
            if row is None:
                raise VaultMisconfigured(f"authorization={authorization_id} is listed but missing")
            current = None if row.deadline is None else self._payout_terms(row, row.deadline)
            if current is None or self._stale(row.deadline, current, row.signature):
                deadline = epoch_seconds(self.clock.now() + terms.refund_ttl)
                payout = self._payout_terms(row, deadline)
                signed = sign_payout(
                    payout, domain=terms.domain, private_key=terms.payout_private_key
                )
                row.sign(deadline, signed.signature)
                self.save(row)
                return row, signed
            assert row.signature is not None
            return row, SignedPayout(current.document(terms.domain), row.signature)

        return self.run_command(command)

    @staticmethod
    def _payout_terms(row: PayoutAuthorization, deadline: int) -> Payout:
        return Payout(
            row.recipient, row.amount_wei, str(row.race_id), payout_nonce_for(row.id), deadline
        )

    def _authorizations(
        self, race_id: UUID, rows: list[tuple[str, str, int, str]], *, known_new: bool = False
    ) -> list[ClashAggregate]:
        """Authorization rows ``(kind, recipient, amount, source)`` and their indexes."""
        changed: list[ClashAggregate] = []
        indexes: dict[str, PayoutIndex] = {}
        for kind, recipient, amount, source in rows:
            row_id = authorization_id_for(race_id, kind, recipient, source)
            if not known_new and self._find(row_id, PayoutAuthorization) is not None:
                continue
            changed.append(
                PayoutAuthorization.open(
                    row_id,
                    race_id=race_id,
                    kind=kind,
                    recipient=recipient,
                    amount_wei=str(amount),
                    rows=1,
                )
            )
            key = recipient.lower()
            if key not in indexes:
                index = self._find(payout_index_id_for(recipient), PayoutIndex)
                indexes[key] = index or PayoutIndex.open(recipient)
            indexes[key].list(row_id)
        return changed + [i for i in indexes.values() if i.pending_events]

    def _on_book(self, race_id: UUID, change: Any) -> PoolBook | None:
        def command() -> PoolBook | None:
            book = self._find(book_id_for(race_id), PoolBook)
            if book is None:
                return None
            change(book)
            if book.pending_events:
                self.save(book)
            return book

        return self.run_command(command)

    def _ticket_replayed(
        self, nonce_id: UUID, quote_id: UUID, receipt: TicketReceipt
    ) -> PlacedTicket:
        ticket_id = ticket_id_for(nonce_id)
        quote = self._find(quote_id, TicketQuote)
        if quote is not None and quote.ticket_id == ticket_id:
            placed = self._placed_ticket(quote.race_id, ticket_id)
            if placed is not None:
                return PlacedTicket(placed, None)
        refund = self._find(ticket_refund_id_for(nonce_id), TicketRefund)
        if refund is not None and refund.quote_id == quote_id:
            return PlacedTicket(None, refund)
        raise ReceiptNonceUsed(f"nonce={receipt.nonce}")

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


@dataclass(frozen=True)
class RaceFacts:
    """What the economy needs of a race to sell tickets: entrants and the window's close."""

    race_id: UUID
    close_at: datetime
    clones: frozenset[str]


@dataclass(frozen=True)
class TicketLimits:
    """Stake bounds, the per-user cap per race and how long a ticket quote lives."""

    min_stake_wei: int
    max_stake_wei: int
    user_cap_wei: int
    quote_ttl: timedelta


@dataclass(frozen=True)
class PlacedTicket:
    """A submission's record: the placed ticket, or the refund of money that could not be."""

    ticket: dict[str, str] | None
    refund: TicketRefund | None


def _ticket_mismatch(quote: TicketQuote, receipt: TicketReceipt, now: int) -> str | None:
    """Why a genuine receipt does not pay this quote (refunded), or ``None``."""
    if receipt.race_id != str(quote.race_id) or receipt.clone_id != str(quote.clone_id):
        return "ticket_mismatch"
    if receipt.amount_wei != quote.stake_wei:
        return "amount_mismatch"
    if receipt.deadline <= now:
        return "receipt_expired"
    if quote.ticket_id is not None:
        return "quote_used"
    if epoch_seconds(quote.expires_at) <= now:
        return "quote_expired"
    return None


def _same(record: Purchase | Refund, receipt: FeeReceipt) -> bool:
    return (
        record.payer.lower() == receipt.payer.lower()
        and record.amount_wei == receipt.amount_wei
        and record.audition_id == receipt.audition_id
    )
