"""How a decision is written down: its row, its artifacts, a dry run's document.

One place for the shapes the trading audit stores, so the worker's rows and the dry runs'
results describe a decision the same way (provider, model, prompt version, context hash,
tokens, actions, planned orders, skipped actions with their reasons).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from adapters.artifact_store import ArtifactRef, ArtifactStore
from adapters.decision_store import DecisionRow, order_document
from domain.trading.cadence import Due
from domain.trading.decisions import Decision, decision_id_for
from domain.trading.sizing import PlannedOrder, SkippedAction
from domain.trading.spec import canonical_json
from projections.trading_bindings import BoundAccount


def store_artifacts(store: ArtifactStore, decision: Decision, now: datetime) -> dict[str, Any]:
    """Write the decision's context, prompt and response; return their references."""
    owner = str(decision.decision_id)
    context = canonical_json(decision.context.to_document()).encode()
    refs = {"context": store.put(owner, "context.json", context, now)}
    if decision.prompt is not None:
        text = f"[system]\n{decision.prompt.system}\n\n[user]\n{decision.prompt.user}"
        refs["prompt"] = store.put(owner, "prompt.txt", text.encode(), now)
    if decision.reply is not None:
        refs["response"] = store.put(owner, "response.txt", decision.reply.text.encode(), now)
    return {name: _ref(ref) for name, ref in refs.items()}


def dry_run_document(
    decision: Decision, plans: Sequence[PlannedOrder | SkippedAction], artifacts: Mapping[str, Any]
) -> dict[str, Any]:
    """A dry run's result as stored and served."""
    tokens_in, tokens_out = decision.tokens
    return {
        "at": decision.at.isoformat(),
        "provider": decision.provider,
        "model": decision.model,
        "promptVersion": decision.prompt_version,
        "contextHash": decision.context.content_hash,
        "hints": {a: dict(h) for a, h in decision.hints.items()},
        "actions": decision.actions.to_document(),
        "orders": [order_document(p.order) for p in plans if isinstance(p, PlannedOrder)],
        "skipped": [skipped_document(p) for p in plans if isinstance(p, SkippedAction)],
        "errors": list(decision.errors),
        "tokensIn": tokens_in,
        "tokensOut": tokens_out,
        "latencyMs": 0 if decision.reply is None else decision.reply.latency_ms,
        "attempts": list(decision.attempts),
        "context": decision.context.to_document(),
        "artifacts": dict(artifacts),
    }


def decision_row(
    bound: BoundAccount,
    tick: Due,
    status: str,
    now: datetime,
    *,
    errors: list[str],
    decision: Decision | None = None,
    orders: Sequence[Any] = (),
    artifacts: Mapping[str, Any] | None = None,
) -> DecisionRow:
    """The row of ``bound``'s decision at ``tick`` (holds keep no actions)."""
    tokens_in, tokens_out = (0, 0) if decision is None else decision.tokens
    return DecisionRow(
        decision_id=decision_id_for(f"account:{bound.account_id}", tick.at),
        account_id=bound.account_id,
        clone_id=bound.clone_id,
        version_id=bound.version_id,
        tick_at=tick.at,
        status=status,
        assets=tick.assets,
        recorded_at=now,
        context_hash=None if decision is None else decision.context.content_hash,
        prompt_version=None if decision is None else decision.prompt_version,
        provider=None if decision is None else decision.provider,
        model=None if decision is None else decision.model,
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        latency_ms=0 if decision is None or decision.reply is None else decision.reply.latency_ms,
        actions=None if decision is None or status == "hold" else decision.actions.to_document(),
        orders=tuple(orders),
        errors=errors,
        artifacts=artifacts or {},
    )


def skipped_document(plan: SkippedAction) -> dict[str, Any]:
    """An action that produced no order, with its reason."""
    return {
        "asset": plan.action.asset,
        "signal": plan.action.signal,
        "status": "skipped",
        "reason": plan.reason,
    }


def _ref(ref: ArtifactRef) -> dict[str, Any]:
    return {"key": ref.key, "size": ref.size, "sha256": ref.sha256}
