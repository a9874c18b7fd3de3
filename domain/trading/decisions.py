"""One decision tick: signals, provider, validated actions. The same code for every caller.

Dry runs, backtests and live trading all call :func:`decide` with a compiled spec and a
context packet; they differ only in where the packet's data comes from and what they do
with the actions (nothing, an isolated ledger, the real ledger). Steps:

1. the strategy's signal conditions are evaluated on the packet's rule window, per asset,
   and made position-aware (an entry hint only while flat, a close hint only while
   holding), giving the *hints*;
2. assets whose data is not current at t (no mark, or a channel's newest value older than
   its interval) hold with a ``stale_data`` error and are not asked about;
3. a rules strategy (no model node), or any strategy when only the rules provider is
   allowed (a dry run without a grant), is answered by :class:`RulesProvider` from the
   hints, without routing and without a prompt (a rules strategy with no hint fired holds
   without asking: the provider's answer would be all holds); a model strategy goes
   through the router of its model tier, whose providers render prompt v1 only if they
   send text;
4. the answer's text is validated against the action schema; anything invalid becomes a
   hold with the error recorded, and a routing failure (every route failed) holds every
   asset with the routing error;
5. a model strategy whose caller says no model may be asked now (``stopped``: a spent
   daily budget, see ``domain.trading.budgets``) holds every asset with that reason as
   its error, and no provider is called; rules strategies are never stopped.

The decision id is deterministic (the account or run, and the tick instant), so a retried
tick produces the same id and the ledger deduplicates its orders.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID, uuid5

from domain.trading import prompt as prompt_v1
from domain.trading.actions import Action, ActionSet, parse_actions
from domain.trading.conditions import evaluate
from domain.trading.context import ContextPacket
from domain.trading.providers import ModelCall, Prompt, ProviderReply, RulesProvider
from domain.trading.spec import SIGNALS, StrategySpec

DECISIONS_NAMESPACE = UUID("3a7d0b52-6a44-4f1e-9d6c-2f3f0b8e6c41")
RULES_MODEL = "rules"
Hints = dict[str, dict[str, bool]]


def decision_id_for(subject: str, at: datetime) -> UUID:
    """The id of ``subject``'s decision at ``at`` (subject: an account or a run)."""
    return uuid5(DECISIONS_NAMESPACE, f"{subject}@{at.isoformat()}")


class RouteLike(Protocol):
    """What a call is built from: the route's model name and timeout."""

    @property
    def model(self) -> str: ...

    @property
    def timeout_seconds(self) -> float: ...


class RoutedLike(Protocol):
    """What routing answered: a reply (or None), who gave it, and every attempt."""

    @property
    def reply(self) -> ProviderReply | None: ...

    @property
    def provider(self) -> str | None: ...

    @property
    def error(self) -> str | None: ...

    @property
    def attempts(self) -> Sequence[Any]: ...


class Router(Protocol):
    """Provider routing by model tier (``adapters.model_router.ModelRouter``)."""

    def complete(self, model_tier: str, call_for: Callable[[RouteLike], ModelCall]) -> RoutedLike:
        """Try the tier's routes in order until one answers."""
        ...


@dataclass(frozen=True)
class Decision:
    """What one tick decided, and everything needed to audit it."""

    decision_id: UUID
    at: datetime
    context: ContextPacket
    hints: Mapping[str, Mapping[str, bool]]
    actions: ActionSet
    provider: str
    model: str
    prompt: Prompt | None
    reply: ProviderReply | None
    attempts: tuple[dict[str, Any], ...]
    errors: tuple[str, ...]

    @property
    def holds(self) -> bool:
        """Whether every action is a hold."""
        return all(a.signal == "hold" for a in self.actions.actions)

    @property
    def prompt_version(self) -> str | None:
        """The prompt template version, if a prompt was rendered."""
        return None if self.prompt is None else self.prompt.version

    @property
    def tokens(self) -> tuple[int, int]:
        """(prompt tokens, completion tokens)."""
        return (0, 0) if self.reply is None else (self.reply.tokens_in, self.reply.tokens_out)


