"""Feature channels: an indicator kind and parameters over one series, stamped for no look-ahead.

A channel is named by a stable key, ``kind`` or ``kind:p1,p2,...`` ("ema:20",
"macd:12,26,9", "funding"), which stores, prompts and backtests use verbatim; parameters
are plain decimal integers in ``[1, 1000]`` (2 for the sample-std kinds), and macd needs
``fast < slow``. :class:`ChannelSpec` can only hold a valid combination, so a key that
parses can always be built.

No look-ahead: a value derived from a candle becomes knowable when the candle *closes*,
so every :class:`FeaturePoint` carries ``knowable_at`` = the candle's ``close_time`` next
to the ``open_time`` that identifies the candle. Point series (funding, probability,
tvl_change) are stamped with the point's own time for both, and have no interval
(``None``). A reader at time t may use exactly the points with ``knowable_at <= t``;
indicators are causal, so those equal what the candles closed by t alone would give.

Resuming and replays: :class:`ChannelRunner` holds the indicator and the open time of the
last observation it folded. ``feed`` ignores any observation at or before that time, so
replaying a page of candles after a restart (or twice) changes nothing; a
:class:`ChannelCheckpoint` (last open time + the indicator's string state) lets a runner
continue after a restart without recomputing history.

Gaps: indicators operate on the consecutive *available* candles; a gap is not filled
(no synthetic candle, no interpolation), the next candle simply follows the last one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from itertools import chain

from domain.market.indicators import (
    Components,
    FeatureError,
    Indicator,
    Observation,
    ObservationMismatch,
)
from domain.market.indicators_series import Funding, Probability, TvlChange
from domain.market.indicators_trend import Ema, Macd, Returns, Rsi
from domain.market.indicators_volatility import Atr, RealizedVol, VolumeZ
from domain.market.intervals import interval_length
from domain.market.model import Candle, FundingRate, PricePoint, TvlPoint

AnyIndicator = (
    Indicator[Candle] | Indicator[FundingRate] | Indicator[PricePoint] | Indicator[TvlPoint]
)
IndicatorClass = (
    type[Indicator[Candle]]
    | type[Indicator[FundingRate]]
    | type[Indicator[PricePoint]]
    | type[Indicator[TvlPoint]]
)
KINDS: Mapping[str, IndicatorClass] = {
    "returns": Returns,
    "ema": Ema,
    "macd": Macd,
    "rsi": Rsi,
    "atr": Atr,
    "realized_vol": RealizedVol,
    "volume_z": VolumeZ,
    "funding": Funding,
    "probability": Probability,
    "tvl_change": TvlChange,
}
_PARAMETER = re.compile(r"0|[1-9][0-9]*")


class UnknownChannelKind(FeatureError):
    """Raised when a channel names a kind that is not one of :data:`KINDS`."""


class ChannelKeyMalformed(FeatureError):
    """Raised when a key is not ``kind`` or ``kind:p1,p2,...`` with plain decimal integers."""


class SeriesMismatch(FeatureError):
    """Raised when a runner is given an asset or interval other than its own series'."""


@dataclass(frozen=True)
class ChannelSpec:
    """A channel: an indicator kind and its parameters (always a valid combination)."""

    kind: str
    params: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise UnknownChannelKind(kind=self.kind, known=tuple(KINDS))
        KINDS[self.kind].check_params(self.params)

    @property
    def key(self) -> str:
        """The stable key, ``kind`` or ``kind:p1,p2,...``."""
        if not self.params:
            return self.kind
        return f"{self.kind}:{','.join(str(param) for param in self.params)}"

    @property
    def reads(self) -> type[Observation]:
        """The observation type the channel's indicator reads."""
        return KINDS[self.kind].reads

    @classmethod
    def parse(cls, key: str) -> ChannelSpec:
        """Parse a key such as ``"ema:20"``, ``"macd:12,26,9"`` or ``"funding"``."""
        kind, colon, rest = key.partition(":")
        if kind not in KINDS:
            raise UnknownChannelKind(key=key, kind=kind, known=tuple(KINDS))
        if not colon:
            return cls(kind)
        parts = rest.split(",")
        if not all(_PARAMETER.fullmatch(part) for part in parts):
            raise ChannelKeyMalformed(key=key, expected="kind:p1,p2,... (decimal integers)")
        return cls(kind, tuple(int(part) for part in parts))


def build(spec: ChannelSpec) -> AnyIndicator:
    """Return a fresh indicator for ``spec``."""
    return KINDS[spec.kind].from_params(spec.params)


