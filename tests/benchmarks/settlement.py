"""Settlement arithmetic: one race pool of ``tickets`` tickets settled in integer wei.

``settlement.pool``: ``tickets`` tickets from 5,000 holders over 8 clones (stakes drawn from
a seeded generator between 0.001 and 2 ETH), ranks with a dead heat for third and one DNF,
the default rules (5 % rake, 5 % creators, 3:2:1). One operation is one whole settlement
(refunds, rake, weighted profit split, breakage, creator shares, the conservation check);
``rounds`` settlements are timed. This is the pure computation; persisting the rows comes
with the rest of issue 10. Verified: conserved, every ticket settled at most once.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from typing import Any

from domain.economy.parimutuel import Finish, PoolRules, Ticket, settle_pool

Measurement = tuple[str, int, float, list[float], dict[str, Any]]
FULL = {"tickets": 100_000, "rounds": 3}
QUICK = {"tickets": 1_000, "rounds": 1}
FINISHES = [
    Finish("c1", 1, "0xcreator1"),
    Finish("c2", 2, "0xcreator2"),
    Finish("c3", 3, "0xcreator3"),
    Finish("c4", 3, "0xcreator4"),
    Finish("c5", 5),
    Finish("c6", 6),
    Finish("c7", 7),
    Finish("c8", None),
]


def run(*, quick: bool) -> Iterator[Measurement]:
    """Settle the pool ``rounds`` times."""
    sizes = QUICK if quick else FULL
    rng = random.Random(20261202)
    tickets = [
        Ticket(
            f"t{n}", f"0xholder{n % 5000}", f"c{rng.randint(1, 8)}", rng.randint(10**15, 2 * 10**18)
        )
        for n in range(sizes["tickets"])
    ]
    latencies = []
    for _ in range(sizes["rounds"]):
        started = time.perf_counter()
        result = settle_pool(tickets, FINISHES, PoolRules())
        latencies.append(time.perf_counter() - started)
        settled = [p.ticket_id for p in result.payments if p.ticket_id is not None]
        if not result.conserved or len(settled) != len(set(settled)):
            raise RuntimeError("settlement.pool: not conserved")
    extra = {"tickets": sizes["tickets"], "method": result.method, "verified": True}
    yield ("settlement.pool", len(latencies), sum(latencies), latencies, extra)
