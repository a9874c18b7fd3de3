"""The scenario simulator: replay a scripted prop account through the real ledger, step by step.

A scenario (:mod:`domain.prop.scenario_format`; worked example in ``docs/prop-scenarios.md``)
opens one account on a fresh in-memory :class:`PropLedger` (nothing is shared with any other
store) and runs each step under a :class:`SimulatedClock` set to its ``at``:

- ``marks`` merge into the scenario's marks and go through ``apply_marks``, so stop-loss,
  take-profit and liquidation fire; the marks then value the account and price orders that
  state no ``price``;
- ``order`` is ``submit_order`` (a fill, or a rejection with its reason code);
- ``funding`` is ``apply_funding`` (once per asset and period);
- ``admin`` is freeze, unfreeze, adjust, close_all or close.

A refusal the ledger raises (a ``LedgerError``: closing an account with positions, reusing a
client order id for another order) becomes the step's ``error`` and the replay goes on.

The state after a step holds the result, every event the step recorded (micro amounts shown
as USDC) and the account valued at the marks (:func:`domain.prop.valuation.value_account`).
Output is deterministic: the account id derives from the cause, event times come from the
clock, and decimals print as strings: exact up to 6 decimals, rounded half-even to the micro
beyond (derived prices such as an average entry or a liquidation price).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any
from uuid import UUID

from domain.clock import SimulatedClock
from domain.market.instruments import Instrument
from domain.prop.account import PropAccount
from domain.prop.application import PropLedger
from domain.prop.errors import LedgerError
from domain.prop.money import exact_micros, micros_to_decimal
from domain.prop.rules import Purpose
from domain.prop.scenario_format import (
    MICRO,
    AdminInput,
    Scenario,
    ScenarioError,
    StepInput,
    parse_scenario,
)
from domain.prop.valuation import value_account

# Event fields left out of the output: identity (the step says when), postings and hashes.
_UNSHOWN = ("originator_id", "originator_version", "timestamp", "postings", "fingerprint")
# USDC amounts, always shown to the micro (prices and sizes are shown exactly).
_MONEY = frozenset(
    [
        "collateral",
        "realized_pnl",
        "fees",
        "funding",
        "adjustments",
        "account_value",
        "margin_used",
        "maintenance_required",
        "free_collateral",
        "unrealized_pnl",
    ]
)


def run_scenario(document: object) -> list[dict[str, Any]]:
    """Replay ``document`` on an isolated ledger; return the JSON-able state after every step."""
    scenario = parse_scenario(document)
    simulation = _Simulation(scenario)
    try:
        return [simulation.step(index, step) for index, step in enumerate(scenario.steps)]
    finally:
        simulation.ledger.close()


class _Simulation:
    # One replay: its ledger, clock and account, and the MarketView the ledger reads.
    def __init__(self, scenario: Scenario) -> None:
        self.instruments = scenario.instruments_in_force()
        self.marks: dict[str, Decimal] = {}
        self.clock = SimulatedClock(scenario.start)
        self.ledger = PropLedger(clock=self.clock)
        self.ledger.bind_market(self)
        account = scenario.account
        self.account_id: UUID = self.ledger.open_account(
            cause=account.cause,
            owner=account.owner,
            purpose=Purpose(account.purpose),
            rules=account.rules.rule_set(),
            collateral_micros=exact_micros(account.collateral),
        )

    def instrument(self, asset: str, at: datetime) -> Instrument | None:
        return self.instruments.get(asset)

    def mark(self, asset: str, at: datetime) -> Decimal | None:
        return self.marks.get(asset)

    def step(self, index: int, step: StepInput) -> dict[str, Any]:
        self.clock.set(step.at)
        before = self.ledger.account(self.account_id).version
        try:
            result = self._act(index, step)
        except LedgerError as exc:
            result = {"error": exc.reason, "detail": exc.detail}
        except (KeyError, ValueError) as exc:
            # Not a refusal but a failure inside the ledger: stop, naming the step.
            raise ScenarioError(f"steps[{index}]: the ledger failed: {exc!r}") from exc
        recorded = self.ledger.events.get(self.account_id, gt=before)
        return {
            "step": index,
            "at": step.at.isoformat(),
            "note": step.note,
            "action": step.action,
            "input": _json(step.model_dump(by_alias=True, include={step.action})[step.action]),
            "result": result,
            "events": [_event(event) for event in recorded],
            "marks": _json(dict(sorted(self.marks.items()))),
            "account": self._valued(self.ledger.account(self.account_id)),
        }

    def _act(self, index: int, step: StepInput) -> dict[str, Any]:
        if step.marks is not None:
            self.marks.update(step.marks)
            return {"fired": self.ledger.apply_marks(self.account_id, dict(self.marks))}
        if step.order is not None:
            outcome = self.ledger.submit_order(self.account_id, step.order.market_order())
            return {
                "client_order_id": outcome.client_order_id,
                "status": outcome.status,
                "reason": outcome.reason,
            }
        if step.funding is not None:
            funding = step.funding.model_dump(exclude={"period"})
            period = step.funding.period or step.at.replace(minute=0, second=0, microsecond=0)
            applied = self.ledger.apply_funding(self.account_id, **funding, period=period)
            return {"asset": funding["asset"], "period": period.isoformat(), "applied": applied}
        if step.admin is None:
            raise ScenarioError(f"steps[{index}]: a step has exactly one action")
        return self._admin(index, step.admin)

    def _admin(self, index: int, admin: AdminInput) -> dict[str, Any]:
        ledger, account_id, by, why = self.ledger, self.account_id, admin.admin, admin.reason
        if admin.action == "close_all":
            unmarked = sorted(set(ledger.account(account_id).positions) - set(self.marks))
            if unmarked:
                raise ScenarioError(
                    f"steps[{index}].admin: close_all closes at the mark and {unmarked[0]}"
                    " has none yet; add a marks step before it"
                )
            return {"admin": admin.action, "closed": ledger.close_all(account_id, admin=by)}
        if admin.action == "adjust" and admin.amount is not None:
            ledger.adjust(account_id, amount=admin.amount, reason=why, admin=by)
        elif admin.action == "freeze":
            ledger.freeze(account_id, reason=why, admin=by)
        elif admin.action == "unfreeze":
            ledger.unfreeze(account_id, reason=why, admin=by)
        elif admin.action == "close":
            ledger.close_account(account_id, reason=why, admin=by)
        return {"admin": admin.action}

    def _valued(self, account: PropAccount) -> dict[str, Any]:
        value = value_account(account, self.marks, self.instruments)
        shown: dict[str, Any] = _json(dataclasses.asdict(value))
        shown["adjustments"] = _json(micros_to_decimal(account.adjustments_micros), money=True)
        shown["liquidations"] = account.liquidations
        return shown


def _event(event: object) -> dict[str, Any]:
    # Every field the event records, in its order, with ``*_micros`` shown as USDC.
    shown: dict[str, Any] = {"type": type(event).__name__}
    for name, value in vars(event).items():
        if name.endswith("_micros"):
            shown[name.removesuffix("_micros")] = _json(micros_to_decimal(value), money=True)
        elif name not in _UNSHOWN:
            shown[name] = _json(value, money=name in _MONEY)
    return shown


def _json(value: object, *, money: bool = False) -> Any:
    if isinstance(value, Decimal):
        rounded = value.quantize(MICRO, rounding=ROUND_HALF_EVEN)
        value = rounded if money or value != rounded else value
        return format(value.copy_abs() if value.is_zero() else value, "f")
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, dict):
        return {str(key): _json(item, money=key in _MONEY) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json(item) for item in value]
    return value


__all__ = ["ScenarioError", "parse_scenario", "run_scenario"]
