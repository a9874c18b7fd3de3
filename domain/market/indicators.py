"""Incremental indicators: Decimal state machines that fold a stream into one value per step.

Why incremental: a feature channel runs forever over live candles and must resume after a
restart without recomputing history. Each indicator is a small state machine:

- ``update(observation)`` folds one observation in and returns the value as of that
  observation, or ``None`` while it is still warming up (it has not seen enough
  observations yet for its documented convention); after warm-up it returns a value on
  every update (except the few documented undefined cases, such as a zero base);
- ``state()`` dumps everything the next update needs as ``dict[str, str]`` (decimal
  strings, integer strings, comma-separated windows), ready for JSON;
- ``restore(params, state)`` rebuilds an indicator that continues exactly where the dumped
  one stopped: decimal strings are exact, so the continued run is bit-identical to an
  uninterrupted one.

Numbers: every computation runs in this module's own :data:`CONTEXT` (28 significant
digits, half-even, trapping invalid operations and division by zero), entered with
``localcontext`` so results never depend on, and never change, the caller's context. No
float is involved anywhere (ARCHITECTURE.md section 4).

Gaps: indicators see a sequence, not a clock. They fold the consecutive *available*
observations; a missing candle is neither filled nor interpolated, and "n bars ago" means
n available bars ago.

Seeding: the exponential averages (EMA, Wilder) are seeded with the simple mean of their
first n inputs (:class:`SeededAverage`), the convention of most charting packages; the
first value appears at the n-th input, and is that mean.

Kinds: this module holds the base, the state codec and the shared averages;
``indicators_trend`` holds returns, ema, macd and rsi; ``indicators_volatility`` atr,
realized_vol and volume_z; ``indicators_series`` the non-candle series funding,
probability and tvl_change.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Iterable, Mapping
from decimal import (
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)
from typing import ClassVar, Generic, Self, TypeVar

from domain.market.model import Candle, FundingRate, PricePoint, TvlPoint

CONTEXT = Context(
    prec=28, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow]
)
MAX_WINDOW = 1000
ZERO = Decimal(0)

Observation = Candle | FundingRate | PricePoint | TvlPoint
Components = tuple[tuple[str, Decimal], ...]
In = TypeVar("In", Candle, FundingRate, PricePoint, TvlPoint)


class FeatureError(ValueError):
    """Root of every indicator and feature-channel error; ``str`` is ``field=value`` pairs."""

    def __init__(self, **fields: object) -> None:
        super().__init__(" ".join(f"{name}={value!r}" for name, value in fields.items()))
        self.fields = fields


class WrongParamCount(FeatureError):
    """Raised when an indicator kind is given more or fewer parameters than it takes."""


class ParamOutOfRange(FeatureError):
    """Raised when an indicator parameter lies outside ``[minimum, maximum]``."""


class IndicatorStateInvalid(FeatureError):
    """Raised when a dumped state cannot be restored (missing key, bad number, bad size)."""


class ObservationMismatch(FeatureError):
    """Raised when an indicator is fed an observation of a type it does not read."""


class Indicator(ABC, Generic[In]):
    """An incremental indicator over a stream of observations of type ``In``."""

    kind: ClassVar[str]
    param_names: ClassVar[tuple[str, ...]] = ()
    min_window: ClassVar[int] = 1
    reads: type[In]

    @property
    @abstractmethod
    def params(self) -> tuple[int, ...]:
        """The parameters this indicator was built with (as in its channel key)."""

    @classmethod
    def check_params(cls, params: tuple[int, ...]) -> None:
        """Raise unless ``params`` has one value per name, each in ``[min_window, 1000]``."""
        if len(params) != len(cls.param_names):
            raise WrongParamCount(kind=cls.kind, expected=cls.param_names, given=params)
        for name, value in zip(cls.param_names, params, strict=True):
            if not cls.min_window <= value <= MAX_WINDOW:
                raise ParamOutOfRange(
                    kind=cls.kind,
                    param=name,
                    value=value,
                    minimum=cls.min_window,
                    maximum=MAX_WINDOW,
                )

    @classmethod
    @abstractmethod
    def from_params(cls, params: tuple[int, ...]) -> Self:
        """Build a fresh indicator from its channel parameters."""

    @classmethod
    def restore(cls, params: tuple[int, ...], state: Mapping[str, str]) -> Self:
        """Rebuild an indicator from its parameters and a :meth:`state` dump."""
        indicator = cls.from_params(params)
        indicator.load(StateReader(cls.kind, state))
        return indicator

    @abstractmethod
    def update(self, observation: In) -> Decimal | None:
        """Fold ``observation`` in; return the value as of it, ``None`` while warming up."""

    def accept(self, observation: Observation) -> Decimal | None:
        """Check that ``observation`` is of the type this kind reads, then :meth:`update`."""
        if not isinstance(observation, self.reads):
            raise ObservationMismatch(
                kind=self.kind, expected=self.reads.__name__, given=type(observation).__name__
            )
        return self.update(observation)

    def components(self) -> Components:
        """Return the named parts of the latest value (empty for single-valued kinds)."""
        return ()

    @abstractmethod
    def state(self) -> dict[str, str]:
        """Dump everything the next update needs, as strings."""

    @abstractmethod
    def load(self, reader: StateReader) -> None:
        """Replace this fresh indicator's state with the one ``reader`` holds."""


