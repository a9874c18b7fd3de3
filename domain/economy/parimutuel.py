"""Race pool settlement in integer wei: rake, creator pool, weighted parimutuel, refunds.

Why exact rationals: every amount is an integer number of wei and conservation must hold to
the wei, so intermediate shares are ``fractions.Fraction`` and each amount is floored once,
where it is paid. The rules (issue 10, notes/trading-math.md 6.3, "W2"):

1. **Refunds first**: a cancelled race refunds every stake (no takeout); otherwise stakes on
   a DNF or disqualified entrant (``rank is None``) or on a clone not in the race are
   refunded in full before anything is computed.
2. The **gross pool** ``G`` is what is left. Rake ``floor(G * rake_rate)``, creator pool
   ``floor(G * creator_rate)``; the ticket-holder pool ``N = G - rake - creator pool``.
3. **Weights**: rank ``k <= K`` carries ``weights[k-1]`` (default 3:2:1, K = 3), ranks below
   K carry 0. A dead heat of ``m`` clones at rank ``k`` gives each the mean of
   ``weights[k-1 .. k+m-2]`` (missing weights count 0).
4. **Nobody on a paid clone** (a clone with weight > 0 and stakes): every ticket is refunded
   and no takeout is taken (``all_refunded``).
5. **Weighted profit split** (``weighted_profit``): stakes on paid clones come back first; the
   profit ``P = N - S_paid`` is split per unit staked in proportion to the clone's weight, so
   a ticket on clone ``c`` is paid ``floor(s * (1 + P * w_c / sum_j(S_j * w_j)))``. A
   better rank never pays less per unit than a worse one; ranks nobody backed drop out (the
   weights renormalise over the backed ones).
6. **Minus pool** (``P < 0``, the paid stakes exceed ``N``): a pure share-weighted split,
   ``floor(N * s * w_c / sum_j(S_j * w_j))`` (``share_weighted``).
7. **Breakage**: ``N`` minus the floored payouts, to the protocol, recorded. A losing
   ticket gets a payout row of 0, so every ticket is settled by exactly one row.
8. **Creators**: the creator pool is split among the creators of the clones with weight > 0
   by the same weights, floored; a share with no creator and the remainder are
   ``creator_unclaimed``, to the protocol.

Invariant (:meth:`Settlement.conserved`): rake + creator shares + creator unclaimed + ticket
payouts + breakage + refunds = everything staked, exactly.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from math import floor

from domain.economy.errors import EconomyError


class PoolInvalid(EconomyError):
    """Raised when a pool description breaks a rule (negative stake, bad rates...)."""

    reason = "pool_invalid"


@dataclass(frozen=True)
class Ticket:
    """One ticket: a holder's stake on one clone."""

    ticket_id: str
    holder: str
    clone_id: str
    stake_wei: int


@dataclass(frozen=True)
class Finish:
    """A clone's place: its rank (``None``: DNF or disqualified) and its creator's wallet."""

    clone_id: str
    rank: int | None
    creator: str | None = None


@dataclass(frozen=True)
class PoolRules:
    """The rates and the rank weights, as frozen on the race."""

    rake_rate: Decimal = Decimal("0.05")
    creator_rate: Decimal = Decimal("0.05")
    weights: tuple[int, ...] = (3, 2, 1)

    def __post_init__(self) -> None:
        rates = (self.rake_rate, self.creator_rate)
        if not all(isinstance(r, Decimal) and r.is_finite() and r >= 0 for r in rates):
            raise PoolInvalid("rates must be non-negative Decimals")
        if self.rake_rate + self.creator_rate >= 1:
            raise PoolInvalid("rake and creator rates must leave something to the holders")
        weights = self.weights
        if not weights or any(not isinstance(w, int) or isinstance(w, bool) for w in weights):
            raise PoolInvalid("weights must be integers")
        if any(w <= 0 for w in weights) or list(weights) != sorted(weights, reverse=True):
            raise PoolInvalid("weights must be positive and never grow with the rank")


