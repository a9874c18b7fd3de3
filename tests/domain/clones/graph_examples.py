"""Strategy graph documents used across the graph tests: builders that return fresh dicts.

``ema_crossover()`` and ``llm_strategy()`` are the worked examples of
``docs/strategy-graph.md``; ``node``/``edge`` build single records so a test states only the
part it is about.
"""

from __future__ import annotations

from typing import Any

SCHEMA = "clash.strategy-graph/1"
ASSETS = frozenset({"BTC", "ETH", "SOL"})
RISK = {
    "sizeFraction": "0.1",
    "leverage": 3,
    "stopLossPct": "2",
    "takeProfitPct": "4",
    "maxOpenPositions": 1,
}


def node(node_id: str, kind: str, **params: Any) -> dict[str, Any]:
    """One node record."""
    return {"id": node_id, "kind": kind, "params": params}


def edge(source: str, target: str, port: str | None = None) -> dict[str, Any]:
    """One edge record (port omitted when ``None``)."""
    record: dict[str, Any] = {"from": source, "to": target}
    if port is not None:
        record["port"] = port
    return record


def document(nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> dict[str, Any]:
    """A graph document."""
    return {"schema": SCHEMA, "nodes": nodes, "edges": edges}


def ema_crossover() -> dict[str, Any]:
    """Long BTC when EMA 12 crosses above EMA 26, close when it crosses back below."""
    return document(
        [
            node("btc", "market", asset="BTC", interval="5m"),
            node("fast", "feature", channel="ema:12"),
            node("slow", "feature", channel="ema:26"),
            node("golden", "rule", op="crosses_above"),
            node("death", "rule", op="crosses_below"),
            node("risk", "risk", **RISK),
            node("act", "action"),
        ],
        [
            edge("btc", "fast"),
            edge("btc", "slow"),
            edge("fast", "golden", "left"),
            edge("slow", "golden", "right"),
            edge("fast", "death", "left"),
            edge("slow", "death", "right"),
            edge("golden", "act", "open_long"),
            edge("death", "act", "close"),
            edge("risk", "act", "risk"),
        ],
    )


def llm_strategy() -> dict[str, Any]:
    """A model trades BTC and ETH; it sees RSI and MACD signal, and an RSI>70 hint on BTC."""
    return document(
        [
            node("btc", "market", asset="BTC", interval="1h"),
            node("eth", "market", asset="ETH", interval="15m"),
            node("btc_rsi", "feature", channel="rsi:14"),
            node("eth_macd", "feature", channel="macd:12,26,9", component="signal"),
            node("btc_funding", "feature", channel="funding"),
            node("hot", "rule", op="gt", threshold="70"),
            node(
                "llm",
                "model",
                promptTemplate="v1",
                modelTier="standard",
                instructions="Trade trend breaks; stay flat when funding is extreme.",
            ),
            node("risk", "risk", sizeFraction="0.05", leverage=2),
            node("act", "action"),
        ],
        [
            edge("btc", "btc_rsi"),
            edge("btc", "btc_funding", "in"),
            edge("eth", "eth_macd"),
            edge("btc_rsi", "hot", "left"),
            edge("btc_rsi", "llm", "context"),
            edge("btc_funding", "llm", "context"),
            edge("eth_macd", "llm", "context"),
            edge("hot", "llm", "close"),
            edge("llm", "act", "decide"),
            edge("risk", "act", "risk"),
        ],
    )


def find(doc: dict[str, Any], node_id: str) -> dict[str, Any]:
    """The node record ``node_id`` of ``doc`` (to edit it in place)."""
    return next(record for record in doc["nodes"] if record["id"] == node_id)
