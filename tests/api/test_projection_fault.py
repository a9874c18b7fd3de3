"""A projection failing on one event stops there, alerts, and resumes after the fix.

The poison is a projection whose code breaks on one event (the usual cause in practice: a
bug in a fold meeting data it did not expect). It wraps the real clones projection, under
its own name and version, so the tracking row, ``/metrics`` and the alert rules see it as
the clones read model itself. The webhook is an external service: a fake records posts.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi.testclient import TestClient

from adapters.database import Session
from domain.clock import SimulatedClock
from projections.clones import ClonesProjection
from projections.runner import ProjectionRunner
from tests.api.test_economy_routes import container_of
from workers.alerts import AlertWorker
from workers.runtime import Runtime


class BuggyClonesProjection(ClonesProjection):
    """The clones projection with a bug that breaks on clones of one name, until fixed."""

    def __init__(self, poison: str) -> None:
        self.poison: str | None = poison

    def apply_page(self, session: Session, events: Sequence[tuple[Any, int]]) -> None:
        for event, _ in events:
            if self.poison is not None and getattr(event, "name", None) == self.poison:
                raise ValueError(f"cannot fold clone named {self.poison}")
        super().apply_page(session, events)


def test_a_poisoned_projection_stops_alerts_and_resumes_after_the_fix(
    make_client: Callable[..., TestClient], clock: SimulatedClock
) -> None:
    # Arrange: three clones, the second of which the projection's code cannot fold.
    client = make_client(alert_webhook_url="https://alerts.example/hook")
    container = container_of(client)
    posted: list[dict[str, Any]] = []

    def webhook(request: httpx.Request) -> httpx.Response:
        posted.append(json.loads(request.content))
        return httpx.Response(204)

    alerts = AlertWorker(container, transport=httpx.MockTransport(webhook))
    runtime = Runtime(container.database, clock)
    names = ["First", "Poison", "Third"]
    for name in names:
        container.clones.create_clone(uuid4(), "owner", name)
    buggy = BuggyClonesProjection("Poison")
    runner = ProjectionRunner(container.database, container.clones, buggy, clock.now)

    # Act 1: the projection meets the poison; one event at a time to see where it stops.
    with pytest.raises(ValueError, match="cannot fold clone named Poison"):
        runner.catch_up(page=1)
    stopped = runner.status()
    runtime.step(alerts)
    again = runner.status()  # nothing moves while the bug is there
    with pytest.raises(ValueError, match="Poison"):
        runner.catch_up(page=1)

    # Assert 1: stopped right before the poison, failed with the error, alert posted.
    assert (stopped.status, stopped.position, stopped.head) == ("failed", 1, 3)
    assert stopped.error == "ValueError: cannot fold clone named Poison"
    assert again.position == 1
    assert ("firing", "ProjectionFailed") in [(p["status"], p["alert"]) for p in posted]
    assert 'clash_projection_failed{projection="clones"} 1.0' in client.get("/metrics").text
    assert client.get("/health/workers").json()["projectionsLag"]["clones"] == 2

    # Act 2: the fix is deployed; the projection resumes where it stopped.
    buggy.poison = None
    runner.catch_up(page=1)
    clock.advance(timedelta(minutes=1))
    runtime.step(alerts)

    # Assert 2: every clone projected once, running again, the alert resolved.
    resumed = runner.status()
    assert (resumed.status, resumed.position, resumed.lag) == ("running", 3, 0)
    with container.database.transaction(write=False) as session:
        rows = session.fetch_all("SELECT name FROM clones_view ORDER BY created_at, name")
    assert sorted(r["name"] for r in rows) == sorted(names)
    assert [p["status"] for p in posted if p["alert"] == "ProjectionFailed"] == [
        "firing",
        "resolved",
    ]