@dataclass(frozen=True)
class Payment:
    """One amount to one wallet: a ticket payout, a refund or a creator share."""

    kind: str  # payout | refund | creator_share
    recipient: str
    amount_wei: int
    ticket_id: str | None = None
    clone_id: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Settlement:
    """Every row of one race's settlement."""

    method: str
    staked_wei: int
    gross_wei: int
    rake_wei: int
    creator_pool_wei: int
    net_wei: int
    breakage_wei: int
    creator_unclaimed_wei: int
    payments: tuple[Payment, ...] = field(default_factory=tuple)

    def total(self, kind: str) -> int:
        """The sum of one kind of payment."""
        return sum(p.amount_wei for p in self.payments if p.kind == kind)

    @property
    def conserved(self) -> bool:
        """Whether every wei staked is accounted for exactly once."""
        spent = self.rake_wei + self.breakage_wei + self.creator_unclaimed_wei
        spent += self.total("payout") + self.total("refund") + self.total("creator_share")
        return spent == self.staked_wei and all(p.amount_wei >= 0 for p in self.payments)

    def to_document(self) -> dict[str, object]:
        """JSON-ready rows (wei as decimal strings), with a digest of the whole."""
        rows: dict[str, object] = {
            "method": self.method,
            "stakedWei": str(self.staked_wei),
            "grossWei": str(self.gross_wei),
            "rakeWei": str(self.rake_wei),
            "creatorPoolWei": str(self.creator_pool_wei),
            "netWei": str(self.net_wei),
            "breakageWei": str(self.breakage_wei),
            "creatorUnclaimedWei": str(self.creator_unclaimed_wei),
            "payments": [
                {
                    "kind": p.kind,
                    "recipient": p.recipient,
                    "amountWei": str(p.amount_wei),
                    "ticketId": p.ticket_id,
                    "cloneId": p.clone_id,
                    "reason": p.reason,
                }
                for p in self.payments
            ],
        }
        canonical = json.dumps(rows, sort_keys=True, separators=(",", ":"))
        rows["digest"] = "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
        return rows


def settle_pool(
    tickets: list[Ticket], finishes: list[Finish], rules: PoolRules, *, cancelled: bool = False
) -> Settlement:
    """Settle a race's pool (see the module docstring for every rule)."""
    _check(tickets, finishes)
    staked = sum(t.stake_wei for t in tickets)
    if cancelled:
        return _all_refunded("cancelled", tickets, staked, "race_cancelled")
    ranks = {f.clone_id: f.rank for f in finishes}
    refunds = [
        _refund(t, "entrant_dnf" if t.clone_id in ranks else "not_an_entrant")
        for t in tickets
        if ranks.get(t.clone_id) is None
    ]
    live = [t for t in tickets if ranks.get(t.clone_id) is not None]
    weights = clone_weights(finishes, rules.weights)
    backed = _stakes(live)
    paid = {c: w for c, w in weights.items() if w > 0 and backed.get(c, 0) > 0}
    if not paid:
        return _all_refunded("all_refunded", tickets, staked, "no_stake_on_a_paid_rank")
    gross = sum(t.stake_wei for t in live)
    rake = floor(gross * Fraction(rules.rake_rate))
    creator_pool = floor(gross * Fraction(rules.creator_rate))
    net = gross - rake - creator_pool
    payouts, method = _payouts(live, paid, backed, net)
    breakage = net - sum(p.amount_wei for p in payouts)
    shares, unclaimed = _creator_shares(finishes, weights, creator_pool)
    return Settlement(
        method=method,
        staked_wei=staked,
        gross_wei=gross,
        rake_wei=rake,
        creator_pool_wei=creator_pool,
        net_wei=net,
        breakage_wei=breakage,
        creator_unclaimed_wei=unclaimed,
        payments=tuple(refunds + payouts + shares),
    )


