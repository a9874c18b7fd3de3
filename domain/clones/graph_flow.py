"""How values flow through a graph: cycles, dead ends, and which assets each node depends on.

The second half of the wiring pass. A strategy is evaluated from the market nodes to the
action, so the graph must be a DAG (each cycle is reported once, naming its nodes) and every
node must lead to the action (a node that does not is dead weight and most likely a
wiring mistake). Each node's *assets* are the assets of the market nodes upstream of it;
they decide the per-asset rules:

- two market nodes of one asset must agree on the interval (its decision cadence);
- both sides of a comparison or crossover read the same asset;
- a signal rule (on the action, or a hint on the model) depends on exactly one asset, and
  each (signal, asset) has at most one rule;
- a model sees at least one market.

Each logical rule's compiled condition tree is bounded (:data:`MAX_CONDITION_SIZE` terms):
rules are shared in the graph but copied into every tree that uses them, so a chain of
shared rules could otherwise make a 200-node graph compile to an astronomically large spec.
"""

from __future__ import annotations

from collections.abc import Mapping

from domain.clones.graph_document import Draft, DraftEdge
from domain.clones.graph_errors import ErrorLog
from domain.clones.graph_model import MarketParams, RuleParams
from domain.trading.spec import LOGICAL, SIGNALS

MAX_CONDITION_SIZE = 1000
Inputs = Mapping[str, Mapping[str, list[DraftEdge]]]


def check_flow(draft: Draft, inputs: Inputs, log: ErrorLog) -> None:
    """Report cycles, nodes that do not lead to the action and per-asset inconsistencies."""
    edges = [e for e in draft.edges if e.source in draft.nodes and e.target in draft.nodes]
    for component in cycles(list(draft.nodes), edges):
        log.add(component[0], None, "cycle", f"cycle through {', '.join(component)}")
    _check_action(draft, edges, log)
    _check_intervals(draft, log)
    order = _topological_order(draft, inputs)
    _check_condition_sizes(draft, inputs, order, log)
    markets = upstream_markets(draft, inputs, order)
    assets = {node: _assets(draft, found) for node, found in markets.items()}
    for node in draft.nodes.values():
        if _is_comparison(draft, node.id) and len(assets.get(node.id, ())) > 1:
            message = f"both sides must read one asset; they read {_names(assets[node.id])}"
            log.add(node.id, "inputs", "mixed_assets", message)
        if node.kind in ("action", "model"):
            _check_signals(draft, node.id, inputs[node.id], assets, log)
        if node.kind == "model" and node.id in markets and not markets[node.id]:
            message = "a model needs at least one market, through context features or hints"
            log.add(node.id, "inputs", "no_market", message)


