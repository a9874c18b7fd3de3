"""Source payload parsing: exact numbers, named field paths, whole-payload acceptance."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from domain.market.intervals import UnknownInterval
from domain.market.model import MarginTier
from domain.market.payloads import Field, PayloadError, SourceError, decode_json
from domain.market.payloads_defillama import parse_historical_chain_tvl, parse_pools
from domain.market.payloads_hyperliquid import (
    parse_all_mids,
    parse_candles,
    parse_funding_history,
    parse_meta,
    parse_meta_and_asset_ctxs,
)
from domain.market.payloads_polymarket import parse_book, parse_gamma_markets, parse_prices_history
from domain.market.sources import ProtocolSummary, is_extra_tvl_key

NOW = datetime(2026, 2, 6, 12, tzinfo=UTC)
T0 = 1_770_375_600_000  # 2026-02-06 11:00 UTC, in ms
HOUR_MS = 3_600_000


def field_of(error: pytest.ExceptionInfo[PayloadError]) -> str:
    return error.value.field


def read(value: object) -> Field:
    return Field.root(value, "test", "/thing")


# --- reading values ---------------------------------------------------------------------


@pytest.mark.parametrize("text", ["0.000003688", "-0.00061334", "12377419030.3486595154", "1E-7"])
def test_decimal_strings_are_read_exactly(text: str) -> None:
    assert read(text).decimal() == Decimal(text)
    assert str(read(text).decimal()) == str(Decimal(text))


@pytest.mark.parametrize("value", [0.5, 5, True, None, "NaN", "Infinity", "1_000", " 1", "", "0x1"])
def test_anything_but_a_plain_decimal_string_is_refused(value: object) -> None:
    with pytest.raises(PayloadError, match="must be a decimal string"):
        read(value).decimal()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.151, "0.151"),
        (1e-05, "0.00001"),
        (25814545.294374414, "25814545.294374414"),
        (7, "7"),
        (Decimal("0.1000000000000000055511"), "0.1000000000000000055511"),
    ],
)
def test_json_numbers_keep_their_printed_value(value: object, expected: str) -> None:
    assert read(value).number() == Decimal(expected)


@pytest.mark.parametrize("value", [True, "0.1", float("nan"), float("inf"), Decimal("NaN"), None])
def test_booleans_strings_and_non_finite_numbers_are_not_numbers(value: object) -> None:
    with pytest.raises(PayloadError, match="must be a"):
        read(value).number()


@pytest.mark.parametrize("value", [True, 5.0, Decimal(5), "5"])
def test_integers_must_be_json_integers(value: object) -> None:
    with pytest.raises(PayloadError, match="must be an integer"):
        read(value).integer()


def test_instants_need_an_offset() -> None:
    assert read("2028-11-07T00:00:00Z").instant() == datetime(2028, 11, 7, tzinfo=UTC)
    with pytest.raises(PayloadError, match="UTC offset"):
        read("2028-11-07T00:00:00").instant()


def test_paths_name_members_and_indexes() -> None:
    payload = {"universe": [{"n": 1}, {"n": 2}, {"n": 3}, {"n": "4"}]}
    with pytest.raises(PayloadError) as caught:
        [row.key("n").integer() for row in read(payload).key("universe").items()]
    assert field_of(caught) == "universe[3].n"
    assert str(caught.value).startswith("source=test endpoint=/thing field=universe[3].n detail=")
    assert isinstance(caught.value, SourceError)


def test_decode_json_keeps_fractions_exact_and_refuses_nan() -> None:
    assert decode_json(b'{"p": 0.1}', "s", "/e") == {"p": Decimal("0.1")}
    for bad in (b'{"p": NaN}', b"\xff\xfe", b"[1,"):
        with pytest.raises(PayloadError, match="not JSON"):
            decode_json(bad, "s", "/e")


# --- Hyperliquid ------------------------------------------------------------------------


def universe_row(name: str, table: int | None = None, **flags: object) -> dict[str, object]:
    row: dict[str, object] = {"szDecimals": 2, "name": name, "maxLeverage": 10, **flags}
    if table is not None:
        row["marginTableId"] = table
    return row


def test_margin_table_ids_below_50_are_single_implicit_tiers() -> None:
    meta = {"universe": [universe_row("ATOM", 5), universe_row("OLD")], "marginTables": []}
    atom, old = parse_meta(meta)
    assert atom.margin_tiers == (MarginTier(Decimal(0), 5),)
    assert old.margin_tiers == (MarginTier(Decimal(0), 10),)  # 2023 shape: no id at all


@pytest.mark.parametrize("table", [0, 57])
def test_an_undefined_margin_table_is_refused(table: int) -> None:
    with pytest.raises(PayloadError) as caught:
        parse_meta({"universe": [universe_row("X", table)], "marginTables": []})
    assert field_of(caught) == "universe[0].marginTableId"


def test_a_table_without_tiers_is_refused() -> None:
    meta = {"universe": [], "marginTables": [[50, {"description": "", "marginTiers": []}]]}
    with pytest.raises(PayloadError) as caught:
        parse_meta(meta)
    assert field_of(caught) == "marginTables[0][1].marginTiers"


def a_context(mark: str | None) -> dict[str, object]:
    return {"funding": "0.0000125", "openInterest": "1.5", "oraclePx": "10.0", "markPx": mark}


def test_contexts_align_by_index_and_an_unpriced_asset_keeps_its_spec() -> None:
    meta = {"universe": [universe_row("A"), universe_row("B", isDelisted=True), universe_row("C")]}
    specs, contexts = parse_meta_and_asset_ctxs(
        [meta, [a_context("1.0"), a_context(None), a_context("3.0")]], NOW
    )
    assert [(spec.index, spec.name, spec.delisted) for spec in specs] == [
        (0, "A", False),
        (1, "B", True),
        (2, "C", False),
    ]
    assert [(context.asset, context.mark) for context in contexts] == [
        ("A", Decimal("1.0")),
        ("C", Decimal("3.0")),
    ]


def test_contexts_of_another_length_are_refused() -> None:
    meta = {"universe": [universe_row("A"), universe_row("B")]}
    with pytest.raises(PayloadError, match="1 contexts for 2 universe rows") as caught:
        parse_meta_and_asset_ctxs([meta, [a_context("1.0")]], NOW)
    assert field_of(caught) == "[1]"


def candle(open_ms: int, **changes: object) -> dict[str, object]:
    row = {"t": open_ms, "T": open_ms + HOUR_MS - 1, "s": "BTC", "i": "1h", "o": "1", "h": "2"}
    return {**row, "l": "0.5", "c": "1.5", "v": "10", "n": 4, **changes}


def test_a_candle_closing_after_now_is_left_out() -> None:
    closed_at_now, forming = candle(T0 - HOUR_MS), candle(T0)  # T = T0 - 1 ms, T0 + 1 h - 1 ms
    now = datetime.fromtimestamp(T0 / 1000, UTC) - timedelta(milliseconds=1)
    candles = parse_candles([closed_at_now, forming], "BTC", "1h", now)
    assert [c.open_time for c in candles] == [datetime.fromtimestamp((T0 - HOUR_MS) / 1000, UTC)]
    assert candles[0].close_time == datetime.fromtimestamp(T0 / 1000, UTC)


def test_a_candle_of_another_interval_or_coin_is_refused() -> None:
    with pytest.raises(PayloadError, match="must be '1h' as requested") as caught:
        parse_candles([candle(T0 - 2 * HOUR_MS), candle(T0 - HOUR_MS, i="4h")], "BTC", "1h", NOW)
    assert field_of(caught) == "[1].i"
    with pytest.raises(UnknownInterval):
        parse_candles([], "BTC", "7m", NOW)


def test_funding_rows_of_another_coin_are_refused() -> None:
    row = {"coin": "ETH", "fundingRate": "0.0001", "premium": "0", "time": T0}
    with pytest.raises(PayloadError) as caught:
        parse_funding_history([row], "BTC")
    assert field_of(caught) == "[0].coin"


def test_all_mids_include_spot_names() -> None:
    mids = parse_all_mids({"BTC": "89926.5", "@107": "28.718", "PURR/USDC": "0.0664375"})
    assert mids == {
        "BTC": Decimal("89926.5"),
        "@107": Decimal("28.718"),
        "PURR/USDC": Decimal("0.0664375"),
    }


# --- Polymarket -------------------------------------------------------------------------

MARKET = {
    "id": "1",
    "conditionId": "0xabc",
    "question": "Q?",
    "slug": "q",
    "active": True,
    "closed": False,
    "outcomes": '["Yes", "No"]',
    "outcomePrices": '["0.2325", "0.7675"]',
    "clobTokenIds": '["0012", "34"]',
}


def market_with(**changes: object) -> list[dict[str, Any]]:
    return [{**copy.deepcopy(MARKET), **changes}]


def test_token_ids_stay_text_and_missing_lists_are_empty() -> None:
    (market,) = parse_gamma_markets(market_with())
    assert market.token_ids == ("0012", "34")
    (fresh,) = parse_gamma_markets([{k: v for k, v in MARKET.items() if k != "clobTokenIds"}])
    assert (fresh.token_ids, fresh.volume, fresh.end_date) == ((), None, None)


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"clobTokenIds": '["1"]'}, "[0].clobTokenIds"),
        ({"clobTokenIds": '["1e5", "2"]'}, "[0].clobTokenIds[0]"),
        ({"outcomePrices": "[0.2325, 0.7675]"}, "[0].outcomePrices[0]"),
        ({"outcomes": '{"Yes": 1}'}, "[0].outcomes"),
    ],
)
def test_encoded_lists_must_line_up_with_the_outcomes(
    changes: dict[str, object], path: str
) -> None:
    with pytest.raises(PayloadError) as caught:
        parse_gamma_markets(market_with(**changes))
    assert field_of(caught) == path


def test_a_book_is_best_first_whatever_order_the_source_used() -> None:
    levels = [{"price": p, "size": "1"} for p in ("0.3", "0.1", "0.2")]
    book = parse_book(
        {"asset_id": "7", "timestamp": "1781289337944", "bids": levels, "asks": levels}, "7"
    )
    assert [level.price for level in book.bids] == [Decimal(p) for p in ("0.3", "0.2", "0.1")]
    assert [level.price for level in book.asks] == [Decimal(p) for p in ("0.1", "0.2", "0.3")]


def test_price_history_is_ordered_with_one_point_per_second() -> None:
    history = {"history": [{"t": 20, "p": 0.5}, {"t": 10, "p": 0.25}, {"t": 20, "p": 0.75}]}
    points = parse_prices_history(history, "7")
    assert [(point.time.second, point.price) for point in points] == [
        (10, Decimal("0.25")),
        (20, Decimal("0.75")),
    ]


# --- DefiLlama --------------------------------------------------------------------------


def test_chain_tvl_series_keeps_one_point_per_date_in_order() -> None:
    points = parse_historical_chain_tvl(
        [{"date": 172800, "tvl": 3.5}, {"date": 86400, "tvl": 1}, {"date": 172800, "tvl": 4}], None
    )
    assert [(point.time, point.tvl_usd) for point in points] == [
        (datetime(1970, 1, 2, tzinfo=UTC), Decimal(1)),
        (datetime(1970, 1, 3, tzinfo=UTC), Decimal(4)),
    ]
    assert points[0].subject == "chain:*"


def test_pools_need_a_success_status() -> None:
    with pytest.raises(PayloadError, match="must be 'success'") as caught:
        parse_pools({"status": "error", "data": []})
    assert field_of(caught) == "status"


def test_add_on_tvl_keys_are_kept_apart() -> None:
    keys = ["Ethereum", "Ethereum-borrowed", "borrowed", "staking", "Base-pool2", "Arbitrum"]
    assert [key for key in keys if not is_extra_tvl_key(key)] == ["Ethereum", "Arbitrum"]
    summary = ProtocolSummary("1", "x", "X", None, (), Decimal(3), {"Ethereum": Decimal(3)})
    assert summary.core_chain_tvls == {"Ethereum": Decimal(3)}


def test_a_bad_last_row_rejects_the_whole_payload() -> None:
    rows = [candle(T0 - 3 * HOUR_MS), candle(T0 - 2 * HOUR_MS), candle(T0 - HOUR_MS, v=10.0)]
    with pytest.raises(PayloadError) as caught:
        parse_candles(rows, "BTC", "1h", NOW + timedelta(days=1))
    assert field_of(caught) == "[2].v"
