"""Prompt v1: the context packet rendered for a language model.

Versioned because a prompt is part of what a decision means: every decision row records
``prompt_version``, and a changed template is a new version, never an edit of ``v1``. The
layout follows Alpha Arena's harness (notes/trading-math.md 5.2): the time and invocation
count, every series ordered oldest to newest with its interval stated, then the account
and its positions with their exit plans, then the strategy's rule signals as hints. The
answer format is the JSON action schema (``domain.trading.actions``); the house rules
(one position per asset, leverage and size caps, exits enforced by the engine) are stated
so a well-behaved model has no reason to be refused.

Only the ``openai-compatible`` provider renders it; the ``rules`` provider never does.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from domain.trading.actions import ACTION_SCHEMA
from domain.trading.context import AccountContext, AssetContext, ContextPacket
from domain.trading.providers import Prompt
from domain.trading.spec import ModelPlan, RiskLimits

VERSION = "v1"
PROMPTS = (VERSION,)

_SYSTEM = """You are a systematic trader managing one perpetual-futures paper account.
Decide, for every asset listed, exactly one action: open_long, open_short, close or hold.
House rules:
- One position per asset: while a position is open in an asset, only hold or close it.
- Leverage at most {leverage}x.
- sizeFraction (the share of account value used as margin) at most {size_fraction}.
- Stop-loss and take-profit are enforced by the engine at the mark price; state them as prices.
- Answer with JSON only, matching this schema, no prose around it:
{schema}"""


def render(
    plan: ModelPlan,
    risk: RiskLimits,
    packet: ContextPacket,
    hints: Mapping[str, Mapping[str, bool]],
) -> Prompt:
    """The v1 prompt of ``packet`` for the model node ``plan``."""
    system = _SYSTEM.format(
        leverage=risk.leverage,
        size_fraction=risk.size_fraction,
        schema=json.dumps(ACTION_SCHEMA, sort_keys=True),
    )
    if plan.instructions:
        system += f"\nThe strategy's owner adds:\n{plan.instructions}"
    parts = [
        f"The current market time is {packet.at.isoformat()}; you have been invoked"
        f" {packet.invocation} times.",
        "ALL SERIES BELOW ARE ORDERED OLDEST -> NEWEST.",
        "CURRENT MARKET STATE",
        *(_asset(a) for a in packet.assets),
        "ACCOUNT",
        _account(packet.account),
        "RULE SIGNALS AT THIS TIME (hints from the strategy's rules)",
        *(_hints(asset, fired) for asset, fired in sorted(hints.items())),
    ]
    return Prompt(VERSION, system, "\n".join(parts))


def _asset(context: AssetContext) -> str:
    lines = [
        f"{context.asset} (decision interval {context.cadence}):"
        f" mark={context.mark if context.mark is not None else 'unknown'}"
        f" funding_rate={context.funding_rate if context.funding_rate is not None else 'unknown'}"
    ]
    for series in context.series:
        values = ", ".join(str(value) for _, value in series.points)
        stale = "" if series.fresh else " (STALE: newest value is not current)"
        lines.append(
            f"  {series.ref.key}{_component(series.ref.component)}"
            f" at {series.ref.interval} intervals: [{values}]{stale}"
        )
    return "\n".join(lines)


def _component(component: str | None) -> str:
    return f".{component}" if component else ""


def _account(account: AccountContext) -> str:
    lines = [
        f"account_value={account.account_value} free_collateral={account.free_collateral}"
        f" total_return_pct={account.return_pct}"
    ]
    if not account.positions:
        lines.append("no open positions")
    for p in account.positions:
        lines.append(
            f"  {p.asset}: size={p.size} entry={p.entry_price} mark={p.mark}"
            f" liquidation={p.liquidation_price} unrealized_pnl={p.unrealized_pnl}"
            f" leverage={p.leverage} stop_loss={p.stop_loss} take_profit={p.take_profit}"
        )
    return "\n".join(lines)


def _hints(asset: str, fired: Mapping[str, bool]) -> str:
    named = [signal for signal, on in sorted(fired.items()) if on]
    return f"  {asset}: {', '.join(named) if named else 'none'}"
