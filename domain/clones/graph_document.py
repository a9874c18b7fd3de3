"""Reading a graph document's shape: schema, bounds, node and edge records, ids and params.

This is the first of two passes (the second, ``graph_wiring``, checks how nodes connect).
It never trusts the input's types: a document may be any JSON value, so every field is
type-checked before it is hashed or compared, and size bounds are checked before any work
proportional to the content. What it cannot use it reports and skips, so the wiring pass
still runs on the rest and the caller sees every problem at once.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field

from domain.clones.graph_errors import ErrorLog, shown
from domain.clones.graph_model import DEFAULT_PORT, KINDS, SCHEMA, NodeParams
from domain.clones.graph_nodes import parse_params

MAX_NODES = 200
MAX_EDGES = 400
MAX_PORT = 32
NODE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
DOCUMENT_KEYS = ("schema", "nodes", "edges")
NODE_KEYS = ("id", "kind", "params")
EDGE_KEYS = ("from", "to", "port")


@dataclass
class DraftNode:
    """A node whose id is usable; ``params`` is ``None`` when they were invalid."""

    id: str
    kind: str
    params: NodeParams | None


@dataclass(frozen=True)
class DraftEdge:
    """An edge between two existing nodes, with its position in the document."""

    index: int
    source: str
    target: str
    port: str

    @property
    def field(self) -> str:
        """``edges[i]``, for error records."""
        return f"edges[{self.index}]"


@dataclass
class Draft:
    """What the first pass could read: nodes by id (known kinds only) and usable edges."""

    nodes: dict[str, DraftNode] = field(default_factory=dict)
    edges: list[DraftEdge] = field(default_factory=list)


def read_document(document: object, known_assets: Collection[str], log: ErrorLog) -> Draft | None:
    """Read nodes and edges, logging every problem; ``None`` when nothing more can be read."""
    draft = Draft()
    if not isinstance(document, dict):
        log.add(None, None, "bad_document", "a strategy graph must be a JSON object")
        return None
    _unknown_keys(document, DOCUMENT_KEYS, None, None, log)
    if document.get("schema") != SCHEMA:
        message = f"schema must be {SCHEMA!r}; it is {shown(document.get('schema'))}"
        log.add(None, "schema", "unsupported_schema", message)
        return None
    nodes = _list(document, "nodes", MAX_NODES, log)
    edges = _list(document, "edges", MAX_EDGES, log)
    if nodes is None or edges is None:
        return None
    seen: set[str] = set()
    for index, record in enumerate(nodes):
        _read_node(index, record, known_assets, seen, draft, log)
    read: set[tuple[str, str, str]] = set()
    for index, record in enumerate(edges):
        _read_edge(index, record, seen, read, draft, log)
    return draft


def _list(
    document: dict[object, object], key: str, limit: int, log: ErrorLog
) -> list[object] | None:
    if key not in document:
        log.add(None, key, "missing_field", f"{key} is required")
        return None
    value = document[key]
    if not isinstance(value, list):
        log.add(None, key, "bad_document", f"{key} must be a list")
        return None
    if len(value) > limit:
        message = f"at most {limit} {key} are allowed; there are {len(value)}"
        log.add(None, key, "too_large", message)
        return None
    return value


def _unknown_keys(
    record: dict[object, object],
    known: tuple[str, ...],
    node: str | None,
    where: str | None,
    log: ErrorLog,
) -> None:
    for key in record:
        if key not in known:
            at = f"{where}.{key}" if where else str(key)
            message = f"unknown field {shown(key)}; known: {', '.join(known)}"
            log.add(node, at, "unknown_field", message)


def _read_node(
    index: int,
    record: object,
    known_assets: Collection[str],
    seen: set[str],
    draft: Draft,
    log: ErrorLog,
) -> None:
    where = f"nodes[{index}]"
    if not isinstance(record, dict):
        log.add(None, where, "bad_document", "a node must be an object")
        return
    node_id = _node_id(record.get("id"), where, seen, log)
    _unknown_keys(record, NODE_KEYS, node_id, where, log)
    kind = record.get("kind")
    if not isinstance(kind, str) or kind not in KINDS:
        message = f"kind {shown(kind)} is not one of {', '.join(KINDS)}"
        log.add(node_id, "kind", "unknown_kind", message)
        return
    raw = record.get("params")
    params = parse_params(node_id, kind, {} if raw is None else raw, log, known_assets)
    if node_id is not None:
        draft.nodes[node_id] = DraftNode(node_id, kind, params)


def _node_id(value: object, where: str, seen: set[str], log: ErrorLog) -> str | None:
    if not isinstance(value, str) or not NODE_ID.fullmatch(value):
        message = f"id {shown(value)} must be 1 to 64 letters, digits, '_' or '-'"
        log.add(None, f"{where}.id", "bad_id", message)
        return None
    if value in seen:
        log.add(value, f"{where}.id", "duplicate_id", f"id {value!r} is used by another node")
        return None
    seen.add(value)
    return value


def _read_edge(
    index: int,
    record: object,
    ids: set[str],
    read: set[tuple[str, str, str]],
    draft: Draft,
    log: ErrorLog,
) -> None:
    where = f"edges[{index}]"
    if not isinstance(record, dict):
        log.add(None, where, "bad_document", "an edge must be an object")
        return
    source, target = record.get("from"), record.get("to")
    port = record.get("port", DEFAULT_PORT)
    node = target if isinstance(target, str) and target in ids else None
    _unknown_keys(record, EDGE_KEYS, node, where, log)
    if not isinstance(port, str) or len(port) > MAX_PORT:
        message = f"port must be text of at most {MAX_PORT} characters"
        log.add(node, f"{where}.port", "bad_edge", message)
        return
    ends_known = True
    for end, value in (("from", source), ("to", target)):
        if not isinstance(value, str) or value not in ids:
            message = f"{end} {shown(value)} names no node of this graph"
            log.add(node, f"{where}.{end}", "dangling_edge", message)
            ends_known = False
    if not ends_known or not isinstance(source, str) or not isinstance(target, str):
        return
    if (source, target, port) in read:
        message = f"the edge {source} -> {target} ({port}) appears twice"
        log.add(target, where, "duplicate_edge", message)
        return
    read.add((source, target, port))
    draft.edges.append(DraftEdge(index, source, target, port))
