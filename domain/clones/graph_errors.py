"""Why a strategy graph or a layout was refused: every problem at once, each with a stable code.

A graph editor shows all the problems of a document in one pass (red nodes, a list), so
validation never stops at the first error: it collects :class:`NodeError` records and
raises one :class:`GraphInvalid` (or :class:`LayoutInvalid`) holding all of them. Each
record names the node (``None`` for document-level problems), the field (``params.asset``,
``edges[3]``...), a stable snake_case ``code`` clients may branch on, and an English
message for people. The codes are listed in ``docs/strategy-graph.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_SHOWN = 60  # characters of a user's value quoted back in a message


@dataclass(frozen=True)
class NodeError:
    """One problem of a document: where (node, field), what (code) and why (message)."""

    node: str | None
    field: str | None
    code: str
    message: str

    def __str__(self) -> str:
        return f"code={self.code} node={self.node} field={self.field} message={self.message!r}"

    def to_document(self) -> dict[str, str | None]:
        """The error as JSON-ready data (what an API returns)."""
        return {"node": self.node, "field": self.field, "code": self.code, "message": self.message}


class StrategyDocumentInvalid(ValueError):
    """Root of the graph and layout errors: raised when a document breaks one or more rules."""

    reason = "strategy_document_invalid"

    def __init__(self, errors: tuple[NodeError, ...]) -> None:
        self.errors = errors
        codes = ",".join(sorted({error.code for error in errors}))
        super().__init__(f"errors={len(errors)} codes={codes} first={errors[0] if errors else ''}")

    @property
    def codes(self) -> set[str]:
        """The distinct error codes."""
        return {error.code for error in self.errors}


class GraphInvalid(StrategyDocumentInvalid):
    """Raised when a strategy graph document is malformed, inconsistent or too large."""

    reason = "graph_invalid"


class LayoutInvalid(StrategyDocumentInvalid):
    """Raised when a layout document is not small JSON of node positions and a viewport."""

    reason = "layout_invalid"


class ErrorLog:
    """Collects errors during a validation pass."""

    def __init__(self) -> None:
        self.errors: list[NodeError] = []

    def add(self, node: str | None, field: str | None, code: str, message: str) -> None:
        """Record one problem."""
        self.errors.append(NodeError(node, field, code, message))

    def __bool__(self) -> bool:
        return bool(self.errors)


def shown(value: object) -> str:
    """Quote a user's value in a message, cut to a readable length (containers by type)."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, int) and value.bit_length() > 128:
        return "a very large number"
    if isinstance(value, str) and len(value) > MAX_SHOWN:
        value = value[:MAX_SHOWN] + "..."
    text = repr(value)
    return text if len(text) <= MAX_SHOWN + 8 else text[:MAX_SHOWN] + "..."
