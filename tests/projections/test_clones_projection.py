"""The clones read models on both stores: incremental equals rebuild, queries show the fold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid5

import pytest

from adapters.database import Database
from adapters.event_stores import factory_builder
from domain.clock import SimulatedClock
from domain.clones.application import CloneService
from domain.clones.tiers import TierTable
from projections.clones import ClonesProjection, fold, queue_entry
from projections.clones_queries import ClonesQueries
from projections.runner import ProjectionRunner
from tests.domain.clones.graph_examples import ASSETS, ema_crossover

T0 = datetime(2026, 12, 1, 12, tzinfo=UTC)
NS = UUID("9a7b8c6d-1e2f-4a3b-8c4d-5e6f7a8b9c0d")


def _id(name: str) -> UUID:
    return uuid5(NS, name)


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(T0)


@pytest.fixture
def clones(database: Database, clock: SimulatedClock) -> CloneService:
    return CloneService(clock=clock, factory_builder=factory_builder(database))


def _runner(database: Database, clones: CloneService) -> ProjectionRunner:
    return ProjectionRunner(database, clones, ClonesProjection(), lambda: T0)


def _scenario(clones: CloneService, runner: ProjectionRunner, clock: SimulatedClock) -> None:
    """Three owners: a published clone reported twice and retired, one reported and
    dismissed then reported again, one private with two versions."""
    for name in ("retired", "reported", "private"):
        clones.create_clone(_id(name), f"owner-{name}", name.title())
        clock.advance(timedelta(seconds=1))
    for name in ("retired", "reported"):
        clones.publish_profile(_id(name), name=name.title(), bio="bio", avatar_url=None)
    runner.catch_up(page=2)
    clones.report(_id("retired"), reporter="u1", reason="scam", detail="fake")
    clock.advance(timedelta(seconds=1))
    clones.report(_id("retired"), reporter="u2", reason="spam", detail="")
    clones.report(_id("reported"), reporter="u1", reason="abuse", detail="rude")
    runner.catch_up(page=3)
    clones.retire(_id("retired"), reason="confirmed", admin="a1")
    clones.dismiss_reports(_id("reported"), reason="fine", admin="a1")
    clones.report(_id("reported"), reporter="u3", reason="other", detail="again")
    graph = ema_crossover()
    clones.save_draft(_id("private"), graph, known_assets=ASSETS, table=TierTable())
    clones.publish_version(_id("private"), known_assets=ASSETS, table=TierTable())
    graph["nodes"][2]["params"]["channel"] = "ema:50"
    clones.save_draft(_id("private"), graph, known_assets=ASSETS, table=TierTable())
    clones.publish_version(_id("private"), known_assets=ASSETS, table=TierTable())


def _tables(database: Database) -> dict[str, list[dict[str, object]]]:
    with database.transaction(write=False) as session:
        return {
            t: session.fetch_all(f"SELECT * FROM {t} ORDER BY 1, 2")
            for t in ClonesProjection.tables
        }


def test_incremental_views_equal_a_rebuild(
    database: Database, clones: CloneService, clock: SimulatedClock
) -> None:
    runner = _runner(database, clones)
    _scenario(clones, runner, clock)
    runner.catch_up(page=4)
    incremental = _tables(database)
    runner.rebuild()
    assert _tables(database) == incremental
    assert len(incremental["clones_view"]) == 3


def test_queries_show_directory_public_list_and_queue(
    database: Database, clones: CloneService, clock: SimulatedClock
) -> None:
    runner = _runner(database, clones)
    _scenario(clones, runner, clock)
    runner.catch_up()
    queries = ClonesQueries(database)
    private = queries.owned("owner-private", after=0, limit=10)
    public = queries.public(after=0, limit=10)
    queue = queries.queue(after=0, limit=10)
    assert [(c.name, c.latest_version_number, c.draft_number) for c in private] == [
        ("Private", 2, 2)
    ]
    assert [c.clone_id for c in public] == [str(_id("reported"))]
    assert [(q.clone.clone_id, q.report_count, q.reasons) for q in queue] == [
        (str(_id("reported")), 1, ("other",))
    ]
    assert queue[0].clone.reports_total == 2
    assert queue[0].latest_reports[0].detail == "again"
    assert queries.tracked_position() == clones.recorder.max_notification_id()


def test_pages_are_keyed_by_creation_position(
    database: Database, clones: CloneService, clock: SimulatedClock
) -> None:
    for n in range(5):
        clones.create_clone(_id(f"c{n}"), "owner", f"Clone {n}")
    _runner(database, clones).catch_up()
    queries = ClonesQueries(database)
    first = queries.owned("owner", after=0, limit=2)
    rest = queries.owned("owner", after=first[-1].seq, limit=10)
    assert [c.name for c in first + rest] == [f"Clone {n}" for n in range(5)]


def test_reads_before_the_first_projection_are_empty(database: Database) -> None:
    queries = ClonesQueries(database)
    assert queries.public(after=0, limit=10) == []
    assert queries.tracked_position() == 0


def test_the_queue_entry_counts_one_report_per_reporter_newest_reason_first(
    clones: CloneService, clock: SimulatedClock
) -> None:
    clone_id = clones.create_clone(_id("q"), "owner", "Q").value.id
    clones.publish_profile(clone_id, name="Q", bio="", avatar_url=None)
    clones.report(clone_id, reporter="u1", reason="spam", detail="")
    clock.advance(timedelta(minutes=1))
    clones.report(clone_id, reporter="u2", reason="scam", detail="")
    clones.report(clone_id, reporter="u3", reason="spam", detail="")
    row = None
    for position, event in enumerate(clones.events.get(clone_id), start=1):
        row = fold(row, event, position)
    assert row is not None
    entry = queue_entry(row)
    assert entry is not None
    _, queued_seq, count, reasons, first_at, last_at = entry
    assert (queued_seq, count, reasons) == (3, 3, '["spam", "scam"]')
    assert last_at - first_at == 60_000_000
