"""Which inputs each node takes: named ports, the kinds that may feed them, how many.

Outputs need no table of their own: a node may feed whatever port accepts its kind, so
"a risk node only feeds the action" follows from the action's ``risk`` port being the only
port that accepts risk nodes. The table:

========  ==============================  ==============  ===========
target    port                            source kinds    count
========  ==============================  ==============  ===========
feature   ``in``                          market          exactly 1
rule      ``left`` (comparison/crossover) feature         exactly 1
rule      ``right`` (comparison/crossover) feature        0 or 1 (else ``threshold``)
rule      ``in`` (and/or)                 rule            2 or more
rule      ``in`` (not)                    rule            exactly 1
model     ``context``                     feature         any
model     ``open_long/open_short/close``  rule            any (hints)
action    ``risk``                        risk            exactly 1
action    ``decide``                      model           0 or 1
action    ``open_long/open_short/close``  rule            any
========  ==============================  ==============  ===========

The action either takes ``decide`` (a model strategy) or signal ports with at least one
``open_*`` (a rules strategy), never both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from domain.clones.graph_document import Draft, DraftEdge, DraftNode
from domain.clones.graph_errors import ErrorLog
from domain.clones.graph_model import RuleParams
from domain.trading.spec import SIGNALS


@dataclass(frozen=True)
class Port:
    """An input port: the kinds it accepts and how many edges it takes."""

    sources: frozenset[str]
    least: int = 0
    most: int | None = None


_FEATURE = frozenset({"feature"})
_RULE = frozenset({"rule"})
_HINTS = {signal: Port(_RULE) for signal in SIGNALS}
PORTS: Mapping[str, Mapping[str, Port]] = {
    "market": {},
    "feature": {"in": Port(frozenset({"market"}), 1, 1)},
    "model": {"context": Port(_FEATURE), **_HINTS},
    "risk": {},
    "action": {
        "risk": Port(frozenset({"risk"}), 1, 1),
        "decide": Port(frozenset({"model"}), 0, 1),
        **_HINTS,
    },
}
RULE_PORTS: Mapping[str, Mapping[str, Port]] = {
    "compare": {"left": Port(_FEATURE, 1, 1), "right": Port(_FEATURE, 0, 1)},
    "and": {"in": Port(_RULE, 2)},
    "or": {"in": Port(_RULE, 2)},
    "not": {"in": Port(_RULE, 1, 1)},
}


def ports_of(node: DraftNode) -> Mapping[str, Port] | None:
    """The input ports of ``node``; ``None`` for a rule whose op is unknown."""
    if node.kind != "rule":
        return PORTS[node.kind]
    if not isinstance(node.params, RuleParams):
        return None
    return RULE_PORTS.get(node.params.op, RULE_PORTS["compare"])


def check_ports(draft: Draft, log: ErrorLog) -> dict[str, dict[str, list[DraftEdge]]]:
    """Check every edge's port and source kind and every port's count; return inputs by port."""
    inputs: dict[str, dict[str, list[DraftEdge]]] = {node: {} for node in draft.nodes}
    for edge in draft.edges:
        if edge.source in draft.nodes and edge.target in draft.nodes:
            inputs[edge.target].setdefault(edge.port, []).append(edge)
            _check_edge(draft, edge, log)
    for node in draft.nodes.values():
        ports = ports_of(node)
        if ports is not None:
            _check_counts(node, ports, inputs[node.id], log)
    return inputs


def _check_edge(draft: Draft, edge: DraftEdge, log: ErrorLog) -> None:
    target, source = draft.nodes[edge.target], draft.nodes[edge.source]
    ports = ports_of(target)
    if ports is None:
        return
    if edge.port not in ports:
        known = ", ".join(ports) or "none (this kind takes no inputs)"
        message = f"{target.kind} nodes have no input port {edge.port!r}; ports: {known}"
        log.add(target.id, edge.field, "unknown_port", message)
    elif source.kind not in ports[edge.port].sources:
        allowed = ", ".join(sorted(ports[edge.port].sources))
        message = f"port {edge.port} takes {allowed} nodes, not {source.kind} ({source.id})"
        log.add(target.id, edge.field, "wrong_input_kind", message)


def _check_counts(
    node: DraftNode,
    ports: Mapping[str, Port],
    inputs: Mapping[str, list[DraftEdge]],
    log: ErrorLog,
) -> None:
    for name, port in ports.items():
        count = len(inputs.get(name, ()))
        if count < port.least:
            message = f"port {name} takes {_expected(port)}; it has {count}"
            log.add(node.id, f"inputs.{name}", "missing_input", message)
        if port.most is not None and count > port.most:
            message = f"port {name} takes {_expected(port)}; it has {count}"
            log.add(node.id, f"inputs.{name}", "too_many_inputs", message)
    if isinstance(node.params, RuleParams) and "left" in ports:
        _check_right_side(node, node.params, len(inputs.get("right", ())), log)
    if node.kind == "action":
        _check_decision(node, inputs, log)


def _expected(port: Port) -> str:
    plural = "" if (port.most or port.least) == 1 else "s"
    if port.least == port.most:
        return f"exactly {port.least} input{plural}"
    if port.most is None:
        return f"at least {port.least} input{plural}"
    return f"at most {port.most} input{plural}"


def _check_right_side(node: DraftNode, params: RuleParams, rights: int, log: ErrorLog) -> None:
    if params.threshold is None and rights == 0:
        message = f"{params.op} needs a right input or a threshold param"
        log.add(node.id, "inputs.right", "missing_input", message)
    elif params.threshold is not None and rights > 0:
        message = f"{params.op} takes a right input or a threshold param, not both"
        log.add(node.id, "params.threshold", "conflicting_inputs", message)


def _check_decision(node: DraftNode, inputs: Mapping[str, list[DraftEdge]], log: ErrorLog) -> None:
    signals = [signal for signal in SIGNALS if inputs.get(signal)]
    if inputs.get("decide") and signals:
        message = "the action takes a model on decide or rule signals, not both"
        log.add(node.id, "inputs.decide", "mixed_decision", message)
    elif not inputs.get("decide") and not {"open_long", "open_short"} & set(signals):
        message = "the action needs a model on decide or a rule on open_long or open_short"
        log.add(node.id, "inputs", "missing_open_signal", message)