def cycles(nodes: list[str], edges: list[DraftEdge]) -> list[list[str]]:
    """Every cycle as the sorted ids of its strongly connected component (Tarjan, iterative)."""
    successors: dict[str, list[str]] = {node: [] for node in nodes}
    for edge in edges:
        successors[edge.source].append(edge.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in nodes:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, position = work.pop()
            if position == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            following = successors[node]
            if position < len(following):
                work.append((node, position + 1))
                nxt = following[position]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if low[node] == index[node]:
                component = _pop_component(stack, on_stack, node)
                if len(component) > 1 or node in successors[node]:
                    found.append(sorted(component))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return sorted(found)


def _pop_component(stack: list[str], on_stack: set[str], root: str) -> list[str]:
    component: list[str] = []
    while True:
        member = stack.pop()
        on_stack.discard(member)
        component.append(member)
        if member == root:
            return component


def upstream_markets(draft: Draft, inputs: Inputs, order: list[str]) -> dict[str, frozenset[str]]:
    """For each node of ``order`` (those outside cycles), the market nodes upstream of it."""
    found: dict[str, frozenset[str]] = {}
    for node in order:
        if draft.nodes[node].kind == "market":
            found[node] = frozenset({node})
            continue
        sources = (edge.source for edges in inputs[node].values() for edge in edges)
        found[node] = frozenset().union(*(found.get(source, frozenset()) for source in sources))
    return found


def _topological_order(draft: Draft, inputs: Inputs) -> list[str]:
    waiting = dict.fromkeys(draft.nodes, 0)
    followers: dict[str, list[str]] = {node: [] for node in draft.nodes}
    for node, ports in inputs.items():
        for edges in ports.values():
            for edge in edges:
                waiting[node] += 1
                followers[edge.source].append(node)
    ready = sorted(node for node, count in waiting.items() if count == 0)
    order: list[str] = []
    while ready:
        node = ready.pop()
        order.append(node)
        for follower in followers[node]:
            waiting[follower] -= 1
            if waiting[follower] == 0:
                ready.append(follower)
    return order


def _check_condition_sizes(draft: Draft, inputs: Inputs, order: list[str], log: ErrorLog) -> None:
    # A rule shared by several logical rules is copied into each condition tree, so a chain
    # of diamonds doubles the tree per level: bound the compiled size, not the node count.
    sizes: dict[str, int] = {}
    for node in order:
        if not _is_logical(draft, node):
            sizes[node] = 1
            continue
        children = [sizes.get(edge.source, 1) for edge in inputs[node].get("in", ())]
        sizes[node] = 1 + sum(children)
        if sizes[node] > MAX_CONDITION_SIZE >= max(children, default=0):
            message = (
                f"the condition compiles to {sizes[node]} terms (at most {MAX_CONDITION_SIZE}); "
                "reuse fewer shared rules"
            )
            log.add(node, "inputs.in", "too_complex", message)


def _is_logical(draft: Draft, node: str) -> bool:
    params = draft.nodes[node].params
    return isinstance(params, RuleParams) and params.op in LOGICAL


def _assets(draft: Draft, markets: frozenset[str]) -> frozenset[str]:
    found = (draft.nodes[market].params for market in markets)
    return frozenset(params.asset for params in found if isinstance(params, MarketParams))


def _is_comparison(draft: Draft, node: str) -> bool:
    params = draft.nodes[node].params
    return isinstance(params, RuleParams) and params.op not in LOGICAL


def _names(assets: frozenset[str]) -> str:
    return ", ".join(sorted(assets))


def _check_action(draft: Draft, edges: list[DraftEdge], log: ErrorLog) -> None:
    actions = sorted(node.id for node in draft.nodes.values() if node.kind == "action")
    if not actions:
        log.add(None, "nodes", "missing_action", "a graph needs exactly one action node")
        return
    for extra in actions[1:]:
        log.add(extra, None, "too_many_actions", "a graph takes exactly one action node")
    predecessors: dict[str, list[str]] = {node: [] for node in draft.nodes}
    for edge in edges:
        predecessors[edge.target].append(edge.source)
    reached, frontier = set(actions), list(actions)
    while frontier:
        for source in predecessors[frontier.pop()]:
            if source not in reached:
                reached.add(source)
                frontier.append(source)
    for node in sorted(set(draft.nodes) - reached):
        log.add(node, None, "unreachable", f"{node} does not lead to the action node")


def _check_intervals(draft: Draft, log: ErrorLog) -> None:
    first: dict[str, tuple[str, str]] = {}
    for node in sorted(draft.nodes):
        params = draft.nodes[node].params
        if not isinstance(params, MarketParams):
            continue
        seen = first.setdefault(params.asset, (node, params.interval))
        if seen[1] != params.interval:
            message = (
                f"{params.asset} is already read at {seen[1]} by {seen[0]}; an asset has one "
                "interval, its decision cadence"
            )
            log.add(node, "params.interval", "interval_conflict", message)


def _check_signals(
    draft: Draft,
    owner: str,
    ports: Mapping[str, list[DraftEdge]],
    assets: Mapping[str, frozenset[str]],
    log: ErrorLog,
) -> None:
    for signal in SIGNALS:
        claimed: dict[str, str] = {}
        for edge in ports.get(signal, ()):
            found = assets.get(edge.source, frozenset())
            if len(found) > 1 and not _is_comparison(draft, edge.source):  # else said already
                message = f"a {signal} rule reads one asset; {edge.source} reads {_names(found)}"
                log.add(owner, edge.field, "mixed_assets", message)
            if len(found) != 1:
                continue
            (asset,) = found
            if asset in claimed:
                message = f"{signal} of {asset} has two rules: {claimed[asset]}, {edge.source}"
                log.add(owner, edge.field, "duplicate_signal", message)
            claimed.setdefault(asset, edge.source)
