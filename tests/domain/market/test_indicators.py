"""Indicators against independent pandas references on real candles, hand vectors, and state.

The references are written the textbook way with pandas (``ewm(adjust=False)`` after an
explicit SMA seed, Wilder as ``ewm(alpha=1/n)``, ``rolling().std(ddof=1)``) on floats
parsed by ``read_csv``, independently of the Decimal code under test. Values are compared
with a relative tolerance of 1e-9 and no absolute floor, except for macd: its parts are
differences of EMAs at the price level and pass near zero at crossovers, where float
cancellation reaches ~1e-15 of the price level, so they get a floor of 1e-14 of it.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal, getcontext, localcontext
from functools import cache
from pathlib import Path

import pandas as pd
import pytest

from domain.market.indicators import (
    Indicator,
    IndicatorStateInvalid,
    ObservationMismatch,
    ParamOutOfRange,
    WrongParamCount,
)
from domain.market.indicators_series import Funding, Probability, TvlChange
from domain.market.indicators_trend import Ema, Macd, Returns, Rsi
from domain.market.indicators_volatility import Atr, NonPositivePrice, RealizedVol, VolumeZ
from domain.market.model import Candle, FundingRate, PricePoint, TvlPoint

CANDLE_DIRS = (
    Path(__file__).resolve().parents[3] / "adapters" / "bundled" / "candles",
    Path("/work/shared/data/candles"),
)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
T0 = datetime(2024, 1, 1, tzinfo=UTC)
REL = 1e-9
FILES = ("btc_usdt_1h", "eth_usdt_5m")


def candle_path(name: str) -> Path:
    """Return the CSV of ``name`` (``btc_usdt_1h``), bundled copy first."""
    for folder in CANDLE_DIRS:
        if (folder / f"{name}.csv").exists():
            return folder / f"{name}.csv"
    raise FileNotFoundError(f"{name}.csv in {[str(folder) for folder in CANDLE_DIRS]}")


@cache
def load_candles(name: str) -> tuple[Candle, ...]:
    """Return the real candles of ``name`` as Decimal candles (open time from ``ts_ms``)."""
    asset, _, interval = name.split("_")
    with candle_path(name).open(newline="") as handle:
        return tuple(
            Candle(
                asset=asset.upper(),
                interval=interval,
                open_time=EPOCH + timedelta(milliseconds=int(row["ts_ms"])),
                open=Decimal(row["open"]),
                high=Decimal(row["high"]),
                low=Decimal(row["low"]),
                close=Decimal(row["close"]),
                volume=Decimal(row["volume"]),
            )
            for row in csv.DictReader(handle)
        )


@cache
def load_frame(name: str) -> pd.DataFrame:
    return pd.read_csv(candle_path(name))


def a_candle(
    close: str, *, high: str | None = None, low: str | None = None, volume: str = "1", i: int = 0
) -> Candle:
    price = Decimal(close)
    return Candle(
        asset="BTC",
        interval="1h",
        open_time=T0 + timedelta(hours=i),
        open=price,
        high=price if high is None else Decimal(high),
        low=price if low is None else Decimal(low),
        close=price,
        volume=Decimal(volume),
    )


def closes(*values: str) -> list[Candle]:
    return [a_candle(value, i=i) for i, value in enumerate(values)]


def run(indicator: Indicator[Candle], candles: Sequence[Candle]) -> list[Decimal | None]:
    return [indicator.update(candle) for candle in candles]


# --- pandas references -------------------------------------------------------------------


def seeded_ewm(values: pd.Series, n: int, alpha: float) -> pd.Series:
    """EWM (adjust=False) whose first value is the mean of the first n values; NaN before."""
    present = values.dropna()
    seeded = present.iloc[n - 1 :].copy()
    seeded.iloc[0] = present.iloc[:n].mean()
    return seeded.ewm(alpha=alpha, adjust=False).mean().reindex(values.index)


def ref_returns(frame: pd.DataFrame, n: int) -> pd.Series:
    return frame.close / frame.close.shift(n) - 1


def ref_ema(frame: pd.DataFrame, n: int) -> pd.Series:
    return seeded_ewm(frame.close, n, 2 / (n + 1))


def ref_rsi(frame: pd.DataFrame, n: int) -> pd.Series:
    change = frame.close.diff()
    gain = seeded_ewm(change.clip(lower=0), n, 1 / n)
    loss = seeded_ewm((-change).clip(lower=0), n, 1 / n)
    return 100 - 100 / (1 + gain / loss)


def ref_macd(frame: pd.DataFrame, fast: int, slow: int, signal: int) -> pd.DataFrame:
    line = ref_ema(frame, fast) - ref_ema(frame, slow)
    signal_line = seeded_ewm(line, signal, 2 / (signal + 1))
    valid = signal_line.notna()
    return pd.DataFrame(
        {"macd": line.where(valid), "signal": signal_line, "histogram": line - signal_line}
    )


def ref_atr(frame: pd.DataFrame, n: int) -> pd.Series:
    previous = frame.close.shift()
    ranges = [frame.high - frame.low, (frame.high - previous).abs(), (frame.low - previous).abs()]
    true_range = pd.concat(ranges, axis=1).max(axis=1, skipna=False)
    return seeded_ewm(true_range, n, 1 / n)


def ref_realized_vol(frame: pd.DataFrame, n: int) -> pd.Series:
    log_returns = (frame.close / frame.close.shift()).apply(math.log)
    return log_returns.rolling(n).std(ddof=1)


def ref_volume_z(frame: pd.DataFrame, n: int) -> pd.Series:
    window = frame.volume.rolling(n)
    return (frame.volume - window.mean()) / window.std(ddof=1)


def assert_matches(actual: Sequence[Decimal | None], expected: pd.Series, abs_tol: float) -> None:
    reference = expected.tolist()
    assert [value is None for value in actual] == [math.isnan(value) for value in reference]
    far = [
        (i, value, want)
        for i, (value, want) in enumerate(zip(actual, reference, strict=True))
        if value is not None and not math.isclose(float(value), want, rel_tol=REL, abs_tol=abs_tol)
    ]
    assert far[:5] == []


# Each case: a fresh indicator and its pandas reference.
CASES: dict[str, tuple[Callable[[], Indicator[Candle]], Callable[[pd.DataFrame], pd.Series]]] = {
    "returns:1": (lambda: Returns(1), lambda f: ref_returns(f, 1)),
    "returns:24": (lambda: Returns(24), lambda f: ref_returns(f, 24)),
    "ema:1": (lambda: Ema(1), lambda f: ref_ema(f, 1)),
    "ema:20": (lambda: Ema(20), lambda f: ref_ema(f, 20)),
    "ema:200": (lambda: Ema(200), lambda f: ref_ema(f, 200)),
    "rsi:14": (lambda: Rsi(14), lambda f: ref_rsi(f, 14)),
    "atr:14": (lambda: Atr(14), lambda f: ref_atr(f, 14)),
    "realized_vol:20": (lambda: RealizedVol(20), lambda f: ref_realized_vol(f, 20)),
    "volume_z:20": (lambda: VolumeZ(20), lambda f: ref_volume_z(f, 20)),
}


@pytest.mark.parametrize("name", FILES)
@pytest.mark.parametrize("case", CASES)
def test_indicator_on_real_candles_matches_pandas_reference(name: str, case: str) -> None:
    # Arrange
    factory, reference = CASES[case]
    frame = load_frame(name)

    # Act
    values = run(factory(), load_candles(name))

    # Assert
    assert_matches(values, reference(frame), abs_tol=0.0)


@pytest.mark.parametrize("name", FILES)
def test_macd_on_real_candles_matches_pandas_reference_in_every_component(name: str) -> None:
    # Arrange
    frame = load_frame(name)
    floor = 1e-14 * float(frame.close.mean())
    macd = Macd(12, 26, 9)

    # Act
    steps = [(macd.update(candle), dict(macd.components())) for candle in load_candles(name)]

    # Assert
    reference = ref_macd(frame, 12, 26, 9)
    assert_matches([value for value, _ in steps], reference.histogram, floor)
    for part in ("macd", "signal", "histogram"):
        parts = [components.get(part) if value is not None else None for value, components in steps]
        assert_matches(parts, reference[part], floor)


# --- hand-computed vectors ------------------------------------------------------------------


def test_ema_small_vector_seeds_with_sma_then_smooths() -> None:
    # Arrange: alpha = 2/4; seed = mean(1, 2, 3) = 2; then 2 + (4-2)/2 = 3; 3 + (6-3)/2 = 4.5.
    candles = closes("1", "2", "3", "4", "6")

    # Act
    values = run(Ema(3), candles)

    # Assert
    assert values == [None, None, Decimal(2), Decimal(3), Decimal("4.5")]


def test_returns_small_vector_compares_with_n_bars_ago() -> None:
    # Arrange
    candles = closes("100", "0", "121", "5", "0")

    # Act
    values = run(Returns(2), candles)

    # Assert: 121/100 - 1; then a zero base is undefined; then 0/121 - 1.
    assert values == [None, None, Decimal("0.21"), None, Decimal(-1)]


def test_rsi_small_vector_uses_wilder_seeding() -> None:
    # Arrange: changes +1, -1, +2, -1 with n = 2.
    # seed: gain 0.5, loss 0.5 -> 50; then gain 1.25, loss 0.25 -> 83.33...;
    # then gain 0.625, loss 0.625 -> 50.
    candles = closes("10", "11", "10", "12", "11")

    # Act
    values = run(Rsi(2), candles)

    # Assert
    assert values[:3] == [None, None, Decimal(50)]
    assert values[3] == Decimal(100) * Decimal("1.25") / Decimal("1.5")
    assert values[4] == Decimal(50)


@pytest.mark.parametrize(
    ("prices", "expected"),
    [(("5", "5", "5"), Decimal(50)), (("5", "6", "7"), Decimal(100)), (("7", "6", "5"), 0)],
)
def test_rsi_flat_rising_or_falling_prices_give_50_100_or_0(
    prices: tuple[str, ...], expected: Decimal
) -> None:
    # Arrange
    candles = closes(*prices)

    # Act
    values = run(Rsi(2), candles)

    # Assert
    assert values[-1] == expected


def test_macd_small_vector_value_is_histogram() -> None:
    # Arrange: macd(2, 3, 2) on 1,2,3,4,5,10: ema2 = 1.5, 2.5, 3.5, 4.5, 49/6; ema3 = 2, 3, 4, 7;
    # line = 1/2, 1/2, 1/2, 7/6; signal seeds at 1/2 then 1/2 + (7/6 - 1/2) * 2/3 = 17/18.
    macd = Macd(2, 3, 2)

    # Act
    values = run(macd, closes("1", "2", "3", "4", "5", "10"))

    # Assert
    assert values[:3] == [None, None, None]
    assert values[3:5] == [0, 0]
    parts = dict(macd.components())
    assert values[5] == parts["histogram"]
    assert abs(parts["histogram"] - Decimal(2) / 9) < Decimal("1e-25")
    assert abs(parts["macd"] - Decimal(7) / 6) < Decimal("1e-25")
    assert abs(parts["signal"] - Decimal(17) / 18) < Decimal("1e-25")


def test_atr_small_vector_skips_first_candle_and_uses_wilder() -> None:
    # Arrange: true ranges 3, 4, 5 after the first candle; seed (3+4)/2 = 3.5, then
    # 3.5 + (5 - 3.5)/2 = 4.25.
    candles = [
        a_candle("9", high="10", low="8", i=0),
        a_candle("11", high="12", low="9", i=1),
        a_candle("8", high="11", low="7", i=2),
        a_candle("12", high="13", low="10", i=3),
    ]

    # Act
    values = run(Atr(2), candles)

    # Assert
    assert values == [None, None, Decimal("3.5"), Decimal("4.25")]


def test_realized_vol_small_vector_is_sample_std_of_log_returns() -> None:
    # Arrange: log returns ln(1.1) and ln(0.9); sample std of two = |a - b| / sqrt(2).
    candles = closes("100", "110", "99")
    a, b = Decimal("1.1").ln(), Decimal("0.9").ln()

    # Act
    values = run(RealizedVol(2), candles)

    # Assert
    assert values[:2] == [None, None]
    assert values[2] is not None
    assert abs(values[2] - abs(a - b) / Decimal(2).sqrt()) < Decimal("1e-25")


def test_realized_vol_non_positive_close_raises() -> None:
    # Arrange
    vol = RealizedVol(2)
    vol.update(a_candle("100"))

    # Act / Assert
    with pytest.raises(NonPositivePrice):
        vol.update(a_candle("0", i=1))


def test_volume_z_small_vector_and_constant_volume_gives_zero() -> None:
    # Arrange: volumes 1, 2, 3 -> mean 2, sample std 1 -> z = 1; then 5, 5, 5 -> std 0 -> 0.
    volumes = ("1", "2", "3", "5", "5", "5")
    candles = [a_candle("1", volume=v, i=i) for i, v in enumerate(volumes)]

    # Act
    values = run(VolumeZ(3), candles)

    # Assert
    assert values[:3] == [None, None, Decimal(1)]
    assert values[-1] == 0


def test_point_series_pass_values_through_and_tvl_change_compares_n_points_ago() -> None:
    # Arrange
    funding = FundingRate(asset="BTC", time=T0, rate=Decimal("0.0000125"))
    price = PricePoint(token_id="tok", time=T0, price=Decimal("0.63"))
    tvls = [TvlPoint("chain:*", T0 + timedelta(days=i), Decimal(v)) for i, v in enumerate("24080")]

    # Act
    tvl_changes = run_points(TvlChange(1), tvls)

    # Assert
    assert Funding().update(funding) == Decimal("0.0000125")
    assert Probability().update(price) == Decimal("0.63")
    assert tvl_changes == [None, Decimal(1), Decimal(-1), None, Decimal(-1)]


def run_points(indicator: TvlChange, points: Sequence[TvlPoint]) -> list[Decimal | None]:
    return [indicator.update(point) for point in points]


# --- numbers: context isolation ----------------------------------------------------------------


def test_indicator_ignores_and_preserves_the_callers_decimal_context() -> None:
    # Arrange
    candles = load_candles("eth_usdt_5m")[:300]
    expected = run(Ema(20), candles)
    precision_before = getcontext().prec

    # Act
    with localcontext() as caller:
        caller.prec = 5
        values = run(Ema(20), candles)

    # Assert
    assert values == expected
    assert getcontext().prec == precision_before


# --- parameters and observation types ----------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "error"),
    [
        (lambda: Ema(0), ParamOutOfRange),
        (lambda: Ema(1001), ParamOutOfRange),
        (lambda: RealizedVol(1), ParamOutOfRange),
        (lambda: VolumeZ(1), ParamOutOfRange),
        (lambda: Macd(26, 12, 9), ParamOutOfRange),
        (lambda: Macd(12, 12, 9), ParamOutOfRange),
        (lambda: Rsi.from_params((14, 2)), WrongParamCount),
        (lambda: Funding.from_params((1,)), WrongParamCount),
    ],
)
def test_indicator_params_out_of_range_raise(
    build: Callable[[], object], error: type[Exception]
) -> None:
    # Act / Assert
    with pytest.raises(error):
        build()


def test_indicator_accept_other_observation_type_raises_observation_mismatch() -> None:
    # Arrange
    funding = FundingRate(asset="BTC", time=T0, rate=Decimal(0))

    # Act / Assert
    with pytest.raises(ObservationMismatch, match="expected='Candle'"):
        Ema(3).accept(funding)


# --- state round trip -------------------------------------------------------------------------

ROUND_TRIP: dict[str, Callable[[], Indicator[Candle]]] = {
    "returns:3": lambda: Returns(3),
    "ema:20": lambda: Ema(20),
    "macd:12,26,9": lambda: Macd(12, 26, 9),
    "rsi:14": lambda: Rsi(14),
    "atr:14": lambda: Atr(14),
    "realized_vol:20": lambda: RealizedVol(20),
    "volume_z:20": lambda: VolumeZ(20),
}


@pytest.mark.parametrize("cut", [0, 1, 13, 25, 34, 300])
@pytest.mark.parametrize("case", ROUND_TRIP)
def test_indicator_restored_mid_stream_continues_exactly_like_uninterrupted(
    case: str, cut: int
) -> None:
    # Arrange
    candles = load_candles("eth_usdt_5m")[:400]
    whole = ROUND_TRIP[case]()
    expected = [(whole.update(c), whole.components()) for c in candles]
    first = ROUND_TRIP[case]()
    run(first, candles[:cut])

    # Act: the state survives JSON, as a store would keep it.
    dumped = json.loads(json.dumps(first.state()))
    second = type(first).restore(first.params, dumped)
    resumed = [(second.update(c), second.components()) for c in candles[cut:]]

    # Assert: equal and with the same digits and exponents.
    assert second.params == first.params
    assert repr(resumed) == repr(expected[cut:])
    assert second.state() == whole.state()


def test_point_indicator_restored_mid_stream_continues_exactly() -> None:
    # Arrange
    points = [TvlPoint("chain:*", T0 + timedelta(days=i), Decimal(100 + i * i)) for i in range(9)]
    whole = run_points(TvlChange(3), points)
    first = TvlChange(3)
    run_points(first, points[:4])

    # Act
    second = TvlChange.restore((3,), json.loads(json.dumps(first.state())))

    # Assert
    assert run_points(second, points[4:]) == whole[4:]


@pytest.mark.parametrize(
    ("state", "key"),
    [
        ({}, "ema.seen"),
        ({"ema.seen": "x", "ema.total": "0", "ema.value": ""}, "ema.seen"),
        ({"ema.seen": "4", "ema.total": "0", "ema.value": ""}, "ema.seen"),
        ({"ema.seen": "1", "ema.total": "abc", "ema.value": ""}, "ema.total"),
        ({"ema.seen": "3", "ema.total": "1", "ema.value": "NaN"}, "ema.value"),
        ({"ema.seen": "3", "ema.total": "1", "ema.value": ""}, "ema.value"),
    ],
)
def test_indicator_restore_invalid_state_raises_naming_the_key(
    state: dict[str, str], key: str
) -> None:
    # Act / Assert
    with pytest.raises(IndicatorStateInvalid, match=f"key='{key}'"):
        Ema.restore((3,), state)


def test_indicator_restore_window_longer_than_n_raises() -> None:
    # Act / Assert
    with pytest.raises(IndicatorStateInvalid, match="key='volumes'"):
        VolumeZ.restore((2,), {"volumes": "1,2,3"})
