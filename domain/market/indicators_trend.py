"""Trend and momentum indicators over candle closes: returns, ema, macd, rsi.

Conventions (the ones clones and backtests may rely on):

- ``returns(n)``: ``close / close[n bars ago] - 1`` (simple, not log); first value at
  candle n+1; a zero base close yields ``None`` for that bar.
- ``ema(n)``: weight ``alpha = 2/(n+1)``, seeded with the simple mean of the first n
  closes; the first value is that mean, at the n-th candle.
- ``macd(fast, slow, signal)``: ``macd = ema(fast) - ema(slow)`` of closes (each EMA
  seeded as above), ``signal = ema(signal)`` of the macd line (seeded with the mean of its
  first ``signal`` values), ``histogram = macd - signal``. The channel's main value is the
  **histogram** (its sign says whether the line is above its signal, its zero crossings
  are the crossovers); the three parts are the components ``macd``, ``signal`` and
  ``histogram``. First value at candle ``slow + signal - 1``; ``fast < slow``.
- ``rsi(n)``: Wilder's RSI on close-to-close changes; average gain and loss are seeded
  with the simple mean of the first n gains and losses, then smoothed with weight 1/n.
  ``rsi = 100 * avg_gain / (avg_gain + avg_loss)`` (the same as ``100 - 100/(1+RS)``,
  without dividing by a zero loss): 100 when there were only gains, and 50 when there
  was no movement at all. First value at candle n+1 (n changes need n+1 closes).
"""

from __future__ import annotations

from collections import deque
from decimal import Decimal, localcontext
from typing import Self

from domain.market.indicators import (
    CONTEXT,
    MAX_WINDOW,
    ZERO,
    Components,
    Indicator,
    ParamOutOfRange,
    SeededAverage,
    StateReader,
    WindowedIndicator,
    encode,
    encode_window,
    relative_change,
)
from domain.market.model import Candle

HUNDRED = Decimal(100)
FIFTY = Decimal(50)


class Ema(WindowedIndicator[Candle]):
    """``ema(n)`` of closes: weight 2/(n+1), seeded with the SMA of the first n closes."""

    kind = "ema"
    reads = Candle

    def __init__(self, n: int) -> None:
        super().__init__(n)
        self._average = SeededAverage(n, 2, n + 1)

    def update(self, observation: Candle) -> Decimal | None:
        """Fold a candle's close in; return the EMA, ``None`` before the n-th candle."""
        return self._average.update(observation.close)

    def state(self) -> dict[str, str]:
        """Dump the average."""
        return self._average.state("ema.")

    def load(self, reader: StateReader) -> None:
        """Load the average."""
        self._average.load(reader, "ema.")


class Macd(Indicator[Candle]):
    """``macd(fast, slow, signal)``; the value is the histogram, components are all three."""

    kind = "macd"
    param_names = ("fast", "slow", "signal")
    reads = Candle

    def __init__(self, fast: int, slow: int, signal: int) -> None:
        type(self).check_params((fast, slow, signal))
        self._fast = SeededAverage(fast, 2, fast + 1)
        self._slow = SeededAverage(slow, 2, slow + 1)
        self._signal = SeededAverage(signal, 2, signal + 1)
        self._line: Decimal | None = None

    @property
    def params(self) -> tuple[int, ...]:
        """The parameters ``(fast, slow, signal)``."""
        return (self._fast.n, self._slow.n, self._signal.n)

    @classmethod
    def check_params(cls, params: tuple[int, ...]) -> None:
        """Raise unless each period is in ``[1, 1000]`` and ``fast < slow``."""
        super().check_params(params)
        fast, slow, _ = params
        if slow <= fast:
            raise ParamOutOfRange(
                kind=cls.kind, param="slow", value=slow, minimum=fast + 1, maximum=MAX_WINDOW
            )

    @classmethod
    def from_params(cls, params: tuple[int, ...]) -> Self:
        """Build a fresh indicator from ``(fast, slow, signal)``."""
        cls.check_params(params)
        fast, slow, signal = params
        return cls(fast, slow, signal)

    def update(self, observation: Candle) -> Decimal | None:
        """Fold a candle's close in; return the histogram once all three parts exist."""
        fast = self._fast.update(observation.close)
        slow = self._slow.update(observation.close)
        if fast is None or slow is None:
            return None
        with localcontext(CONTEXT):
            self._line = fast - slow
            signal = self._signal.update(self._line)
            return None if signal is None else self._line - signal

    def components(self) -> Components:
        """Return ``macd``, ``signal`` and ``histogram`` of the latest value."""
        line, signal = self._line, self._signal.value
        if line is None or signal is None:
            return ()
        with localcontext(CONTEXT):
            return (("macd", line), ("signal", signal), ("histogram", line - signal))

    def state(self) -> dict[str, str]:
        """Dump the three averages and the latest macd line."""
        return {
            **self._fast.state("fast."),
            **self._slow.state("slow."),
            **self._signal.state("signal."),
            "line": encode(self._line),
        }

    def load(self, reader: StateReader) -> None:
        """Load the three averages and the latest macd line."""
        self._fast.load(reader, "fast.")
        self._slow.load(reader, "slow.")
        self._signal.load(reader, "signal.")
        self._line = reader.optional_decimal("line")


class Rsi(WindowedIndicator[Candle]):
    """``rsi(n)``: Wilder's relative strength index of closes, 0 to 100."""

    kind = "rsi"
    reads = Candle

    def __init__(self, n: int) -> None:
        super().__init__(n)
        self._previous: Decimal | None = None
        self._gains = SeededAverage(n, 1, n)
        self._losses = SeededAverage(n, 1, n)

    def update(self, observation: Candle) -> Decimal | None:
        """Fold a candle's close in; return the RSI, ``None`` before the (n+1)-th candle."""
        previous, self._previous = self._previous, observation.close
        if previous is None:
            return None
        with localcontext(CONTEXT):
            change = observation.close - previous
            rise, fall = max(change, ZERO), max(-change, ZERO)
        gain = self._gains.update(rise)
        loss = self._losses.update(fall)
        if gain is None or loss is None:
            return None
        with localcontext(CONTEXT):
            total = gain + loss
            return FIFTY if total == 0 else HUNDRED * gain / total

    def state(self) -> dict[str, str]:
        """Dump the previous close and both averages."""
        return {
            "previous": encode(self._previous),
            **self._gains.state("gain."),
            **self._losses.state("loss."),
        }

    def load(self, reader: StateReader) -> None:
        """Load the previous close and both averages."""
        self._previous = reader.optional_decimal("previous")
        self._gains.load(reader, "gain.")
        self._losses.load(reader, "loss.")


class Returns(WindowedIndicator[Candle]):
    """``returns(n)``: simple return over n bars, ``close / close[n bars ago] - 1``.

    Warm-up: the first value comes with the (n+1)-th candle. A zero base close yields
    ``None`` (undefined) for that bar.
    """

    kind = "returns"
    reads = Candle

    def __init__(self, n: int) -> None:
        super().__init__(n)
        self._closes: deque[Decimal] = deque(maxlen=n + 1)

    def update(self, observation: Candle) -> Decimal | None:
        """Fold a candle's close in; return the n-bar simple return."""
        self._closes.append(observation.close)
        if len(self._closes) <= self.n:
            return None
        return relative_change(self._closes[-1], self._closes[0])

    def state(self) -> dict[str, str]:
        """Dump the last n+1 closes."""
        return {"closes": encode_window(self._closes)}

    def load(self, reader: StateReader) -> None:
        """Load the last n+1 closes."""
        self._closes = reader.window("closes", self.n + 1)
