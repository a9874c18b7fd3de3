"""Run every benchmark and print one JSON document: ``python -m tests.benchmarks``.

Performance is a figure to watch, not a pass/fail test: a timed assertion on a shared
machine is either so loose it never fails or so tight it fails at random. So the suite
prints numbers (throughput and latency percentiles, with the machine they came from) for a
person or a script to compare over time, and the test suite only checks that it still runs
(``test_benchmarks_smoke.py``).

Each backend gets a store of its own for the run: a fresh SQLite file in a temporary
directory, or a throw-away PostgreSQL schema (``bench_<hex>``, dropped at the end) on
``CLASH_TEST_POSTGRES_URL`` (default the local server's ``test`` database). The backtest
module uses no store, so it runs once, with the first backend. Only the JSON goes to
stdout; progress and logs go to stderr.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from adapters.structured_logs import configure_logging
from tests.benchmarks import (
    arena,
    auditions,
    auth,
    backtest,
    market,
    prop,
    races,
    settlement,
    trading,
    workers,
)

POSTGRES_URL = os.environ.get(
    "CLASH_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
BACKENDS = ("sqlite", "postgres")
# (name, operations, seconds, latencies in seconds[, extra keys for the figure])
Measurement = (
    tuple[str, int, float, list[float]] | tuple[str, int, float, list[float], dict[str, Any]]
)


MODULES = (
    "workers",
    "auth",
    "market",
    "prop",
    "trading",
    "auditions",
    "arena",
    "races",
    "settlement",
    "backtest",
)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, run the suite and print its JSON document."""
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks", description=__doc__)
    parser.add_argument("--backend", choices=[*BACKENDS, "all"], default="all")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    parser.add_argument(
        "--only", choices=MODULES, action="append", help="run these modules only (repeatable)"
    )
    args = parser.parse_args(argv)
    configure_logging("WARNING", json=True)
    backends = BACKENDS if args.backend == "all" else (args.backend,)
    json.dump(run(backends, quick=args.quick, only=args.only), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


def run(
    backends: Sequence[str], *, quick: bool, only: Sequence[str] | None = None
) -> dict[str, Any]:
    """Run every benchmark (or the ``only`` modules) on each backend; return the figures."""
    results: list[dict[str, Any]] = []
    for backend in backends:
        progress(f"{backend}: starting ({'quick' if quick else 'full'} sizes)")
        with target(backend) as (database_url, schema, scratch):
            modules = only or MODULES
            if backend != backends[0]:  # in memory, no store: once per run, not per backend
                modules = [m for m in modules if m != "backtest"]
            first = backend == backends[0]
            for measured in _benchmarks(database_url, schema, scratch, quick, modules, first):
                results.append(figure(backend, measured))
                progress(f"{backend}: {_line(results[-1])}")
    return {"machine": machine(backends), "quick": quick, "results": results}


def _benchmarks(
    database_url: str,
    schema: str,
    scratch: Path,
    quick: bool,
    only: Sequence[str],
    first: bool = True,
) -> Iterator[Measurement]:
    if "workers" in only:
        yield from workers.run(database_url, schema, quick=quick)
    if "auth" in only:
        yield from auth.run(database_url, schema, quick=quick, workdir=scratch)
    if "market" in only:
        yield from market.run(database_url, schema, quick=quick)
    if "prop" in only:
        yield from prop.run(database_url, schema, quick=quick)
    if "trading" in only:
        yield from trading.run(database_url, schema, quick=quick, workdir=scratch)
    if "auditions" in only:
        yield from auditions.run(database_url, quick=quick, workdir=scratch)
    if "arena" in only:
        yield from arena.run(database_url, schema, quick=quick, workdir=scratch)
    if "races" in only:
        yield from races.run(database_url, quick=quick, workdir=scratch)
    if "settlement" in only:
        if first:  # the pure figure needs no store: once per run
            yield from settlement.run(quick=quick)
        yield from settlement.run_race(database_url, quick=quick, workdir=scratch)
    if "backtest" in only:
        yield from backtest.run(database_url, schema, quick=quick)


@contextmanager
def target(backend: str) -> Iterator[tuple[str, str, Path]]:
    """Yield ``(database_url, schema, scratch directory)`` of a fresh, private store."""
    with tempfile.TemporaryDirectory(prefix="clash-bench-") as scratch:
        if backend == "sqlite":
            yield f"sqlite:///{scratch}/clash.db", "public", Path(scratch)
            return
        schema = f"bench_{uuid.uuid4().hex[:12]}"
        _postgres(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        try:
            yield POSTGRES_URL, schema, Path(scratch)
        finally:
            _postgres(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def _postgres(statement: sql.Composed) -> None:
    with psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=5) as conn:
        conn.execute(statement)


def figure(backend: str, measured: Measurement) -> dict[str, Any]:
    """Turn one measurement into its published figure (rates per second, latencies in ms).

    A fifth element, if any, holds extra keys (``verified``, ...) appended to the figure.
    """
    name, operations, seconds, latencies = measured[:4]
    extra: dict[str, Any] = measured[4] if len(measured) > 4 else {}
    ordered = sorted(latencies)
    return {
        "name": name,
        "backend": backend,
        "operations": operations,
        "seconds": round(seconds, 4),
        "ops_per_second": round(operations / seconds, 1) if seconds > 0 else None,
        "p50_ms": percentile_ms(ordered, 50),
        "p95_ms": percentile_ms(ordered, 95),
        **extra,
    }


def percentile_ms(ordered: Sequence[float], percent: int) -> float | None:
    """Nearest-rank percentile of sorted seconds, in milliseconds; ``None`` when empty."""
    if not ordered:
        return None
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return round(ordered[rank - 1] * 1000, 3)


def machine(backends: Sequence[str]) -> dict[str, Any]:
    """Describe where the figures were measured."""
    info: dict[str, Any] = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "sqlite": sqlite3.sqlite_version,
    }
    if "postgres" in backends:
        with psycopg.connect(POSTGRES_URL, connect_timeout=5) as conn:
            row = conn.execute("SHOW server_version").fetchone()
        info["postgres"] = row[0] if row else None
    return info


def progress(text: str) -> None:
    """Write one progress line to stderr (stdout carries only the JSON)."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def _line(result: dict[str, Any]) -> str:
    return (
        f"{result['name']}: {result['ops_per_second']}/s over {result['operations']} "
        f"(p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms)"
    )


if __name__ == "__main__":
    sys.exit(main())