def hints_of(spec: StrategySpec, packet: ContextPacket) -> Hints:
    """Each asset's fired signals at the packet's time, given its open position."""
    window = packet.window()
    held = packet.account.position_sizes()
    hints: Hints = {}
    for plan in spec.assets:
        fired = {s: evaluate(plan.signals[s], window) for s in SIGNALS if s in plan.signals}
        holding = held.get(plan.asset, 0) != 0
        hints[plan.asset] = {
            s: on and (holding if s == "close" else not holding) for s, on in fired.items()
        }
    return hints


def decide(
    spec: StrategySpec,
    packet: ContextPacket,
    *,
    decision_id: UUID,
    router: Router | None,
    stopped: str | None = None,
) -> Decision:
    """Decide one tick (``router`` None: only the rules provider may answer; ``stopped``:
    why no model may be asked, which holds a model strategy without routing)."""
    hints = hints_of(spec, packet)
    fresh = tuple(a.asset for a in packet.assets if a.fresh)
    stale = tuple(f"stale_data: asset={a.asset}" for a in packet.assets if not a.fresh)
    rendered: list[Prompt] = []

    def render() -> Prompt:
        if spec.model is None:  # a rules strategy has no prompt; only routing calls this
            raise ValueError("a rules strategy renders no prompt")
        if not rendered:
            rendered.append(prompt_v1.render(spec.model, spec.risk, packet, hints))
        return rendered[0]

    def call_for(route: RouteLike) -> ModelCall:
        return ModelCall(route.model, fresh, hints, render, route.timeout_seconds)

    attempts: tuple[dict[str, Any], ...] = ()
    quiet = spec.model is None and not any(any(h.values()) for h in hints.values())
    if not fresh or quiet:  # nothing to ask: stale data, or a rules strategy with no hint
        reply, provider, model, error = None, RULES_MODEL, RULES_MODEL, None
    elif spec.model is None or router is None:
        reply = RulesProvider().complete(call_for(_RulesRoute()))
        provider, model, error = RULES_MODEL, RULES_MODEL, None
    elif stopped is not None:  # no provider is asked: the reason is the whole error
        reply, provider, model, error = None, "none", "none", stopped
    else:
        routed = router.complete(spec.model.model_tier, call_for)
        reply, provider = routed.reply, routed.provider or "none"
        error = None if routed.error is None else f"provider: {routed.error}"
        model = reply.model if reply is not None else "none"
        attempts = tuple(_attempt(a) for a in routed.attempts)
    actions = _actions(reply, fresh, packet, spec, error)
    return Decision(
        decision_id=decision_id,
        at=packet.at,
        context=packet,
        hints=hints,
        actions=actions,
        provider=provider,
        model=model,
        prompt=rendered[0] if rendered else None,
        reply=reply,
        attempts=attempts,
        errors=stale + actions.errors,
    )


def _actions(
    reply: ProviderReply | None,
    fresh: tuple[str, ...],
    packet: ContextPacket,
    spec: StrategySpec,
    error: str | None,
) -> ActionSet:
    everyone = tuple(a.asset for a in packet.assets)
    if reply is None:
        errors = () if error is None else (error,)
        return ActionSet(tuple(Action.hold(a) for a in everyone), errors)
    parsed = parse_actions(reply.text, assets=fresh, risk=spec.risk)
    by_asset = {a.asset: a for a in parsed.actions}
    return ActionSet(tuple(by_asset.get(a) or Action.hold(a) for a in everyone), parsed.errors)


def _attempt(attempt: Any) -> dict[str, Any]:
    fields = ("provider", "model", "outcome", "latency_ms", "error")
    return {name: getattr(attempt, name, None) for name in fields}


@dataclass(frozen=True)
class _RulesRoute:
    model: str = RULES_MODEL
    timeout_seconds: float = 0.0
