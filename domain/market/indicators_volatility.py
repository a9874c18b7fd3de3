"""Volatility and activity indicators over candles: atr, realized_vol, volume_z.

Conventions:

- ``atr(n)``: Wilder's average true range. The true range of a candle is
  ``max(high - low, |high - previous close|, |low - previous close|)``; it needs the
  previous close, so the first candle only provides that close (as TA-Lib does). The
  average is seeded with the simple mean of the first n true ranges, then smoothed with
  weight 1/n. First value at candle n+1.
- ``realized_vol(n)``: the *sample* standard deviation (divisor n-1) of the last n log
  returns ``ln(close / previous close)``, per bar and **not annualised** (the bar length
  differs per channel; a reader scales by ``sqrt(bars per year)`` if it wants to). Needs
  ``n >= 2``; first value at candle n+1. Closes must be positive; a non-positive close
  raises :class:`NonPositivePrice`.
- ``volume_z(n)``: ``(volume - mean) / std`` where mean and *sample* std (divisor n-1) are
  over the last n volumes **including the current one** (the usual rolling z-score).
  When all n volumes are equal the std is 0 and so is the deviation: the value is then
  ``0`` (not ``None``: "perfectly ordinary volume"). Needs ``n >= 2``; first value at
  candle n.

Windows are recomputed from the kept values at every step (n is at most 1000), so there
is no running-sum drift and the state is just the window.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from decimal import Decimal, localcontext

from domain.market.indicators import (
    CONTEXT,
    ZERO,
    FeatureError,
    SeededAverage,
    StateReader,
    WindowedIndicator,
    encode,
    encode_window,
)
from domain.market.model import Candle


class NonPositivePrice(FeatureError):
    """Raised when a log return is asked of a close that is zero or negative."""


def mean_and_sample_std(values: Sequence[Decimal]) -> tuple[Decimal, Decimal]:
    """Return the mean and the sample standard deviation (divisor len - 1) of ``values``."""
    with localcontext(CONTEXT):
        mean = sum(values, ZERO) / len(values)
        squares = sum(((value - mean) * (value - mean) for value in values), ZERO)
        return mean, (squares / (len(values) - 1)).sqrt()


class Atr(WindowedIndicator[Candle]):
    """``atr(n)``: Wilder's average true range, in price units."""

    kind = "atr"
    reads = Candle

    def __init__(self, n: int) -> None:
        super().__init__(n)
        self._previous: Decimal | None = None
        self._average = SeededAverage(n, 1, n)

    def update(self, observation: Candle) -> Decimal | None:
        """Fold a candle in; return the ATR, ``None`` before the (n+1)-th candle."""
        previous, self._previous = self._previous, observation.close
        if previous is None:
            return None
        with localcontext(CONTEXT):
            true_range = max(
                observation.high - observation.low,
                abs(observation.high - previous),
                abs(observation.low - previous),
            )
        return self._average.update(true_range)

    def state(self) -> dict[str, str]:
        """Dump the previous close and the average."""
        return {"previous": encode(self._previous), **self._average.state("tr.")}

    def load(self, reader: StateReader) -> None:
        """Load the previous close and the average."""
        self._previous = reader.optional_decimal("previous")
        self._average.load(reader, "tr.")


class RealizedVol(WindowedIndicator[Candle]):
    """``realized_vol(n)``: sample std of the last n log returns, per bar."""

    kind = "realized_vol"
    min_window = 2
    reads = Candle

    def __init__(self, n: int) -> None:
        super().__init__(n)
        self._previous: Decimal | None = None
        self._returns: deque[Decimal] = deque(maxlen=n)

    def update(self, observation: Candle) -> Decimal | None:
        """Fold a candle's close in; return the realized volatility once n returns exist."""
        close = observation.close
        if close <= 0:
            raise NonPositivePrice(kind=self.kind, open_time=observation.open_time, close=close)
        previous, self._previous = self._previous, close
        if previous is None:
            return None
        with localcontext(CONTEXT):
            self._returns.append((close / previous).ln())
        if len(self._returns) < self.n:
            return None
        return mean_and_sample_std(self._returns)[1]

    def state(self) -> dict[str, str]:
        """Dump the previous close and the window of log returns."""
        return {"previous": encode(self._previous), "returns": encode_window(self._returns)}

    def load(self, reader: StateReader) -> None:
        """Load the previous close and the window of log returns."""
        self._previous = reader.optional_decimal("previous")
        self._returns = reader.window("returns", self.n)


class VolumeZ(WindowedIndicator[Candle]):
    """``volume_z(n)``: z-score of the volume within the last n volumes (current included)."""

    kind = "volume_z"
    min_window = 2
    reads = Candle

    def __init__(self, n: int) -> None:
        super().__init__(n)
        self._volumes: deque[Decimal] = deque(maxlen=n)

    def update(self, observation: Candle) -> Decimal | None:
        """Fold a candle's volume in; return its z-score, ``None`` before the n-th candle."""
        self._volumes.append(observation.volume)
        if len(self._volumes) < self.n:
            return None
        mean, std = mean_and_sample_std(self._volumes)
        if std == 0:
            return ZERO
        with localcontext(CONTEXT):
            return (observation.volume - mean) / std

    def state(self) -> dict[str, str]:
        """Dump the window of volumes."""
        return {"volumes": encode_window(self._volumes)}

    def load(self, reader: StateReader) -> None:
        """Load the window of volumes."""
        self._volumes = reader.window("volumes", self.n)
