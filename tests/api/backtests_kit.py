"""Helpers of the backtest route tests: a replay world with the backtest worker beside it.

The world is the trading routes' (``tests/api/test_trading_routes``): a real app over the
bundled replay feed, on a simulated service clock. :class:`BacktestWorld` adds the
``backtests`` worker stepped by its own runtime on that clock, and small request helpers.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient

from adapters.bootstrap import Container
from domain.clock import SimulatedClock
from tests.api.clones_kit import drafted
from tests.api.test_trading_routes import ReplayWorld
from workers.backtests import BacktestWorker
from workers.runtime import Runtime, StepReport

LAST_6H = {"shape": "last_6h"}


@dataclass
class BacktestWorld:
    """A replay world, its backtest worker, and the requests the tests make."""

    world: ReplayWorld
    worker: BacktestWorker = field(init=False)
    runtime: Runtime = field(init=False)

    def __post_init__(self) -> None:
        clock = self.container.service_clock
        assert isinstance(clock, SimulatedClock)
        self.worker = BacktestWorker(self.container)
        self.runtime = Runtime(
            self.container.database, clock, holder="backtests", rng=random.Random(7)
        )

    @property
    def client(self) -> TestClient:
        """The app's test client."""
        return self.world.client

    @property
    def container(self) -> Container:
        """The app's container."""
        return self.world.container

    def work(self) -> StepReport:
        """Step the backtest worker once."""
        return self.runtime.step(self.worker)

    def preflight(self, headers: dict[str, str], clone_id: str, **body: Any) -> Any:
        """``POST /v1/backtests/preflight``; the raw response."""
        payload = {"cloneId": clone_id, "window": LAST_6H, **body}
        return self.client.post("/v1/backtests/preflight", headers=headers, json=payload)

    def start(self, headers: dict[str, str], clone_id: str, **body: Any) -> Any:
        """``POST /v1/backtests``; the raw response."""
        payload = {"cloneId": clone_id, "window": LAST_6H, **body}
        return self.client.post("/v1/backtests", headers=headers, json=payload)

    def started(self, headers: dict[str, str], clone_id: str, **body: Any) -> dict[str, Any]:
        """Start a run; assert 202 and return the job."""
        response = self.start(headers, clone_id, **body)
        assert response.status_code == 202, response.text
        job: dict[str, Any] = response.json()
        return job

    def job(self, headers: dict[str, str], job_id: str) -> dict[str, Any]:
        """``GET /v1/backtests/{id}``; assert 200."""
        response = self.client.get(f"/v1/backtests/{job_id}", headers=headers)
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found

    def prop_event_count(self) -> int:
        """Rows in the production prop event table."""
        with self.container.database.transaction(write=False) as session:
            row = session.fetch_one("SELECT COUNT(*) AS n FROM prop_events")
        return 0 if row is None else int(row["n"])


def versioned(client: TestClient, owner: dict[str, str], graph: Any = None) -> str:
    """A clone with ``graph`` (default the EMA crossover) drafted and published as version 1."""
    clone_id = drafted(client, owner, graph)
    response = client.post(f"/v1/clones/{clone_id}/versions", headers=owner)
    assert response.status_code == 201, response.text
    return clone_id


def grant(client: TestClient, operator: dict[str, str], clone_id: str, tier: str) -> None:
    """Grant ``tier`` to the clone (admin route)."""
    body = {"tier": tier, "reason": "test"}
    response = client.post(f"/v1/admin/clones/{clone_id}/grants", headers=operator, json=body)
    assert response.status_code == 201, response.text
