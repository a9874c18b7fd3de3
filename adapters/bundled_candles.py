"""Reading the bundled candle archive (``adapters/bundled/candles``) and CSV archives.

The CSV format is the archive's: ``ts_ms,open,high,low,close,volume`` with ``ts_ms`` the
candle's open time in Unix milliseconds (UTC) and decimal text kept exactly (parsed to
``Decimal``, never float). A malformed row stops the import with its line number: a
half-imported archive is worse than none, so callers store only fully parsed files.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

from domain.market.intervals import interval_length
from domain.market.model import Candle

BUNDLED_DIR = Path(__file__).parent / "bundled" / "candles"
BUNDLED_SOURCE = "bundled"
BUNDLED_ASSETS = ("BTC", "ETH", "SOL")
HEADER = ["ts_ms", "open", "high", "low", "close", "volume"]


class ArchiveError(ValueError):
    """Raised when a candle archive row cannot be parsed; names the file and line."""


def bundled_path(asset: str, interval: str) -> Path:
    """The bundled file of ``asset`` on ``interval`` (``5m`` or ``1h``)."""
    return BUNDLED_DIR / f"{asset.lower()}_usdt_{interval}.csv"


def read_candles(path: Path, asset: str, interval: str) -> list[Candle]:
    """Parse a whole CSV archive into candles, or raise :class:`ArchiveError`."""
    interval_length(interval)
    with path.open(newline="") as handle:
        return list(_rows(csv.reader(handle), path, asset, interval))


def _rows(reader: Iterator[list[str]], path: Path, asset: str, interval: str) -> Iterator[Candle]:
    header = next(reader, None)
    if header != HEADER:
        raise ArchiveError(f"file={path} line=1 expected header {','.join(HEADER)}")
    for line, row in enumerate(reader, start=2):
        try:
            yield _candle(row, asset, interval)
        except (ValueError, InvalidOperation) as exc:
            raise ArchiveError(f"file={path} line={line} {exc}") from None


def _candle(row: list[str], asset: str, interval: str) -> Candle:
    if len(row) != len(HEADER):
        raise ValueError(f"expected {len(HEADER)} columns, got {len(row)}")
    open_time = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=int(row[0]))
    o, h, low, c, v = (Decimal(value) for value in row[1:])
    if not all(x.is_finite() and x >= 0 for x in (o, h, low, c, v)):
        raise ValueError("prices and volume must be finite and non-negative")
    if not low <= min(o, c) <= max(o, c) <= h:
        raise ValueError("low <= open, close <= high is broken")
    return Candle(asset, interval, open_time, o, h, low, c, v)
