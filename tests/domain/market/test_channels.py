"""Channel keys, stamping, the incremental runner (idempotent, resumable) and no look-ahead.

The no-look-ahead property is checked on real candles (including the 1h outage gaps): for
any window and any cut time t, the points knowable by t computed from all candles equal
the points computed from only the candles closed by t.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.market.channels import (
    KINDS,
    ChannelKeyMalformed,
    ChannelRunner,
    ChannelSpec,
    SeriesMismatch,
    UnknownChannelKind,
    build,
    compute_channel,
)
from domain.market.indicators import (
    FeatureError,
    ObservationMismatch,
    ParamOutOfRange,
    WrongParamCount,
)
from domain.market.indicators_trend import Ema
from domain.market.intervals import UnknownInterval
from domain.market.model import Candle, FundingRate, PricePoint, TvlPoint
from tests.domain.market.test_indicators import FILES, T0, load_candles

FAST = settings(max_examples=60, deadline=None)
VALID_KEYS = (
    "returns:1",
    "ema:20",
    "ema:1000",
    "macd:12,26,9",
    "rsi:14",
    "atr:14",
    "realized_vol:20",
    "volume_z:2",
    "funding",
    "probability",
    "tvl_change:7",
)
CANDLE_SPECS = tuple(
    ChannelSpec.parse(key)
    for key in (
        "returns:3",
        "ema:10",
        "macd:5,13,4",
        "rsi:7",
        "atr:7",
        "realized_vol:6",
        "volume_z:6",
    )
)


def btc_1h() -> tuple[Candle, ...]:
    return load_candles("btc_usdt_1h")


def gap_indices(candles: tuple[Candle, ...]) -> list[int]:
    """Return the indices of candles that follow a gap."""
    return [
        i
        for i in range(1, len(candles))
        if candles[i].open_time - candles[i - 1].open_time > candles[i].length
    ]


# --- keys ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", VALID_KEYS)
def test_channel_spec_parse_valid_key_round_trips(key: str) -> None:
    # Act
    spec = ChannelSpec.parse(key)

    # Assert
    assert spec.key == key
    assert ChannelSpec(spec.kind, spec.params) == spec


def test_channel_spec_key_joins_params_with_commas() -> None:
    # Act / Assert
    assert ChannelSpec("macd", (12, 26, 9)).key == "macd:12,26,9"
    assert ChannelSpec("funding").key == "funding"


@pytest.mark.parametrize(
    ("key", "error", "message"),
    [
        ("foo:1", UnknownChannelKind, "kind='foo'"),
        ("EMA:20", UnknownChannelKind, "kind='EMA'"),
        ("ema", WrongParamCount, "expected=('n',)"),
        ("ema:20,5", WrongParamCount, "given=(20, 5)"),
        ("macd:12,26", WrongParamCount, "expected=('fast', 'slow', 'signal')"),
        ("funding:1", WrongParamCount, "expected=()"),
        ("ema:0", ParamOutOfRange, "minimum=1"),
        ("ema:1001", ParamOutOfRange, "maximum=1000"),
        ("realized_vol:1", ParamOutOfRange, "minimum=2"),
        ("volume_z:1", ParamOutOfRange, "minimum=2"),
        ("macd:26,12,9", ParamOutOfRange, "param='slow'"),
        ("macd:12,12,9", ParamOutOfRange, "minimum=13"),
        ("ema:", ChannelKeyMalformed, "key='ema:'"),
        ("ema:020", ChannelKeyMalformed, "key='ema:020'"),
        ("ema: 20", ChannelKeyMalformed, "key='ema: 20'"),
        ("ema:-5", ChannelKeyMalformed, "key='ema:-5'"),
        ("ema:2.5", ChannelKeyMalformed, "key='ema:2.5'"),
        ("ema:20,", ChannelKeyMalformed, "key='ema:20,'"),
        ("ema:\u0662\u0660", ChannelKeyMalformed, "key="),
    ],
)
def test_channel_spec_parse_bad_key_raises_a_named_feature_error(
    key: str, error: type[FeatureError], message: str
) -> None:
    # Act / Assert
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        ChannelSpec.parse(key)


def test_channel_spec_built_directly_is_validated_too() -> None:
    # Act / Assert
    with pytest.raises(ParamOutOfRange):
        ChannelSpec("atr", (0,))
    with pytest.raises(UnknownChannelKind):
        ChannelSpec("vwap", (20,))


@pytest.mark.parametrize("key", VALID_KEYS)
def test_build_returns_the_kinds_indicator_with_the_specs_params(key: str) -> None:
    # Arrange
    spec = ChannelSpec.parse(key)

    # Act
    indicator = build(spec)

    # Assert
    assert type(indicator) is KINDS[spec.kind]
    assert indicator.params == spec.params


# --- compute_channel --------------------------------------------------------------------------


def test_compute_channel_stamps_each_point_with_its_candles_close_time() -> None:
    # Arrange
    candles = btc_1h()
    expected = [value for value in map(Ema(20).update, candles) if value is not None]

    # Act
    points = compute_channel(ChannelSpec.parse("ema:20"), candles)

    # Assert
    assert [point.value for point in points] == expected
    assert [point.open_time for point in points] == [c.open_time for c in candles[19:]]
    assert all(p.knowable_at == p.open_time + timedelta(hours=1) for p in points)
    assert {(p.channel_key, p.asset, p.interval, p.components) for p in points} == {
        ("ema:20", "BTC", "1h", ())
    }


def test_compute_channel_macd_points_carry_all_three_components() -> None:
    # Act
    points = compute_channel(ChannelSpec.parse("macd:12,26,9"), load_candles("eth_usdt_5m"))

    # Assert
    assert len(points) == 4032 - (26 + 9 - 2)
    assert all(p.value == p.component("histogram") for p in points)
    parts = [dict(p.components) for p in points]
    assert all(
        part["macd"] - part["signal"] == p.value for part, p in zip(parts, points, strict=True)
    )
    assert points[0].component("missing") is None


def test_compute_channel_after_a_gap_continues_from_the_last_available_candle() -> None:
    # Arrange: 2020-12-21 14:00 is followed by 18:00 (three missing hours).
    candles = btc_1h()
    after = next(i for i in gap_indices(candles) if candles[i].open_time.day == 21)
    before, first = candles[after - 1], candles[after]

    # Act
    points = compute_channel(ChannelSpec.parse("returns:1"), candles)

    # Assert
    point = next(p for p in points if p.open_time == first.open_time)
    assert (before.open_time.hour, first.open_time.hour) == (14, 18)
    assert point.value == first.close / before.close - 1
    assert point.knowable_at == first.close_time
    assert len(points) == len(candles) - 1


def test_compute_channel_point_series_are_stamped_at_their_own_time() -> None:
    # Arrange
    times = [T0 + timedelta(hours=i) for i in range(3)]
    rates = [FundingRate("ETH", t, Decimal(f"0.0000{i}")) for i, t in enumerate(times)]
    prices = [PricePoint("tok-1", t, Decimal("0.5") + i) for i, t in enumerate(times)]
    tvls = [TvlPoint("protocol:aave", t, Decimal(100 * (i + 1))) for i, t in enumerate(times)]

    # Act
    funding = compute_channel(ChannelSpec.parse("funding"), rates)
    probability = compute_channel(ChannelSpec.parse("probability"), prices)
    tvl = compute_channel(ChannelSpec.parse("tvl_change:2"), tvls)

    # Assert
    assert [p.value for p in funding] == [r.rate for r in rates]
    assert [p.value for p in probability] == [p.price for p in prices]
    assert [(p.asset, p.value, p.knowable_at) for p in tvl] == [
        ("protocol:aave", Decimal(2), times[2])
    ]
    assert all(p.interval is None and p.open_time == p.knowable_at for p in funding)
    assert {p.asset for p in funding} == {"ETH"}
    assert {p.asset for p in probability} == {"tok-1"}


def test_compute_channel_empty_input_gives_no_points() -> None:
    # Act / Assert
    assert compute_channel(ChannelSpec.parse("rsi:14"), []) == []


def test_compute_channel_wrong_observation_type_raises_observation_mismatch() -> None:
    # Arrange
    rates = [FundingRate("BTC", T0, Decimal(0))]

    # Act / Assert
    with pytest.raises(ObservationMismatch, match="expected='Candle' given='FundingRate'"):
        compute_channel(ChannelSpec.parse("ema:3"), rates)


def test_compute_channel_two_assets_raises_series_mismatch() -> None:
    # Arrange
    btc, eth = load_candles("btc_usdt_5m")[:3], load_candles("eth_usdt_5m")[3:6]

    # Act / Assert
    with pytest.raises(SeriesMismatch, match="given_asset='ETH'"):
        compute_channel(ChannelSpec.parse("ema:3"), [*btc, *eth])


# --- ChannelRunner -------------------------------------------------------------------------------


def test_runner_feeding_the_same_candle_twice_changes_nothing() -> None:
    # Arrange
    candles = load_candles("eth_usdt_5m")[:40]
    runner = ChannelRunner(ChannelSpec.parse("rsi:14"), "ETH", "5m")
    runner.feed_all(candles[:30])
    before = runner.checkpoint()

    # Act
    again = runner.feed(candles[29])
    replayed = runner.feed_all(candles[:30])

    # Assert
    assert again is None
    assert replayed == []
    assert runner.checkpoint() == before
    assert runner.feed_all(candles[30:]) == compute_channel(runner.spec, candles)[-10:]


def test_runner_resumed_from_checkpoint_with_overlapping_replay_equals_uninterrupted() -> None:
    # Arrange: a restart replays a page that overlaps what was already folded.
    spec = ChannelSpec.parse("macd:12,26,9")
    candles = btc_1h()[:600]
    expected = compute_channel(spec, candles)
    first = ChannelRunner(spec, "BTC", "1h")
    before = first.feed_all(candles[:250])

    # Act
    second = ChannelRunner.resume(spec, "BTC", "1h", first.checkpoint())
    after = second.feed_all(candles[200:])

    # Assert
    assert before + after == expected


@pytest.mark.parametrize(
    ("candle", "match"),
    [
        (replace(load_candles("btc_usdt_1h")[0], asset="ETH"), "given_asset='ETH'"),
        (replace(load_candles("btc_usdt_1h")[0], interval="5m"), "given_interval='5m'"),
    ],
)
def test_runner_other_series_raises_series_mismatch(candle: Candle, match: str) -> None:
    # Arrange
    runner = ChannelRunner(ChannelSpec.parse("ema:3"), "BTC", "1h")

    # Act / Assert
    with pytest.raises(SeriesMismatch, match=match):
        runner.feed(candle)


def test_runner_other_observation_type_raises_observation_mismatch() -> None:
    # Arrange
    runner = ChannelRunner(ChannelSpec.parse("funding"), "BTC", None)

    # Act / Assert
    with pytest.raises(ObservationMismatch, match="expected='FundingRate' given='Candle'"):
        runner.feed(btc_1h()[0])


@pytest.mark.parametrize(
    ("key", "interval", "error"),
    [
        ("ema:3", None, SeriesMismatch),
        ("funding", "1h", SeriesMismatch),
        ("ema:3", "7m", UnknownInterval),
    ],
)
def test_runner_interval_that_does_not_fit_the_kind_raises(
    key: str, interval: str | None, error: type[Exception]
) -> None:
    # Act / Assert
    with pytest.raises(error):
        ChannelRunner(ChannelSpec.parse(key), "BTC", interval)


# --- properties ---------------------------------------------------------------------------------

GAP_STARTS = [max(0, i - 30) for i in gap_indices(btc_1h())]


@st.composite
def candle_windows(draw: st.DrawFn) -> tuple[Candle, ...]:
    name = draw(st.sampled_from(FILES))
    candles = load_candles(name)
    anywhere = st.integers(min_value=0, max_value=len(candles) - 2)
    starts = st.one_of(anywhere, st.sampled_from(GAP_STARTS)) if name == FILES[0] else anywhere
    start = draw(starts)
    return candles[start : start + draw(st.integers(min_value=1, max_value=120))]


@FAST
@given(window=candle_windows(), spec=st.sampled_from(CANDLE_SPECS), data=st.data())
def test_channel_points_knowable_by_t_equal_those_from_candles_closed_by_t(
    window: tuple[Candle, ...], spec: ChannelSpec, data: st.DataObject
) -> None:
    # Arrange: any cut time between the first open and the last close, to the second.
    span = int((window[-1].close_time - window[0].open_time).total_seconds())
    cut = window[0].open_time + timedelta(seconds=data.draw(st.integers(0, span), label="cut"))
    closed_by_cut = [candle for candle in window if candle.close_time <= cut]

    # Act
    from_all = compute_channel(spec, window)
    from_closed = compute_channel(spec, closed_by_cut)

    # Assert
    assert [point for point in from_all if point.knowable_at <= cut] == from_closed
    producers = {candle.open_time: candle for candle in window}
    assert all(p.knowable_at == producers[p.open_time].close_time for p in from_all)


@FAST
@given(window=candle_windows(), spec=st.sampled_from(CANDLE_SPECS), data=st.data())
def test_runner_with_random_replays_equals_a_single_pass(
    window: tuple[Candle, ...], spec: ChannelSpec, data: st.DataObject
) -> None:
    # Arrange: after each candle, maybe replay a random earlier stretch of the window.
    stream: list[Candle] = []
    for i, candle in enumerate(window):
        stream.append(candle)
        start = data.draw(st.integers(0, i), label="replay from")
        if data.draw(st.booleans(), label="replay"):
            stream.extend(window[start : i + 1])
    runner = ChannelRunner(spec, window[0].asset, window[0].interval)

    # Act
    points = runner.feed_all(stream)

    # Assert
    assert points == compute_channel(spec, window)
