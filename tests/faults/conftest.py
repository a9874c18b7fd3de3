"""Fault fixtures: a throwaway PostgreSQL cluster per module, never the shared server.

Without the server binaries or (under root) the ``postgres`` OS user, the fault tests are
skipped with the reason; with ``CLASH_TEST_REQUIRE_POSTGRES=1`` (CI) they fail instead.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import skip_or_fail
from tests.faults.postgres_cluster import ThrowawayCluster, cluster_problem, postgres_bindir


@pytest.fixture(scope="module")
def cluster() -> Iterator[ThrowawayCluster]:
    """A fresh, running cluster on its own port; stopped and deleted afterwards."""
    problem = cluster_problem()
    bindir = postgres_bindir()
    if problem is not None or bindir is None:
        skip_or_fail(problem or "no PostgreSQL server binaries")
    made = ThrowawayCluster(bindir)
    try:
        made.create()
        made.start()
        yield made
    finally:
        made.destroy()
