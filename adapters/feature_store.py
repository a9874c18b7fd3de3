"""Feature channels in SQL: subscriptions with their resumable state, and their values.

A channel's new values and its checkpoint (indicator state and last folded open time) are
written in one transaction, so a crash between the two can never double-fold or skip a
candle: the next run resumes from exactly the values stored.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from adapters.database import Database, from_micros, to_micros
from domain.market.channels import ChannelCheckpoint, ChannelSpec, FeaturePoint

_UPSERT_POINT = (
    "INSERT INTO market_features (channel_id, open_time, knowable_at, value, components)"
    " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (channel_id, open_time) DO UPDATE SET"
    " knowable_at = excluded.knowable_at, value = excluded.value,"
    " components = excluded.components"
)
NO_INTERVAL = "-"


@dataclass(frozen=True)
class Channel:
    """A subscribed channel: what it computes, over which series, and where it got to."""

    channel_id: str
    asset: str
    interval: str | None
    spec: ChannelSpec
    checkpoint: ChannelCheckpoint


def channel_id(asset: str, interval: str | None, spec: ChannelSpec) -> str:
    """The stable id of a channel: ``BTC|5m|ema:20`` (``-`` for point series)."""
    return f"{asset}|{interval or NO_INTERVAL}|{spec.key}"


class FeatureStore:
    """Channel subscriptions and feature values."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def subscribe(self, asset: str, interval: str | None, spec: ChannelSpec, now: datetime) -> bool:
        """Create the channel unless it exists; return whether it was created."""
        with self.database.transaction() as session:
            created = session.execute(
                "INSERT INTO market_channels (channel_id, asset, interval, channel_key, created_at,"
                " last_open_time, state) VALUES (%s, %s, %s, %s, %s, NULL, '{}')"
                " ON CONFLICT (channel_id) DO NOTHING",
                (
                    channel_id(asset, interval, spec),
                    asset,
                    interval or NO_INTERVAL,
                    spec.key,
                    to_micros(now),
                ),
            )
        return created == 1

    def channel(self, identifier: str) -> Channel | None:
        """One channel by id."""
        with self.database.transaction(write=False) as session:
            row = session.fetch_one(
                "SELECT * FROM market_channels WHERE channel_id = %s", (identifier,)
            )
        return None if row is None else _channel(row)

    def channels(self, asset: str | None = None, interval: str | None = None) -> list[Channel]:
        """Channels, optionally of one series."""
        clauses, params = [], []
        if asset is not None:
            clauses.append("asset = %s")
            params.append(asset)
        if interval is not None:
            clauses.append("interval = %s")
            params.append(interval)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        with self.database.transaction(write=False) as session:
            rows = session.fetch_all(
                f"SELECT * FROM market_channels{where} ORDER BY channel_id", params
            )
        return [_channel(row) for row in rows]

    def save(
        self, channel: Channel, points: Sequence[FeaturePoint], checkpoint: ChannelCheckpoint
    ) -> None:
        """Store new values and the checkpoint that produced them, atomically."""
        rows = [
            (
                channel.channel_id,
                to_micros(p.open_time),
                to_micros(p.knowable_at),
                str(p.value),
                json.dumps([[name, str(v)] for name, v in p.components]),
            )
            for p in points
        ]
        last = None if checkpoint.last_open_time is None else to_micros(checkpoint.last_open_time)
        with self.database.transaction() as session:
            session.execute_many(_UPSERT_POINT, rows)
            session.execute(
                "UPDATE market_channels SET last_open_time = %s, state = %s WHERE channel_id = %s",
                (
                    last,
                    json.dumps(dict(checkpoint.indicator_state), sort_keys=True),
                    channel.channel_id,
                ),
            )

    def points(
        self, channel: Channel, *, start: datetime, end: datetime, known_at: datetime, limit: int
    ) -> list[FeaturePoint]:
        """Values opening in ``[start, end)`` that were knowable by ``known_at``."""
        with self.database.transaction(write=False) as session:
            rows = session.fetch_all(
                "SELECT * FROM market_features WHERE channel_id = %s AND open_time >= %s"
                " AND open_time < %s AND knowable_at <= %s ORDER BY open_time LIMIT %s",
                (channel.channel_id, to_micros(start), to_micros(end), to_micros(known_at), limit),
            )
        return [_point(channel, row) for row in rows]

    def latest(self, channel: Channel, *, known_at: datetime, count: int) -> list[FeaturePoint]:
        """The last ``count`` values knowable by ``known_at``, oldest first."""
        with self.database.transaction(write=False) as session:
            rows = session.fetch_all(
                "SELECT * FROM market_features WHERE channel_id = %s AND knowable_at <= %s"
                " ORDER BY open_time DESC LIMIT %s",
                (channel.channel_id, to_micros(known_at), count),
            )
        return [_point(channel, row) for row in reversed(rows)]


def _channel(row: dict[str, Any]) -> Channel:
    last = row["last_open_time"]
    interval = None if row["interval"] == NO_INTERVAL else row["interval"]
    return Channel(
        channel_id=row["channel_id"],
        asset=row["asset"],
        interval=interval,
        spec=ChannelSpec.parse(row["channel_key"]),
        checkpoint=ChannelCheckpoint(
            None if last is None else from_micros(last), json.loads(row["state"])
        ),
    )


def _point(channel: Channel, row: dict[str, Any]) -> FeaturePoint:
    return FeaturePoint(
        channel_key=channel.spec.key,
        asset=channel.asset,
        interval=channel.interval,
        open_time=from_micros(row["open_time"]),
        knowable_at=from_micros(row["knowable_at"]),
        value=Decimal(row["value"]),
        components=tuple((name, Decimal(v)) for name, v in json.loads(row["components"])),
    )
