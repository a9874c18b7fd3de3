"""An equity and drawdown chart as a self-contained, deterministic SVG document.

Why SVG text built here: run reports and artifacts store the chart beside the metrics, and a
backtest must be reproducible byte for byte; a plotting library would bring fonts, floats and
version drift. The document has no scripts, no external fonts (the generic ``sans-serif``
family) and no links; the title is escaped, and characters XML 1.0 forbids are dropped.

Layout: a title row, the equity panel (65 % of the plot height) with its max and min labelled
on the left, the drawdown panel below it (fraction of the running peak, 0 at its top edge, the
largest drawdown at its bottom edge, filled as an area), and the first and last dates (UTC)
under the panels. The drawdown peak starts at the first sample (the chart has no start equity;
see :mod:`domain.backtesting.equity_curve` for the drawdown rule).

Determinism: x is proportional to time, computed from integer microseconds; every
coordinate is a ``Decimal`` written with two decimals; no float is involved, so the same curve
gives the same bytes on every machine.

Downsampling: the plot is cut into ``(width - 2) // 2`` columns of equal time span; each column
keeps the samples holding its minimum and its maximum (in time order), chosen separately for
equity and for drawdown, so one-bar spikes survive. The equity line therefore has at most
``width - 2`` points and the drawdown area (closed along its zero line) at most ``width``.

A curve with fewer than two samples renders a valid document that says "no data".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, timedelta
from decimal import Context, Decimal, localcontext
from xml.sax.saxutils import escape

from domain.backtesting.equity_curve import (
    CONTEXT,
    ONE,
    ZERO,
    EquityCurve,
    MetricsError,
    check_curve,
    drawdowns,
)

MIN_WIDTH = 200
MIN_HEIGHT = 160
LEFT, RIGHT, TOP, BOTTOM, GAP = 88, 16, 36, 26, 18
EQUITY_SHARE = Decimal("0.65")
COORDINATE = Decimal("0.01")
FONT = 'font-family="sans-serif"'
LINE_COLOUR = "#2563eb"
AREA_COLOUR = "#dc2626"
FRAME_COLOUR = "#d1d5db"
TEXT_COLOUR = "#111827"
_XML_FORBIDDEN = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_MICROSECOND = timedelta(microseconds=1)


class ChartTooSmall(MetricsError):
    """Raised when the requested chart is narrower or shorter than its fixed margins allow."""


def render_chart(curve: EquityCurve, *, title: str, width: int = 800, height: int = 420) -> str:
    """Render the curve's equity line and drawdown area as one SVG document."""
    if width < MIN_WIDTH or height < MIN_HEIGHT:
        raise ChartTooSmall(width=width, height=height, min_width=MIN_WIDTH, min_height=MIN_HEIGHT)
    check_curve(curve)
    head = _head(title, width, height)
    if len(curve) < 2:
        message = _text(width // 2, height // 2, "no data", anchor="middle", size=14)
        return "\n".join([*head, message, "</svg>", ""])
    with localcontext(CONTEXT):
        body = _panels(curve, width, height)
    return "\n".join([*head, *body, "</svg>", ""])


def _head(title: str, width: int, height: int) -> list[str]:
    safe = _escaped(title)
    return [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{safe}">',
        f"<title>{safe}</title>",
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
        _text(LEFT, 22, title, weight="bold", size=14),
    ]


def _panels(curve: EquityCurve, width: int, height: int) -> list[str]:
    plot_width = Decimal(width - LEFT - RIGHT)
    plot_height = Decimal(height - TOP - BOTTOM - GAP)
    equity_bottom = TOP + plot_height * EQUITY_SHARE
    drawdown_top = equity_bottom + GAP
    drawdown_bottom = Decimal(height - BOTTOM)
    equities = [equity for _instant, equity in curve]
    fractions = drawdowns(equities[0], equities)
    xs = _xs(curve, plot_width)
    columns = _columns(curve, (width - 2) // 2)
    low, high = min(equities), max(equities)
    deepest = max(fractions)
    equity_middle = (TOP + equity_bottom) / 2
    equity_points = [
        (xs[i], _scale(high - equities[i], high - low, TOP, equity_bottom, equity_middle))
        for i in _extremes(equities, columns)
    ]
    area_points = [
        (xs[i], _scale(fractions[i], deepest, drawdown_top, drawdown_bottom, drawdown_top))
        for i in _extremes(fractions, columns)
    ]
    area = [(xs[0], drawdown_top), *area_points, (xs[-1], drawdown_top)]
    first, last = curve[0][0].astimezone(UTC), curve[-1][0].astimezone(UTC)
    date_format = "%Y-%m-%d" if first.date() != last.date() else "%Y-%m-%d %H:%M"
    right = width - RIGHT
    return [
        _frame(TOP, equity_bottom, width),
        _frame(drawdown_top, drawdown_bottom, width),
        f'<g id="equity"><polyline fill="none" stroke="{LINE_COLOUR}" stroke-width="1.5" '
        f'points="{_points(equity_points)}"/></g>',
        f'<g id="drawdown"><polygon fill="{AREA_COLOUR}" fill-opacity="0.35" '
        f'stroke="{AREA_COLOUR}" stroke-width="1" points="{_points(area)}"/></g>',
        _text(right, 22, "equity (USDC)", anchor="end"),
        _text(right, drawdown_top - 5, "drawdown", anchor="end"),
        _text(LEFT - 6, TOP + 4, _money(high), anchor="end"),
        _text(LEFT - 6, equity_bottom, _money(low), anchor="end"),
        _text(LEFT - 6, drawdown_top + 4, "0.00%", anchor="end"),
        _text(LEFT - 6, drawdown_bottom, _percent(-deepest), anchor="end"),
        _text(LEFT, height - 8, first.strftime(date_format)),
        _text(right, height - 8, last.strftime(date_format), anchor="end"),
    ]


def _xs(curve: EquityCurve, plot_width: Decimal) -> list[Decimal]:
    start = curve[0][0]
    span = (curve[-1][0] - start) // _MICROSECOND
    if span == 0:
        return [Decimal(LEFT)] * len(curve)
    return [LEFT + plot_width * ((instant - start) // _MICROSECOND) / span for instant, _ in curve]


def _columns(curve: EquityCurve, count: int) -> list[range]:
    # Consecutive runs of sample indexes falling in the same column of equal time span.
    start = curve[0][0]
    span = max(1, (curve[-1][0] - start) // _MICROSECOND)
    runs: list[range] = []
    run_start, run_column = 0, 0
    for index, (instant, _equity) in enumerate(curve):
        column = min(count - 1, ((instant - start) // _MICROSECOND) * count // span)
        if column != run_column:
            runs.append(range(run_start, index))
            run_start, run_column = index, column
    runs.append(range(run_start, len(curve)))
    return runs


def _extremes(values: Sequence[Decimal], columns: Sequence[range]) -> list[int]:
    kept: list[int] = []
    for column in columns:
        lowest = min(column, key=lambda i: values[i])
        highest = max(column, key=lambda i: values[i])
        kept.extend(sorted({lowest, highest}))
    return kept


def _scale(
    offset: Decimal, extent: Decimal, top: Decimal | int, bottom: Decimal, flat: Decimal | int
) -> Decimal:
    # Map offset in [0, extent] onto [top, bottom]; a series with no extent sits at ``flat``.
    if extent <= ZERO:
        return Decimal(flat)
    return top + (bottom - top) * min(ONE, offset / extent)


def _frame(top: Decimal | int, bottom: Decimal, width: int) -> str:
    return (
        f'<rect x="{LEFT}" y="{_fmt(Decimal(top))}" width="{width - LEFT - RIGHT}" '
        f'height="{_fmt(bottom - top)}" fill="none" stroke="{FRAME_COLOUR}" stroke-width="1"/>'
    )


def _text(
    x: Decimal | int,
    y: Decimal | int,
    content: str,
    *,
    anchor: str = "start",
    weight: str = "normal",
    size: int = 11,
) -> str:
    return (
        f'<text x="{_fmt(Decimal(x))}" y="{_fmt(Decimal(y))}" {FONT} font-size="{size}" '
        f'font-weight="{weight}" text-anchor="{anchor}" fill="{TEXT_COLOUR}">'
        f"{_escaped(content)}</text>"
    )


def _points(points: Sequence[tuple[Decimal | int, Decimal]]) -> str:
    return " ".join(f"{_fmt(Decimal(x))},{_fmt(y)}" for x, y in points)


def _fmt(value: Decimal) -> str:
    fixed = value.quantize(COORDINATE)
    return format(fixed.copy_abs() if fixed.is_zero() else fixed, "f")


def _money(value: Decimal) -> str:
    # Room for every integer digit, however large the equity.
    wide = Context(prec=max(CONTEXT.prec, value.adjusted() + 3))
    return format(value.quantize(COORDINATE, context=wide), ",f")


def _percent(fraction: Decimal) -> str:
    fixed = (fraction * 100).quantize(COORDINATE)
    return format(fixed.copy_abs() if fixed.is_zero() else fixed, "f") + "%"


def _escaped(text: str) -> str:
    return escape(_XML_FORBIDDEN.sub("", text), {'"': "&quot;"})
