"""Reading source payloads: strict about types, tolerant of additions, exact with numbers.

Why this exists: market memory is only as trustworthy as its parsing. Every source parser
(``payloads_hyperliquid``, ``payloads_polymarket``, ``payloads_defillama``) walks the decoded
JSON through a :class:`Field`, which knows its own path in the body. So a malformed value is
reported as ``universe[3].szDecimals`` instead of a ``KeyError`` deep in a loop, and a parser
reads as a description of the shape it accepts.

Rules every parser inherits from :class:`Field`:

- Decimal strings become ``Decimal`` through the string, never through ``float``; a JSON
  number where a decimal string is required is a :class:`PayloadError`, because a source that
  switched to floats has already lost digits.
- Fields a source sends as JSON numbers (Polymarket ``p``, DefiLlama TVL) become ``Decimal``
  through their printed form (``repr`` for a ``float``; a decoder may also hand in ``Decimal``
  directly, as :mod:`adapters.source_http` does). Booleans, NaN and infinities are refused.
- Unknown keys are ignored; an absent or ``null`` optional key is ``None``; an absent required
  key is an error naming it.
- Parsers build their whole result before returning, so either the entire payload is accepted
  or nothing is.

The error tree for sources is rooted here (:class:`SourceError`) rather than in ``adapters/``
so that the domain's :class:`PayloadError` and the adapters' transport errors share one root
that callers can catch.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import NoReturn, TypeVar

from domain.market.intervals import EPOCH

_DECIMAL_TEXT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
_DIGITS = re.compile(r"\d+")
ROOT = "<body>"
T = TypeVar("T")


class SourceError(Exception):
    """Raised when a market-data source gives no usable answer; the root of the source tree."""

    def __init__(self, source: str, endpoint: str, detail: str, **context: object) -> None:
        parts = [f"source={source}", f"endpoint={endpoint}"]
        parts += [f"{key}={value}" for key, value in context.items() if value is not None]
        super().__init__(" ".join([*parts, f"detail={detail}"]))
        self.source = source
        self.endpoint = endpoint
        self.detail = detail


class PayloadError(SourceError):
    """Raised when a response body does not have the shape its parser requires."""

    def __init__(self, source: str, endpoint: str, field: str, detail: str) -> None:
        super().__init__(source, endpoint, detail, field=field)
        self.field = field


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, int | float | Decimal):
        return f"number {value}"
    if isinstance(value, str):
        return f"string {value[:40]!r}"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


@dataclass(frozen=True)
class Field:
    """One value of a decoded payload, with its path, to be read as a declared type."""

    value: object
    path: str
    source: str
    endpoint: str

    @classmethod
    def root(cls, payload: object, source: str, endpoint: str) -> Field:
        """Wrap a whole decoded body."""
        return cls(payload, "", source, endpoint)

    def fail(self, detail: str) -> NoReturn:
        """Raise a :class:`PayloadError` naming this field."""
        raise PayloadError(self.source, self.endpoint, self.path or ROOT, detail)

    def _child(self, value: object, step: str) -> Field:
        joined = step.startswith("[") or not self.path
        path = f"{self.path}{step}" if joined else f"{self.path}.{step}"
        return Field(value, path, self.source, self.endpoint)

    def mapping(self) -> dict[str, object]:
        """Return the value as a JSON object."""
        if not isinstance(self.value, dict):
            self.fail(f"must be an object, not {_kind(self.value)}")
        return self.value

    def key(self, name: str) -> Field:
        """Return the required member ``name`` (absent or null is an error)."""
        found = self.optional(name)
        if found is None:
            self._child(None, name).fail("is required but missing or null")
        return found

    def optional(self, name: str) -> Field | None:
        """Return the member ``name``, or ``None`` when it is absent or null."""
        value = self.mapping().get(name)
        return None if value is None else self._child(value, name)

    def entries(self) -> list[tuple[str, Field]]:
        """Return the members of a JSON object used as a map (every key is data)."""
        return [(name, self._child(value, name)) for name, value in self.mapping().items()]

    def items(self) -> list[Field]:
        """Return the elements of a JSON array."""
        if not isinstance(self.value, list):
            self.fail(f"must be an array, not {_kind(self.value)}")
        return [self._child(value, f"[{index}]") for index, value in enumerate(self.value)]

    def text(self) -> str:
        """Return the value as a string."""
        if not isinstance(self.value, str):
            self.fail(f"must be a string, not {_kind(self.value)}")
        return self.value

    def matching(self, wanted: str) -> str:
        """Return the string value, which must equal ``wanted`` (the name asked for)."""
        text = self.text()
        if text != wanted:
            self.fail(f"must be {wanted!r} as requested, not {_kind(text)}")
        return text

    def integer(self) -> int:
        """Return the value as a JSON integer (a boolean or a fraction is refused)."""
        if isinstance(self.value, bool) or not isinstance(self.value, int):
            self.fail(f"must be an integer, not {_kind(self.value)}")
        return self.value

    def flag(self) -> bool:
        """Return the value as a JSON boolean."""
        if not isinstance(self.value, bool):
            self.fail(f"must be a boolean, not {_kind(self.value)}")
        return self.value

    def decimal(self) -> Decimal:
        """Return a decimal string as an exact ``Decimal``."""
        text = self.value
        if not isinstance(text, str) or not _DECIMAL_TEXT.fullmatch(text):
            self.fail(f"must be a decimal string, not {_kind(text)}")
        return Decimal(text)

    def number(self) -> Decimal:
        """Return a finite JSON number as the ``Decimal`` of its printed form."""
        value = self.value
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            self.fail(f"must be a number, not {_kind(value)}")
        if isinstance(value, int):
            return Decimal(value)
        if isinstance(value, float):
            if not math.isfinite(value):
                self.fail(f"must be a finite number, not {value}")
            return Decimal(repr(value))
        if not value.is_finite():
            self.fail(f"must be a finite number, not {value}")
        return value

    def digits(self) -> int:
        """Return a string of decimal digits (``"1781289337944"``) as an integer."""
        text = self.text()
        if not _DIGITS.fullmatch(text):
            self.fail(f"must be a string of digits, not {_kind(text)}")
        return int(text)

    def millis(self) -> datetime:
        """Return an integer of Unix milliseconds as an aware UTC instant."""
        return EPOCH + timedelta(milliseconds=self.integer())

    def seconds(self) -> datetime:
        """Return an integer of Unix seconds as an aware UTC instant."""
        return EPOCH + timedelta(seconds=self.integer())

    def instant(self) -> datetime:
        """Return an ISO-8601 timestamp with an offset (``...Z``) as an aware instant."""
        text = self.text()
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            self.fail(f"must be an ISO-8601 timestamp, not {_kind(text)}")
        if parsed.tzinfo is None:
            self.fail(f"must carry a UTC offset, not {_kind(text)}")
        return parsed

    def decoded(self) -> Field:
        """Return the JSON document held in a string field (``"[\\"Yes\\", \\"No\\"]"``)."""
        text = self.text()
        try:
            inner = json.loads(text, parse_constant=_refuse_constant)
        except ValueError as exc:
            self.fail(f"must hold a JSON document: {exc}")
        return Field(inner, self.path, self.source, self.endpoint)


def maybe(field: Field | None, read: Callable[[Field], T]) -> T | None:
    """Read an optional field with ``read`` (``maybe(node.optional("premium"), Field.decimal)``)."""
    return None if field is None else read(field)


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not a finite JSON number")


def decode_json(body: bytes, source: str, endpoint: str) -> object:
    """Decode a response body, keeping JSON fractions exact as ``Decimal``."""
    try:
        return json.loads(body, parse_float=Decimal, parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        snippet = body[:60].decode("utf-8", "replace")
        raise PayloadError(source, endpoint, ROOT, f"not JSON ({exc}): {snippet!r}") from exc