class WindowedIndicator(Indicator[In]):
    """An indicator with one window-length parameter ``n``."""

    param_names = ("n",)

    def __init__(self, n: int) -> None:
        type(self).check_params((n,))
        self.n = n

    @property
    def params(self) -> tuple[int, ...]:
        """The parameters this indicator was built with: ``(n,)``."""
        return (self.n,)

    @classmethod
    def from_params(cls, params: tuple[int, ...]) -> Self:
        """Build a fresh indicator from ``(n,)``."""
        cls.check_params(params)
        return cls(params[0])


class StateReader:
    """Typed, validating access to a dumped state; every failure names kind and key."""

    def __init__(self, kind: str, state: Mapping[str, str]) -> None:
        self.kind = kind
        self._state = state

    def text(self, key: str) -> str:
        """Return the raw string under ``key``."""
        value = self._state.get(key)
        if not isinstance(value, str):
            raise IndicatorStateInvalid(kind=self.kind, key=key, problem="missing or not text")
        return value

    def decimal(self, key: str) -> Decimal:
        """Return the finite decimal under ``key``."""
        return self._parse(key, self.text(key))

    def optional_decimal(self, key: str) -> Decimal | None:
        """Return the decimal under ``key``, or ``None`` when it is the empty string."""
        text = self.text(key)
        return None if text == "" else self._parse(key, text)

    def count(self, key: str, maximum: int) -> int:
        """Return the integer in ``[0, maximum]`` under ``key``."""
        text = self.text(key)
        if not (text.isascii() and text.isdigit()) or int(text) > maximum:
            raise IndicatorStateInvalid(kind=self.kind, key=key, value=text, maximum=maximum)
        return int(text)

    def window(self, key: str, maximum: int) -> deque[Decimal]:
        """Return the comma-separated decimals under ``key`` (at most ``maximum``)."""
        text = self.text(key)
        values = [self._parse(key, part) for part in text.split(",")] if text else []
        if len(values) > maximum:
            raise IndicatorStateInvalid(kind=self.kind, key=key, size=len(values), maximum=maximum)
        return deque(values, maxlen=maximum)

    def _parse(self, key: str, text: str) -> Decimal:
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise IndicatorStateInvalid(kind=self.kind, key=key, value=text) from None
        if not value.is_finite():
            raise IndicatorStateInvalid(kind=self.kind, key=key, value=text)
        return value


def encode(value: Decimal | int | None) -> str:
    """Encode one state value: the exact decimal or integer text, ``""`` for ``None``."""
    return "" if value is None else str(value)


def encode_window(values: Iterable[Decimal]) -> str:
    """Encode a window of decimals as comma-separated exact decimal text."""
    return ",".join(str(value) for value in values)


def relative_change(now: Decimal, base: Decimal) -> Decimal | None:
    """Return ``now / base - 1``, or ``None`` when ``base`` is zero (undefined)."""
    if base == 0:
        return None
    with localcontext(CONTEXT):
        return now / base - 1


class SeededAverage:
    """An exponential average with weight ``numerator/denominator``, seeded by an SMA.

    The first ``n - 1`` inputs return ``None``; the n-th returns the simple mean of the
    first n; then ``value += (x - value) * numerator / denominator``. EMA uses weight
    ``2/(n+1)``, Wilder's smoothing ``1/n`` (equivalently ``(value*(n-1) + x)/n``). The
    weight is applied as a multiplication then a division, so it is never rounded itself.
    """

    def __init__(self, n: int, numerator: int, denominator: int) -> None:
        self.n = n
        self._numerator = numerator
        self._denominator = denominator
        self.seen = 0
        self.total = ZERO
        self.value: Decimal | None = None

    def update(self, x: Decimal) -> Decimal | None:
        """Fold ``x`` in; return the average, ``None`` before the n-th input."""
        with localcontext(CONTEXT):
            if self.value is not None:
                self.value += (x - self.value) * self._numerator / self._denominator
                return self.value
            self.total += x
            self.seen += 1
            if self.seen == self.n:
                self.value = self.total / self.n
            return self.value

    def state(self, prefix: str) -> dict[str, str]:
        """Dump the average under keys starting with ``prefix``."""
        return {
            f"{prefix}seen": encode(self.seen),
            f"{prefix}total": encode(self.total),
            f"{prefix}value": encode(self.value),
        }

    def load(self, reader: StateReader, prefix: str) -> None:
        """Load the average dumped under ``prefix``."""
        self.seen = reader.count(f"{prefix}seen", self.n)
        self.total = reader.decimal(f"{prefix}total")
        self.value = reader.optional_decimal(f"{prefix}value")
        if (self.value is None) != (self.seen < self.n):
            raise IndicatorStateInvalid(kind=reader.kind, key=f"{prefix}value", seen=self.seen)
