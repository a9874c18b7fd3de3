"""The pool description ``clash settle simulate`` reads (docs/settlement.md).

```json
{"rules": {"rakeRate": "0.05", "creatorRate": "0.05", "weights": [3, 2, 1]},
 "cancelled": false,
 "finishes": [{"cloneId": "A", "rank": 1, "creator": "0xCreator"}, {"cloneId": "C", "rank": null}],
 "tickets": [{"ticketId": "t1", "holder": "0xHolder", "cloneId": "A", "stakeWei": "1000"}]}
```

Wei amounts are decimal strings (JSON numbers lose precision past 2^53), rates decimal
strings, ranks positive integers or ``null`` (DNF, disqualified); ``rules`` and ``cancelled``
may be left out (the defaults: 5 %, 5 %, 3:2:1; not cancelled). Anything else is refused with
the member that is wrong.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from domain.economy.parimutuel import Finish, PoolInvalid, PoolRules, Ticket

_TOP = {"rules", "cancelled", "finishes", "tickets"}


def read_pool(document: object) -> tuple[list[Ticket], list[Finish], PoolRules, bool]:
    """Tickets, finishes, rules and whether the race was cancelled, or PoolInvalid."""
    data = _object(document, "pool", required={"finishes", "tickets"}, allowed=_TOP)
    cancelled = data.get("cancelled", False)
    if not isinstance(cancelled, bool):
        raise PoolInvalid("cancelled must be true or false")
    return (
        [_ticket(t, n) for n, t in enumerate(_list(data["tickets"], "tickets"))],
        [_finish(f, n) for n, f in enumerate(_list(data["finishes"], "finishes"))],
        _rules(data.get("rules", {})),
        cancelled,
    )


def _rules(value: object) -> PoolRules:
    data = _object(value, "rules", required=set(), allowed={"rakeRate", "creatorRate", "weights"})
    defaults = PoolRules()
    weights = data.get("weights", list(defaults.weights))
    if not isinstance(weights, list):
        raise PoolInvalid("rules.weights must be a list of integers")
    return PoolRules(
        rake_rate=_rate(data.get("rakeRate", str(defaults.rake_rate)), "rules.rakeRate"),
        creator_rate=_rate(
            data.get("creatorRate", str(defaults.creator_rate)), "rules.creatorRate"
        ),
        weights=tuple(weights),
    )


def _ticket(value: object, n: int) -> Ticket:
    where = f"tickets[{n}]"
    keys = {"ticketId", "holder", "cloneId", "stakeWei"}
    data = _object(value, where, required=keys, allowed=keys)
    stake = data["stakeWei"]
    if not isinstance(stake, str) or not stake.isdigit():
        raise PoolInvalid(f"{where}.stakeWei must be a decimal string of wei")
    return Ticket(
        _text(data["ticketId"], f"{where}.ticketId"),
        _text(data["holder"], f"{where}.holder"),
        _text(data["cloneId"], f"{where}.cloneId"),
        int(stake),
    )


def _finish(value: object, n: int) -> Finish:
    where = f"finishes[{n}]"
    data = _object(
        value, where, required={"cloneId", "rank"}, allowed={"cloneId", "rank", "creator"}
    )
    rank = data["rank"]
    if rank is not None and (not isinstance(rank, int) or isinstance(rank, bool) or rank < 1):
        raise PoolInvalid(f"{where}.rank must be a positive integer or null")
    creator = data.get("creator")
    return Finish(
        _text(data["cloneId"], f"{where}.cloneId"),
        rank,
        None if creator is None else _text(creator, f"{where}.creator"),
    )


def _object(value: object, where: str, *, required: set[str], allowed: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PoolInvalid(f"{where} must be an object")
    missing, unknown = required - set(value), set(value) - allowed
    if missing or unknown:
        raise PoolInvalid(f"{where}: missing={sorted(missing)} unknown={sorted(unknown)}")
    return value


def _list(value: object, where: str) -> list[object]:
    if not isinstance(value, list):
        raise PoolInvalid(f"{where} must be a list")
    return value


def _text(value: object, where: str) -> str:
    if not isinstance(value, str) or not value or len(value) > 200:
        raise PoolInvalid(f"{where} must be a non-empty string")
    return value


def _rate(value: object, where: str) -> Decimal:
    if not isinstance(value, str):
        raise PoolInvalid(f"{where} must be a decimal string")
    try:
        return Decimal(value)
    except InvalidOperation:
        raise PoolInvalid(f"{where} must be a decimal string") from None
