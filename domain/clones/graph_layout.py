"""Where the editor draws each node: display metadata kept apart from the strategy.

A layout is ``{"nodes": {id: {"x": number, "y": number, ...extras}}, "viewport": {...}}``.
It is stored beside a draft or a version but is never an input of compilation, so moving
a node never changes a spec or its hash. Because it is free-form UI data it is bounded
instead of modelled: JSON values only (no NaN or infinity), nesting at most
:data:`MAX_DEPTH` deep, at most :data:`MAX_BYTES` of canonical JSON. Coordinates are
display-only, so they are plain JSON numbers (a ``Decimal`` from a decimal-preserving JSON
parser is turned into a float here). Node ids follow the graph's id rule but may name nodes
the graph no longer has (the editor prunes them), since a layout is checked on its own.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from domain.clones.graph_document import NODE_ID
from domain.clones.graph_errors import ErrorLog, LayoutInvalid, shown
from domain.trading.spec import canonical_json

MAX_BYTES = 64 * 1024
MAX_DEPTH = 6
MAX_ITEMS = 5000
LAYOUT_KEYS = ("nodes", "viewport")


class _NotJson(ValueError):
    pass


class _Budget:
    def __init__(self) -> None:
        self.items = 0

    def spend(self) -> None:
        self.items += 1
        if self.items > MAX_ITEMS:
            raise _NotJson(f"more than {MAX_ITEMS} values")


def parse_layout(document: object) -> dict[str, Any]:
    """Validate a layout document and return its normalised copy (raises LayoutInvalid)."""
    log = ErrorLog()
    if not isinstance(document, dict):
        log.add(None, None, "bad_document", "a layout must be a JSON object")
        raise LayoutInvalid(tuple(log.errors))
    for key in document:
        if key not in LAYOUT_KEYS:
            message = f"unknown field {shown(key)}; known: {', '.join(LAYOUT_KEYS)}"
            log.add(None, str(key), "unknown_field", message)
    budget = _Budget()
    layout = {
        "nodes": _nodes(document.get("nodes", {}), budget, log),
        "viewport": _object(document.get("viewport", {}), None, "viewport", budget, log) or {},
    }
    if not log and len(canonical_json(layout).encode()) > MAX_BYTES:
        log.add(None, None, "too_large", f"a layout takes at most {MAX_BYTES} bytes of JSON")
    if log:
        raise LayoutInvalid(tuple(log.errors))
    return layout


def _nodes(value: object, budget: _Budget, log: ErrorLog) -> dict[str, Any]:
    if not isinstance(value, dict):
        log.add(None, "nodes", "bad_document", "nodes must be an object of positions by id")
        return {}
    nodes: dict[str, Any] = {}
    for node, entry in value.items():
        if not isinstance(node, str) or not NODE_ID.fullmatch(node):
            log.add(None, "nodes", "bad_id", f"node id {shown(node)} is not a valid id")
            continue
        position = _object(entry, node, f"nodes.{node}", budget, log)
        if position is None:
            continue
        for axis in ("x", "y"):
            coordinate = position.get(axis)
            if isinstance(coordinate, bool) or not isinstance(coordinate, int | float):
                message = f"{axis} must be a finite number"
                log.add(node, f"nodes.{node}.{axis}", "bad_position", message)
        nodes[node] = position
    return nodes


def _object(
    value: object, node: str | None, where: str, budget: _Budget, log: ErrorLog
) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        log.add(node, where, "bad_document", f"{where} must be an object")
        return None
    try:
        return _json_object(value, 1, budget)
    except _NotJson as exc:
        log.add(node, where, "bad_value", f"{where} must be small plain JSON: {exc}")
        return None


def _json_object(value: dict[object, object], depth: int, budget: _Budget) -> dict[str, Any]:
    if not all(isinstance(key, str) for key in value):
        raise _NotJson("an object key that is not text")
    return {str(key): _json(item, depth + 1, budget) for key, item in value.items()}


def _json(value: object, depth: int, budget: _Budget) -> object:
    budget.spend()
    if depth > MAX_DEPTH:
        raise _NotJson(f"nested deeper than {MAX_DEPTH}")
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        if value.bit_length() > 53:
            raise _NotJson("an integer beyond 2**53")
        return value
    if isinstance(value, Decimal):
        value = float(value) if value.is_finite() else math.inf
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _NotJson("a number that is not finite")
        return value
    if isinstance(value, list):
        return [_json(item, depth + 1, budget) for item in value]
    if isinstance(value, dict):
        return _json_object(value, depth, budget)
    raise _NotJson(f"a {type(value).__name__}")
