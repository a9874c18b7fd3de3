"""The equity and drawdown SVG: valid, self-contained, deterministic, bounded in size.

Every document is parsed with ``xml.etree.ElementTree``, so "valid" means well-formed XML in
the SVG namespace; point counts are read back from the parsed polyline and polygon.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.backtesting.chart import ChartTooSmall, render_chart
from domain.backtesting.equity_curve import CurveOutOfOrder

FAST = settings(max_examples=60, deadline=None)
SVG = "{http://www.w3.org/2000/svg}"
T0 = datetime(2024, 1, 1, tzinfo=UTC)
CURVE = [
    (T0 + timedelta(days=i, hours=23), Decimal(v))
    for i, v in enumerate((10_000, 10_100, 10_050, 10_200, 10_150, 10_300))
]


def parsed(document: str) -> ET.Element:
    root = ET.fromstring(document)  # noqa: S314 - our own output, not untrusted input
    assert root.tag == f"{SVG}svg"
    return root


def points_of(root: ET.Element, group: str, shape: str) -> list[tuple[Decimal, Decimal]]:
    element = root.find(f"{SVG}g[@id='{group}']/{SVG}{shape}")
    assert element is not None
    pairs = (pair.split(",") for pair in element.attrib["points"].split())
    return [(Decimal(x), Decimal(y)) for x, y in pairs]


def texts_of(root: ET.Element) -> list[str]:
    return [element.text or "" for element in root.iter(f"{SVG}text")]


def test_render_chart_is_valid_svg_with_both_panels():
    # Act
    root = parsed(render_chart(CURVE, title="BTC momentum"))

    # Assert
    assert root.attrib["viewBox"] == "0 0 800 420"
    assert len(points_of(root, "equity", "polyline")) == len(CURVE)
    assert points_of(root, "drawdown", "polygon")
    assert {"10,300.00", "10,000.00", "0.00%", "-0.50%", "2024-01-01", "2024-01-06"} <= set(
        texts_of(root)
    )


def test_render_chart_same_input_gives_identical_bytes():
    first = render_chart(CURVE, title="run")
    second = render_chart(list(CURVE), title="run")

    assert first == second


def test_render_chart_equal_values_written_differently_give_identical_bytes():
    rewritten = [(instant, equity.quantize(Decimal("0.0001"))) for instant, equity in CURVE]

    assert render_chart(rewritten, title="run") == render_chart(CURVE, title="run")


def test_render_chart_title_is_escaped():
    title = '<script>alert("x")</script> & co'

    document = render_chart(CURVE, title=title)

    root = parsed(document)
    assert "<script" not in document
    title_element = root.find(f"{SVG}title")
    assert title_element is not None
    assert title_element.text == title


def test_render_chart_characters_xml_forbids_are_dropped():
    root = parsed(render_chart(CURVE, title="a\x00b\x1bc"))

    assert root.find(f"{SVG}title") is not None
    assert "abc" in texts_of(root)


def test_render_chart_has_no_scripts_links_or_external_fonts():
    document = render_chart(CURVE, title="run")

    for needle in ("<script", "href", "@import", "url(", "@font-face", "<style"):
        assert needle not in document


def test_render_chart_downsampling_bounds_the_point_count():
    # Arrange: 20,000 five-minute samples into a 300-pixel chart.
    curve = [
        (T0 + timedelta(minutes=5 * i), Decimal(10_000 + (i * 7919) % 1000)) for i in range(20_000)
    ]

    # Act
    root = parsed(render_chart(curve, title="long", width=300, height=200))

    # Assert
    assert len(points_of(root, "equity", "polyline")) <= 300 - 2
    assert len(points_of(root, "drawdown", "polygon")) <= 300


def test_render_chart_downsampling_keeps_a_one_sample_spike():
    # Arrange: a flat curve with one sample at half the level, deep inside a crowded column.
    curve = [(T0 + timedelta(minutes=i), Decimal(100)) for i in range(10_000)]
    curve[5_001] = (curve[5_001][0], Decimal(50))

    # Act
    root = parsed(render_chart(curve, title="spike"))

    # Assert: the line reaches the panel's bottom (36 + 340 * 0.65) and the area its bottom.
    assert max(y for _, y in points_of(root, "equity", "polyline")) == Decimal("257.00")
    assert max(y for _, y in points_of(root, "drawdown", "polygon")) == Decimal("394.00")
    assert "-50.00%" in texts_of(root)


def test_render_chart_flat_curve_has_no_drawdown():
    curve = [(T0 + timedelta(hours=i), Decimal(100)) for i in range(10)]

    root = parsed(render_chart(curve, title="flat"))

    area = points_of(root, "drawdown", "polygon")
    assert {y for _, y in area} == {Decimal("275.00")}


def test_render_chart_same_day_labels_carry_the_time():
    curve = [(T0 + timedelta(hours=1), Decimal(1)), (T0 + timedelta(hours=5), Decimal(2))]

    texts = texts_of(parsed(render_chart(curve, title="intraday")))

    assert {"2024-01-01 01:00", "2024-01-01 05:00"} <= set(texts)


@pytest.mark.parametrize("curve", [[], CURVE[:1]], ids=["empty", "single"])
def test_render_chart_fewer_than_two_samples_says_no_data(curve):
    root = parsed(render_chart(curve, title="nothing yet"))

    assert "no data" in texts_of(root)
    assert root.find(f"{SVG}g") is None


def test_render_chart_too_small_raises():
    with pytest.raises(ChartTooSmall):
        render_chart(CURVE, title="tiny", width=50, height=50)


def test_render_chart_curve_out_of_order_raises():
    with pytest.raises(CurveOutOfOrder):
        render_chart(list(reversed(CURVE)), title="backwards")


@FAST
@given(
    title=st.text(max_size=40),
    seconds=st.lists(st.integers(0, 30 * 24 * 3600), max_size=400),
    values=st.data(),
    width=st.integers(200, 900),
)
def test_property_any_curve_and_title_render_bounded_valid_svg(title, seconds, values, width):
    levels = st.decimals(min_value=-(10**6), max_value=10**9, places=6)
    curve = [(T0 + timedelta(seconds=s), values.draw(levels)) for s in sorted(seconds)]

    document = render_chart(curve, title=title, width=width)

    root = parsed(document)
    if len(curve) >= 2:
        assert len(points_of(root, "equity", "polyline")) <= width - 2
        assert len(points_of(root, "drawdown", "polygon")) <= width
    assert document == render_chart(curve, title=title, width=width)
