"""Indicators over non-candle series: funding, probability, tvl_change.

These series are points, not candles: each value is knowable at the point's own time,
and there is no interval. Conventions:

- ``funding``: the perp's hourly funding rate exactly as published (``FundingRate.rate``,
  positive when longs pay); no parameters, no warm-up.
- ``probability``: the price of a prediction-market outcome token (``PricePoint.price``,
  read as the market's probability of that outcome); no parameters, no warm-up.
- ``tvl_change(n)``: ``tvl / tvl n points ago - 1`` over the available TVL points (they
  are not resampled to a calendar: "n points ago", as candles are "n bars ago"). First
  value at the (n+1)-th point; a zero base TVL yields ``None`` for that point.
"""

from __future__ import annotations

from collections import deque
from decimal import Decimal
from typing import Self

from domain.market.indicators import (
    In,
    Indicator,
    StateReader,
    WindowedIndicator,
    encode_window,
    relative_change,
)
from domain.market.model import FundingRate, PricePoint, TvlPoint


class PointValue(Indicator[In]):
    """A parameterless, stateless indicator that passes one field of each point through."""

    @property
    def params(self) -> tuple[int, ...]:
        """No parameters."""
        return ()

    @classmethod
    def from_params(cls, params: tuple[int, ...]) -> Self:
        """Build the indicator; ``params`` must be empty."""
        cls.check_params(params)
        return cls()

    def state(self) -> dict[str, str]:
        """Nothing to keep."""
        return {}

    def load(self, reader: StateReader) -> None:
        """Nothing to load."""


class Funding(PointValue[FundingRate]):
    """``funding``: the hourly funding rate as is."""

    kind = "funding"
    reads = FundingRate

    def update(self, observation: FundingRate) -> Decimal | None:
        """Return the point's funding rate."""
        return observation.rate


class Probability(PointValue[PricePoint]):
    """``probability``: an outcome token's price, read as a probability."""

    kind = "probability"
    reads = PricePoint

    def update(self, observation: PricePoint) -> Decimal | None:
        """Return the point's price."""
        return observation.price


class TvlChange(WindowedIndicator[TvlPoint]):
    """``tvl_change(n)``: relative TVL change over the last n points."""

    kind = "tvl_change"
    reads = TvlPoint

    def __init__(self, n: int) -> None:
        super().__init__(n)
        self._values: deque[Decimal] = deque(maxlen=n + 1)

    def update(self, observation: TvlPoint) -> Decimal | None:
        """Fold a TVL point in; return the change over n points, ``None`` before n+1."""
        self._values.append(observation.tvl_usd)
        if len(self._values) <= self.n:
            return None
        return relative_change(self._values[-1], self._values[0])

    def state(self) -> dict[str, str]:
        """Dump the last n+1 TVL values."""
        return {"values": encode_window(self._values)}

    def load(self, reader: StateReader) -> None:
        """Load the last n+1 TVL values."""
        self._values = reader.window("values", self.n + 1)