@dataclass(frozen=True)
class FeaturePoint:
    """One channel value of one series, identified by ``open_time``, usable from ``knowable_at``.

    ``value`` is the channel's main value; ``components`` names its parts for multi-part
    kinds (macd: ``macd``, ``signal``, ``histogram``; the value is the histogram).
    """

    channel_key: str
    asset: str
    interval: str | None
    open_time: datetime
    knowable_at: datetime
    value: Decimal
    components: Components = ()

    def component(self, name: str) -> Decimal | None:
        """Return the component ``name``, or ``None`` when the kind has no such part."""
        return dict(self.components).get(name)


@dataclass(frozen=True)
class SeriesStamp:
    """Where an observation belongs (asset, interval) and when (open time, knowable at)."""

    asset: str
    interval: str | None
    open_time: datetime
    knowable_at: datetime


def stamp_of(observation: Observation) -> SeriesStamp:
    """Return an observation's series and times; points are their own open and close."""
    match observation:
        case Candle():
            return SeriesStamp(
                observation.asset,
                observation.interval,
                observation.open_time,
                observation.close_time,
            )
        case FundingRate():
            return SeriesStamp(observation.asset, None, observation.time, observation.time)
        case PricePoint():
            return SeriesStamp(observation.token_id, None, observation.time, observation.time)
        case TvlPoint():
            return SeriesStamp(observation.subject, None, observation.time, observation.time)


@dataclass(frozen=True)
class ChannelCheckpoint:
    """What a runner needs to continue: the last folded open time and the indicator state."""

    last_open_time: datetime | None
    indicator_state: Mapping[str, str]


class ChannelRunner:
    """Runs one channel over one series incrementally; replays are ignored, not refolded."""

    def __init__(self, spec: ChannelSpec, asset: str, interval: str | None) -> None:
        if (spec.reads is Candle) != (interval is not None):
            raise SeriesMismatch(
                channel=spec.key,
                reads=spec.reads.__name__,
                interval=interval,
                rule="candle channels need an interval, point channels have none",
            )
        if interval is not None:
            interval_length(interval)
        self.spec = spec
        self.asset = asset
        self.interval = interval
        self.last_open_time: datetime | None = None
        self._indicator = build(spec)

    @classmethod
    def resume(
        cls, spec: ChannelSpec, asset: str, interval: str | None, checkpoint: ChannelCheckpoint
    ) -> ChannelRunner:
        """Rebuild a runner that continues exactly where ``checkpoint`` was taken."""
        runner = cls(spec, asset, interval)
        runner._indicator = KINDS[spec.kind].restore(spec.params, checkpoint.indicator_state)
        runner.last_open_time = checkpoint.last_open_time
        return runner

    def checkpoint(self) -> ChannelCheckpoint:
        """Return the runner's current position and indicator state."""
        return ChannelCheckpoint(self.last_open_time, self._indicator.state())

    def feed(self, observation: Observation) -> FeaturePoint | None:
        """Fold one observation in; return its point, or ``None`` (warm-up or already seen)."""
        stamp = self._admit(observation)
        if self.last_open_time is not None and stamp.open_time <= self.last_open_time:
            return None
        value = self._indicator.accept(observation)
        self.last_open_time = stamp.open_time
        if value is None:
            return None
        return FeaturePoint(
            channel_key=self.spec.key,
            asset=stamp.asset,
            interval=stamp.interval,
            open_time=stamp.open_time,
            knowable_at=stamp.knowable_at,
            value=value,
            components=self._indicator.components(),
        )

    def feed_all(self, observations: Iterable[Observation]) -> list[FeaturePoint]:
        """Feed observations in order; return the points they produced."""
        points = (self.feed(observation) for observation in observations)
        return [point for point in points if point is not None]

    def _admit(self, observation: Observation) -> SeriesStamp:
        if not isinstance(observation, self.spec.reads):
            raise ObservationMismatch(
                channel=self.spec.key,
                expected=self.spec.reads.__name__,
                given=type(observation).__name__,
            )
        stamp = stamp_of(observation)
        if (stamp.asset, stamp.interval) != (self.asset, self.interval):
            raise SeriesMismatch(
                channel=self.spec.key,
                asset=self.asset,
                interval=self.interval,
                given_asset=stamp.asset,
                given_interval=stamp.interval,
            )
        return stamp


def compute_channel(spec: ChannelSpec, observations: Iterable[Observation]) -> list[FeaturePoint]:
    """Compute a channel over one series (the first observation's) from its start.

    Observations must be in time order; one at or before the last folded one is skipped,
    as in :meth:`ChannelRunner.feed`.
    """
    iterator = iter(observations)
    first = next(iterator, None)
    if first is None:
        return []
    if not isinstance(first, spec.reads):
        raise ObservationMismatch(
            channel=spec.key, expected=spec.reads.__name__, given=type(first).__name__
        )
    stamp = stamp_of(first)
    runner = ChannelRunner(spec, stamp.asset, stamp.interval)
    return runner.feed_all(chain([first], iterator))
