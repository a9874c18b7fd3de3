"""Decision cadence: the latest due tick per asset, missed ticks counted, pauses honoured."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.trading.binding import Window
from domain.trading.cadence import Missed, due_ticks, invocation
from domain.trading.spec import AssetPlan

T0 = datetime(2021, 7, 3, 10, 2, tzinfo=UTC)
BTC = AssetPlan("BTC", "5m")
ETH = AssetPlan("ETH", "1h")
MIN = timedelta(minutes=1)


def test_a_new_binding_first_ticks_at_the_next_boundary() -> None:
    window = Window(T0, None)
    assert due_ticks([BTC], window=window, pauses=[], cursors={}, now=T0 + 2 * MIN) == []
    [due] = due_ticks([BTC], window=window, pauses=[], cursors={}, now=T0 + 3 * MIN)
    assert due.at == datetime(2021, 7, 3, 10, 5, tzinfo=UTC)
    assert due.assets == ("BTC",)
    assert not due.missed


def test_only_the_latest_tick_runs_and_the_gap_is_reported_missed() -> None:
    cursor = datetime(2021, 7, 3, 10, 5, tzinfo=UTC)
    [due] = due_ticks(
        [BTC], window=Window(T0, None), pauses=[], cursors={"BTC": cursor}, now=cursor + 17 * MIN
    )
    assert due.at == datetime(2021, 7, 3, 10, 20, tzinfo=UTC)
    assert due.missed == {
        "BTC": Missed(cursor + 5 * MIN, cursor + 10 * MIN, 2)  # 10:10 and 10:15
    }


def test_assets_with_other_cadences_group_by_instant() -> None:
    now = datetime(2021, 7, 3, 11, 0, 30, tzinfo=UTC)
    cursors = {"BTC": now - 30 * timedelta(seconds=1) - 5 * MIN}
    found = due_ticks([BTC, ETH], window=Window(T0, None), pauses=[], cursors=cursors, now=now)
    assert [(d.at, d.assets) for d in found] == [
        (datetime(2021, 7, 3, 11, tzinfo=UTC), ("BTC", "ETH"))
    ]


def test_nothing_is_due_twice_or_after_the_window() -> None:
    end = datetime(2021, 7, 3, 10, 30, tzinfo=UTC)
    window = Window(T0, end)
    last = datetime(2021, 7, 3, 10, 25, tzinfo=UTC)
    assert due_ticks([BTC], window=window, pauses=[], cursors={"BTC": last}, now=last) == []
    assert due_ticks([BTC], window=window, pauses=[], cursors={"BTC": last}, now=end + MIN) == []
    [due] = due_ticks(
        [BTC], window=window, pauses=[], cursors={"BTC": last - 5 * MIN}, now=end + 9 * MIN
    )
    assert due.at == last  # the window's last tick, not one after it


def test_paused_ticks_neither_run_nor_count_as_missed() -> None:
    cursor = datetime(2021, 7, 3, 10, 5, tzinfo=UTC)
    pause = Window(cursor + MIN, cursor + 11 * MIN)  # 10:06-10:16 covers 10:10 and 10:15
    window = Window(T0, None)
    assert (
        due_ticks(
            [BTC], window=window, pauses=[pause], cursors={"BTC": cursor}, now=cursor + 12 * MIN
        )
        == []
    )
    [due] = due_ticks(
        [BTC], window=window, pauses=[pause], cursors={"BTC": cursor}, now=cursor + 16 * MIN
    )
    assert due.at == cursor + 15 * MIN  # 10:20
    assert not due.missed


def test_invocation_counts_ticks_since_the_window_opened() -> None:
    window = Window(T0, None)
    assert invocation(window, datetime(2021, 7, 3, 10, 5, tzinfo=UTC), "5m") == 1
    assert invocation(window, datetime(2021, 7, 3, 11, 0, tzinfo=UTC), "5m") == 12