def clone_weights(finishes: list[Finish], weights: tuple[int, ...]) -> dict[str, Fraction]:
    """Each finisher's weight; dead heats share the tied ranks' weights equally."""
    by_rank: dict[int, list[str]] = defaultdict(list)
    for finish in finishes:
        if finish.rank is not None:
            by_rank[finish.rank].append(finish.clone_id)
    found: dict[str, Fraction] = {}
    for rank, clones in by_rank.items():
        covered = [
            weights[k - 1] if k <= len(weights) else 0 for k in range(rank, rank + len(clones))
        ]
        share = Fraction(sum(covered), len(clones))
        for clone in clones:
            found[clone] = share
    return found


def _payouts(
    live: list[Ticket], paid: dict[str, Fraction], backed: dict[str, int], net: int
) -> tuple[list[Payment], str]:
    stakes_paid = sum(backed[c] for c in paid)
    units = sum(backed[c] * w for c, w in paid.items())
    profit = net - stakes_paid
    method = "weighted_profit" if profit >= 0 else "share_weighted"
    payouts = []
    for ticket in live:
        weight = paid.get(ticket.clone_id)
        if weight is None:  # a losing ticket: settled, for nothing
            payouts.append(Payment("payout", ticket.holder, 0, ticket.ticket_id, ticket.clone_id))
            continue
        if profit >= 0:
            amount = floor(ticket.stake_wei * (1 + profit * weight / units))
        else:
            amount = floor(net * ticket.stake_wei * weight / units)
        payouts.append(Payment("payout", ticket.holder, amount, ticket.ticket_id, ticket.clone_id))
    return payouts, method


def _creator_shares(
    finishes: list[Finish], weights: dict[str, Fraction], pool: int
) -> tuple[list[Payment], int]:
    placed = [f for f in finishes if weights.get(f.clone_id, 0) > 0]
    total = sum(weights[f.clone_id] for f in placed)
    shares = []
    for finish in placed:
        if finish.creator is None or total == 0:
            continue
        amount = floor(pool * weights[finish.clone_id] / total)
        shares.append(Payment("creator_share", finish.creator, amount, clone_id=finish.clone_id))
    return shares, pool - sum(s.amount_wei for s in shares)


def _all_refunded(method: str, tickets: list[Ticket], staked: int, reason: str) -> Settlement:
    return Settlement(
        method=method,
        staked_wei=staked,
        gross_wei=0,
        rake_wei=0,
        creator_pool_wei=0,
        net_wei=0,
        breakage_wei=0,
        creator_unclaimed_wei=0,
        payments=tuple(_refund(t, reason) for t in tickets),
    )


def _refund(ticket: Ticket, reason: str) -> Payment:
    return Payment(
        "refund", ticket.holder, ticket.stake_wei, ticket.ticket_id, ticket.clone_id, reason
    )


def _stakes(tickets: list[Ticket]) -> dict[str, int]:
    found: dict[str, int] = defaultdict(int)
    for ticket in tickets:
        found[ticket.clone_id] += ticket.stake_wei
    return dict(found)


def _check(tickets: list[Ticket], finishes: list[Finish]) -> None:
    if len({t.ticket_id for t in tickets}) != len(tickets):
        raise PoolInvalid("ticket ids must be unique")
    if len({f.clone_id for f in finishes}) != len(finishes):
        raise PoolInvalid("a clone finishes once")
    for ticket in tickets:
        stake = ticket.stake_wei
        if not isinstance(stake, int) or isinstance(stake, bool) or stake <= 0:
            raise PoolInvalid(f"ticket={ticket.ticket_id} stake must be a positive wei integer")
    for finish in finishes:
        if finish.rank is not None and (not isinstance(finish.rank, int) or finish.rank < 1):
            raise PoolInvalid(f"clone={finish.clone_id} rank must be a positive integer")
    ranks = sorted(f.rank for f in finishes if f.rank is not None)
    if ranks != [ranks.index(r) + 1 for r in ranks]:
        raise PoolInvalid(f"ranks={ranks} are not a standard competition ranking (1, 1, 3...)")
