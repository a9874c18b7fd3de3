"""``clash workers`` (the names) and ``clash workers status``: heartbeats, leases and lag.

What an operator asks first when something looks stuck: is each worker beating, what
does it hold, what failed, how far behind are the read models, and is any audition or
race stuck in a step. The same facts as ``GET /health/workers``, read from the store, so
it works from any machine that reaches the database, with or without the API up.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Annotated, Any

import typer
from rich.table import Table

from adapters.bootstrap import Container
from adapters.heartbeats import WorkerHealth, worker_health
from adapters.leases import Lease
from adapters.process_states import process_states
from adapters.stuck_leases import live_leases, stuck_leases, worker_of
from api.cli_support import console, container
from projections.catalog import runners

workers_app = typer.Typer(help="The background workers.", invoke_without_command=True)


@workers_app.callback()
def list_workers(ctx: typer.Context) -> None:
    """List the workers this build has (``status`` for how they are doing)."""
    from workers.catalog import worker_names

    if ctx.invoked_subcommand is None:
        for name in worker_names():
            console.print(name)


@workers_app.command("status")
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Every worker's heartbeat, leases and dead letters; projection lag; stuck processes.

    Exit 1 when a critical worker is down or a lease is stuck.
    """
    with container() as built:
        report = _report(built)
    if as_json:
        console.print_json(json.dumps(report, default=str))
    else:
        _print(report)
    if not report["ok"] or report["stuckLeases"]:
        raise typer.Exit(1)


def _report(built: Container) -> dict[str, Any]:
    from workers.catalog import build_workers

    now = built.service_clock.now()
    stale_after = timedelta(seconds=built.settings.worker_stale_after_seconds)
    health = worker_health(built.database, now, build_workers(built), stale_after)
    live = live_leases(built.database, now)
    stuck = {lease.key for lease in stuck_leases(built.database, now, stale_after)}
    overdue = timedelta(seconds=built.settings.race_overdue_after_seconds)
    return {
        "ok": health.ok,
        "checkedAt": now,
        "workers": [_worker(w, now, live) for w in health.workers],
        "leases": [_lease(lease, lease.key in stuck) for lease in live],
        "stuckLeases": sorted(stuck),
        "projections": [asdict(s) | {"lag": s.lag} for s in (r.status() for r in runners(built))],
        "processes": asdict(process_states(built.database, built.market_clock.now(), overdue)),
    }


def _worker(health: WorkerHealth, now: datetime, live: list[Lease]) -> dict[str, Any]:
    held = [lease.key for lease in live if worker_of(lease) == health.name]
    beat = health.last_beat_at
    return {
        "name": health.name,
        "critical": health.critical,
        "state": health.state,
        "holder": health.holder,
        "beatAgeSeconds": None if beat is None else round((now - beat).total_seconds(), 1),
        "stale": health.stale,
        "deadLetters": health.open_dead_letters,
        "leases": held,
        "done": health.detail.get("done", 0),
        "failed": health.detail.get("failed", 0),
        "lastError": health.detail.get("last_error"),
    }


def _lease(lease: Lease, stuck: bool) -> dict[str, Any]:
    return {
        "key": lease.key,
        "holder": lease.holder,
        "token": lease.token,
        "acquiredAt": lease.acquired_at,
        "expiresAt": lease.expires_at,
        "stuck": stuck,
    }


def _print(report: dict[str, Any]) -> None:
    console.print(_workers_table(report["workers"]))
    console.print(_leases_table(report["leases"]))
    console.print(_projections_table(report["projections"]))
    processes = report["processes"]
    console.print(
        f"auditions open {processes['auditions_open']}, stuck {processes['auditions_stuck']};"
        f" races open {processes['races_open']}, overdue {processes['races_overdue']}.",
        markup=False,
    )
    console.print("ok" if report["ok"] else "a critical worker is down", markup=False)


def _workers_table(workers: list[dict[str, Any]]) -> Table:
    table = Table("worker", "critical", "state", "beat age s", "stale", "leases", "dead")
    for w in workers:
        age = w["beatAgeSeconds"]
        table.add_row(
            w["name"],
            "yes" if w["critical"] else "",
            w["state"] or "never",
            "-" if age is None else str(age),
            "STALE" if w["stale"] else "",
            str(len(w["leases"])),
            str(w["deadLetters"]),
        )
    return table


def _leases_table(leases: list[dict[str, Any]]) -> Table:
    table = Table("lease", "holder", "token", "expires", "stuck")
    for lease in leases:
        expires = lease["expiresAt"].isoformat(timespec="seconds")
        stuck = "STUCK" if lease["stuck"] else ""
        table.add_row(lease["key"], lease["holder"], str(lease["token"]), expires, stuck)
    return table


def _projections_table(projections: list[dict[str, Any]]) -> Table:
    table = Table("projection", "position", "head", "lag", "status")
    for p in projections:
        table.add_row(
            p["projection"], str(p["position"]), str(p["head"]), str(p["lag"]), p["status"]
        )
    return table
