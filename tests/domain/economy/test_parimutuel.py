"""Race pool settlement: worked examples to the wei, and properties over random pools."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.economy.parimutuel import (
    Finish,
    PoolInvalid,
    PoolRules,
    Settlement,
    Ticket,
    clone_weights,
    settle_pool,
)
from domain.economy.pool_format import read_pool

NOTES = PoolRules(rake_rate=Decimal("0.10"), creator_rate=Decimal("0"), weights=(3, 2, 1))
DEFAULT = PoolRules()


def tickets(**stakes: int) -> list[Ticket]:
    """One ticket per clone, held by ``holder-<clone>``."""
    return [Ticket(f"t-{c}", f"holder-{c}", c, s) for c, s in stakes.items()]


def paid(settlement: Settlement) -> dict[str, int]:
    """Winning payouts by clone (losing tickets' zero rows left out)."""
    return {
        p.clone_id or "": p.amount_wei
        for p in settlement.payments
        if p.kind == "payout" and p.amount_wei
    }


def test_the_notes_rank_weighted_example_floored_to_the_wei() -> None:
    # A 400, B 300, C 200, D 100; takeout 10 %; order B, A, D, C; weights 3:2:1.
    finishes = [Finish("B", 1), Finish("A", 2), Finish("D", 3), Finish("C", 4)]

    result = settle_pool(tickets(A=400, B=300, C=200, D=100), finishes, NOTES)

    assert (result.gross_wei, result.rake_wei, result.net_wei) == (1000, 100, 900)
    assert paid(result) == {"B": 350, "A": 444, "D": 105}
    assert result.breakage_wei == 1
    assert result.method == "weighted_profit"
    assert result.conserved


def test_default_rates_take_five_and_five_percent_and_pay_creators_by_weight() -> None:
    finishes = [
        Finish("B", 1, "creator-b"),
        Finish("A", 2, "creator-a"),
        Finish("D", 3, None),
        Finish("C", 4, "creator-c"),
    ]

    result = settle_pool(tickets(A=4000, B=3000, C=2000, D=1000), finishes, DEFAULT)

    assert (result.rake_wei, result.creator_pool_wei, result.net_wei) == (500, 500, 9000)
    shares = {p.recipient: p.amount_wei for p in result.payments if p.kind == "creator_share"}
    assert shares == {"creator-b": 250, "creator-a": 166}  # 3/6 and 2/6 of 500, floored
    assert result.creator_unclaimed_wei == 500 - 250 - 166  # D's creator unknown, remainders
    assert result.conserved


def test_a_dead_heat_for_first_shares_the_first_two_weights() -> None:
    finishes = [Finish("A", 1), Finish("B", 1), Finish("C", 3), Finish("D", 4)]

    result = settle_pool(tickets(A=100, B=100, C=100, D=100), finishes, NOTES)

    assert clone_weights(finishes, (3, 2, 1)) == {
        "A": Fraction(5, 2),
        "B": Fraction(5, 2),
        "C": Fraction(1),
        "D": Fraction(0),
    }
    # N = 360; paid stakes 300; profit 60 over units 100*2.5*2 + 100*1 = 600.
    assert paid(result) == {"A": 125, "B": 125, "C": 110}
    assert result.breakage_wei == 0
    assert result.conserved


def test_a_rank_nobody_backed_drops_out_and_the_weights_renormalise() -> None:
    finishes = [Finish("A", 1), Finish("B", 2), Finish("C", 3)]

    result = settle_pool(tickets(B=600, C=400), finishes, NOTES)

    # N = 900; stakes 1000 on paid ranks > N: a minus pool, share-weighted by 2:1 units.
    assert result.method == "share_weighted"
    assert paid(result) == {"B": 675, "C": 225}  # 900*1200/1600, 900*400/1600
    assert result.conserved


def test_a_minus_pool_falls_back_to_a_share_weighted_split() -> None:
    finishes = [Finish("A", 1), Finish("B", 2), Finish("C", 3), Finish("D", 4)]

    result = settle_pool(tickets(A=950, B=30, C=10, D=10), finishes, NOTES)

    # N = 900 < 990 staked on the paid ranks; units 2850 + 60 + 10 = 2920.
    assert result.method == "share_weighted"
    assert paid(result) == {"A": 878, "B": 18, "C": 3}
    assert result.breakage_wei == 900 - 878 - 18 - 3
    assert result.conserved


def test_a_cancelled_race_refunds_every_stake_and_takes_nothing() -> None:
    finishes = [Finish("A", 1), Finish("B", 2)]

    result = settle_pool(tickets(A=7, B=11), finishes, DEFAULT, cancelled=True)

    refunds = {p.clone_id: (p.amount_wei, p.reason) for p in result.payments}
    assert refunds == {"A": (7, "race_cancelled"), "B": (11, "race_cancelled")}
    assert (result.rake_wei, result.creator_pool_wei, result.method) == (0, 0, "cancelled")
    assert result.conserved


def test_stakes_on_a_dnf_are_refunded_before_the_pool_is_formed() -> None:
    finishes = [Finish("A", 1), Finish("B", 2), Finish("C", None)]

    result = settle_pool(tickets(A=500, B=300, C=200), finishes, NOTES)

    refunds = [(p.clone_id, p.amount_wei, p.reason) for p in result.payments if p.kind == "refund"]
    assert refunds == [("C", 200, "entrant_dnf")]
    assert result.gross_wei == 800
    assert result.conserved


def test_no_stake_on_any_paid_rank_refunds_everyone_without_takeout() -> None:
    finishes = [Finish("A", 1), Finish("B", 2), Finish("C", 3), Finish("D", 4)]

    result = settle_pool(tickets(D=100), finishes, DEFAULT)

    assert result.method == "all_refunded"
    assert [(p.kind, p.amount_wei) for p in result.payments] == [("refund", 100)]
    assert result.rake_wei == 0


@pytest.mark.parametrize(
    "rules",
    [
        {"rake_rate": Decimal("0.6"), "creator_rate": Decimal("0.4")},
        {"weights": (1, 2)},
        {"weights": (3, 0)},
        {"weights": ()},
        {"rake_rate": 0.05},
    ],
)
def test_rules_that_cannot_settle_are_refused(rules: dict[str, object]) -> None:
    with pytest.raises(PoolInvalid):
        PoolRules(**rules)  # type: ignore[arg-type]


def test_ranks_that_are_no_competition_ranking_are_refused() -> None:
    finishes = [Finish("A", 2), Finish("B", 2), Finish("C", 3)]  # 1 missing; 3 after a tie
    with pytest.raises(PoolInvalid):
        settle_pool(tickets(A=1), finishes, DEFAULT)
    ties = [Finish("A", 1), Finish("B", 1), Finish("C", 3), Finish("D", None)]
    assert settle_pool(tickets(A=1, C=1), ties, DEFAULT).conserved


def test_bad_tickets_and_finishes_are_refused() -> None:
    with pytest.raises(PoolInvalid):
        settle_pool([Ticket("t", "h", "A", 0)], [Finish("A", 1)], DEFAULT)
    with pytest.raises(PoolInvalid):
        settle_pool(tickets(A=1) * 2, [Finish("A", 1)], DEFAULT)
    with pytest.raises(PoolInvalid):
        settle_pool(tickets(A=1), [Finish("A", 0)], DEFAULT)


# --- properties ------------------------------------------------------------------------------

CLONES = ["A", "B", "C", "D", "E", "F"]


@st.composite
def pools(draw: st.DrawFn) -> tuple[list[Ticket], list[Finish], PoolRules, bool]:
    entrants = draw(st.lists(st.sampled_from(CLONES), min_size=1, max_size=6, unique=True))
    dnf = {c for c in entrants if draw(st.booleans()) and draw(st.booleans())}
    scores = {c: draw(st.integers(0, 3)) for c in entrants if c not in dnf}  # ties likely
    finishes = [
        Finish(
            c,
            None if c in dnf else 1 + sum(1 for s in scores.values() if s > scores[c]),
            f"creator-{c}",
        )
        for c in entrants
    ]
    stakes = draw(
        st.lists(
            st.tuples(st.sampled_from(CLONES), st.integers(1, 10**21)), min_size=1, max_size=40
        )
    )
    tickets_ = [Ticket(f"t{n}", f"h{n % 7}", c, s) for n, (c, s) in enumerate(stakes)]
    weights = tuple(sorted(draw(st.lists(st.integers(1, 9), min_size=1, max_size=4)), reverse=True))
    rake = Decimal(draw(st.integers(0, 30))) / 100
    creator = Decimal(draw(st.integers(0, 30))) / 100
    return tickets_, finishes, PoolRules(rake, creator, weights), draw(st.booleans())


@settings(max_examples=300, deadline=None)
@given(pool=pools())
def test_every_wei_is_conserved_and_every_ticket_settled_once(
    pool: tuple[list[Ticket], list[Finish], PoolRules, bool],
) -> None:
    tickets_, finishes, rules, cancelled = pool

    result = settle_pool(tickets_, finishes, rules, cancelled=cancelled)

    assert result.conserved
    settled = [p.ticket_id for p in result.payments if p.ticket_id is not None]
    assert sorted(settled) == sorted(t.ticket_id for t in tickets_)  # each exactly once
    weights = clone_weights(finishes, rules.weights)
    nothing = {p.ticket_id for p in result.payments if p.kind == "payout" and not p.amount_wei}
    ticket_clone = {t.ticket_id: t.clone_id for t in tickets_}
    assert all(
        weights.get(ticket_clone[t], 0) == 0 or result.method == "share_weighted" for t in nothing
    )
    assert settle_pool(tickets_, finishes, rules, cancelled=cancelled) == result  # determinism


@settings(max_examples=300, deadline=None)
@given(pool=pools())
def test_a_better_rank_never_pays_less_per_unit(
    pool: tuple[list[Ticket], list[Finish], PoolRules, bool],
) -> None:
    tickets_, finishes, rules, _ = pool
    result = settle_pool(tickets_, finishes, rules)
    stake = {t.ticket_id: t for t in tickets_}
    rank = {f.clone_id: f.rank for f in finishes}
    priced = [
        (rank[p.clone_id or ""], Fraction(p.amount_wei + 1, stake[p.ticket_id].stake_wei))
        for p in result.payments
        if p.kind == "payout" and p.ticket_id is not None
    ]
    floors = [
        (rank[p.clone_id or ""], Fraction(p.amount_wei, stake[p.ticket_id].stake_wei))
        for p in result.payments
        if p.kind == "payout" and p.ticket_id is not None
    ]
    for better, ceiling in priced:
        for worse, price in floors:
            if better is not None and worse is not None and better < worse:
                assert ceiling > price  # floored to the wei: within one wei per ticket


# --- the pool description --------------------------------------------------------------------

POOL = {
    "finishes": [{"cloneId": "A", "rank": 1, "creator": "0xc"}, {"cloneId": "B", "rank": None}],
    "tickets": [{"ticketId": "t1", "holder": "0xh", "cloneId": "A", "stakeWei": "10"}],
}


def test_a_pool_description_reads_with_the_default_rules() -> None:
    tickets_, finishes, rules, cancelled = read_pool(POOL)

    assert tickets_ == [Ticket("t1", "0xh", "A", 10)]
    assert finishes == [Finish("A", 1, "0xc"), Finish("B", None, None)]
    assert (rules, cancelled) == (PoolRules(), False)


@pytest.mark.parametrize(
    ("change", "member"),
    [
        ({"tickets": [{"ticketId": "t1", "holder": "0xh", "cloneId": "A", "stakeWei": 10}]},
         "tickets[0].stakeWei"),
        ({"finishes": [{"cloneId": "A", "rank": 0}]}, "finishes[0].rank"),
        ({"rules": {"rakeRate": 0.05}}, "rules.rakeRate"),
        ({"extra": 1}, "unknown=['extra']"),
        ({"cancelled": "no"}, "cancelled"),
    ],
)  # fmt: skip
def test_a_bad_pool_description_names_its_member(change: dict[str, object], member: str) -> None:
    with pytest.raises(PoolInvalid, match=member.replace("[", r"\[").replace("]", r"\]")):
        read_pool({**POOL, **change})
