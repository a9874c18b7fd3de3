"""The clones module through its Python API, on the in-memory store and a simulated clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid5

import pytest
from eventsourcing.persistence import IntegrityError

from domain.clock import SimulatedClock
from domain.clones.application import CloneService
from domain.clones.clone import Clone
from domain.clones.errors import (
    AlreadyRetired,
    CloneConflict,
    CloneNotFound,
    CloneRetired,
    InvalidName,
    NoDraft,
    NoOpenReports,
    NothingToPublish,
    NotRetired,
    OwnCloneReport,
    VersionNotFound,
)
from domain.clones.graph_errors import GraphInvalid, LayoutInvalid
from domain.clones.tiers import Grant, TierLimits, TierTable, TopologyBeyondEveryTier
from domain.clones.version import StrategyVersion, version_id_for
from tests.domain.clones.graph_examples import ASSETS, ema_crossover

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
NS = UUID("9a7b8c6d-1e2f-4a3b-8c4d-5e6f7a8b9c0d")
TABLE = TierTable()
LAYOUT = {"nodes": {"btc": {"x": 10, "y": 20}}, "viewport": {"zoom": 1}}


def _id(name: str) -> UUID:
    return uuid5(NS, name)


class Entitled:
    """The port answering a fixed grant (or none)."""

    def __init__(self, grant: Grant | None = None) -> None:
        self.grant = grant

    def effective_tier(self, clone_id: UUID) -> Grant | None:
        return self.grant


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(T0)


@pytest.fixture
def service(clock: SimulatedClock) -> CloneService:
    app = CloneService(clock=clock)
    app.bind_entitlements(Entitled(Grant("starter", source="admin")))
    return app


def _created(service: CloneService, name: str = "alpha", owner: str = "u1") -> UUID:
    return service.create_clone(_id(name), owner, "Alpha").value.id


def _drafted(service: CloneService, graph: dict[str, Any] | None = None) -> UUID:
    clone_id = _created(service)
    service.save_draft(clone_id, graph or ema_crossover(), known_assets=ASSETS, table=TABLE)
    return clone_id


def _slower(graph: dict[str, Any]) -> dict[str, Any]:
    graph["nodes"][2]["params"]["channel"] = "ema:50"
    return graph


def _published(service: CloneService) -> UUID:
    clone_id = _created(service)
    service.publish_profile(clone_id, name="Alpha", bio="EMA", avatar_url=None)
    return clone_id


# --- create ---------------------------------------------------------------------------


def test_create_stamps_the_service_clock_and_cleans_the_name(service: CloneService) -> None:
    recorded = service.create_clone(_id("a"), "u1", "  Alpha\tOne\x00 ")
    assert recorded.value.name == "Alpha One"
    assert recorded.value.created_on == T0
    assert (recorded.changed, recorded.position) == (True, 1)


def test_create_again_by_the_owner_returns_the_clone_without_an_event(
    service: CloneService,
) -> None:
    service.create_clone(_id("a"), "u1", "Alpha")
    again = service.create_clone(_id("a"), "u1", "Other name")
    assert (again.changed, again.value.name, again.value.version) == (False, "Alpha", 1)


def test_create_of_an_id_owned_by_another_is_a_conflict(service: CloneService) -> None:
    service.create_clone(_id("a"), "u1", "Alpha")
    with pytest.raises(CloneConflict):
        service.create_clone(_id("a"), "u2", "Alpha")


@pytest.mark.parametrize("name", ["", "   ", "\x00\x01", "x" * 49])
def test_create_refuses_names_outside_1_to_48_characters(service: CloneService, name: str) -> None:
    with pytest.raises(InvalidName):
        service.create_clone(_id("a"), "u1", name)


def test_unknown_clone_is_not_found(service: CloneService) -> None:
    with pytest.raises(CloneNotFound):
        service.clone(_id("nope"))


# --- drafts and layouts ---------------------------------------------------------------


def test_saving_a_draft_keeps_the_canonical_graph_and_topology(service: CloneService) -> None:
    clone = service.clone(_drafted(service))
    assert clone.draft_number == 1
    assert clone.draft is not None
    assert [n["id"] for n in clone.draft["nodes"]] == sorted(n["id"] for n in clone.draft["nodes"])
    assert clone.draft_topology == {
        "nodes": 7,
        "assets": 1,
        "model_nodes": 0,
        "strongest_model": None,
        "fastest_cadence": "5m",
    }


def test_saving_the_same_graph_again_records_nothing(service: CloneService) -> None:
    clone_id = _drafted(service)
    again = service.save_draft(clone_id, ema_crossover(), known_assets=ASSETS, table=TABLE)
    assert (again.changed, again.value.draft_number) == (False, 1)


def test_a_changed_graph_bumps_the_draft_number(service: CloneService) -> None:
    clone_id = _drafted(service)
    saved = service.save_draft(clone_id, _slower(ema_crossover()), known_assets=ASSETS, table=TABLE)
    assert (saved.changed, saved.value.draft_number) == (True, 2)


def test_a_layout_change_keeps_the_draft_number_and_graph(service: CloneService) -> None:
    clone_id = _drafted(service)
    before = service.clone(clone_id).draft
    saved = service.save_layout(clone_id, LAYOUT)
    assert saved.changed
    assert saved.value.layout == LAYOUT
    assert (saved.value.draft_number, saved.value.draft) == (1, before)


def test_draft_and_layout_in_one_command_are_one_save(service: CloneService) -> None:
    clone_id = _created(service)
    saved = service.save_draft(
        clone_id, ema_crossover(), known_assets=ASSETS, table=TABLE, layout=LAYOUT
    )
    assert (saved.value.version, saved.value.layout) == (3, LAYOUT)
    assert saved.position == 3


def test_an_invalid_graph_lists_every_node_error_and_records_nothing(
    service: CloneService,
) -> None:
    clone_id = _created(service)
    graph = ema_crossover()
    graph["nodes"][0]["params"]["asset"] = "DOGE"
    graph["nodes"][5]["params"]["leverage"] = 0
    with pytest.raises(GraphInvalid) as raised:
        service.save_draft(clone_id, graph, known_assets=ASSETS, table=TABLE)
    assert {e.node for e in raised.value.errors} >= {"btc", "risk"}
    assert service.clone(clone_id).version == 1


def test_an_invalid_layout_records_nothing(service: CloneService) -> None:
    clone_id = _drafted(service)
    with pytest.raises(LayoutInvalid):
        service.save_layout(clone_id, {"nodes": [], "other": 1})
    assert service.clone(clone_id).layout is None


def test_a_graph_beyond_every_tier_is_refused_at_save(service: CloneService) -> None:
    clone_id = _created(service)
    only_slow = TierTable([TierLimits("starter", 1, 16, 3, 1, "basic", "15m", 3, 24, 3, 1, 1)])
    with pytest.raises(TopologyBeyondEveryTier) as raised:
        service.save_draft(clone_id, ema_crossover(), known_assets=ASSETS, table=only_slow)
    assert [(v.limit, v.allowed, v.actual) for v in raised.value.violations] == [
        ("cadence", "15m", "5m")
    ]


# --- versions -------------------------------------------------------------------------


def test_publishing_records_the_version_and_the_clone_event_together(
    service: CloneService,
) -> None:
    clone_id = _drafted(service)
    recorded = service.publish_version(clone_id, known_assets=ASSETS, table=TABLE)
    version = recorded.value
    clone = service.clone(clone_id)
    assert version.id == version_id_for(clone_id, 1)
    assert service.version(version.id).content_hash == version.spec.content_hash
    assert clone.latest_version is not None
    assert clone.latest_version["content_hash"] == version.content_hash
    assert recorded.position == service.recorder.max_notification_id()


def test_a_second_version_gets_number_two_and_another_hash(service: CloneService) -> None:
    clone_id = _drafted(service)
    first = service.publish_version(clone_id, known_assets=ASSETS, table=TABLE).value
    service.save_draft(clone_id, _slower(ema_crossover()), known_assets=ASSETS, table=TABLE)
    second = service.publish_version(clone_id, known_assets=ASSETS, table=TABLE).value
    assert (first.number, second.number) == (1, 2)
    assert first.content_hash != second.content_hash
    assert service.version_of(clone_id, 2).spec.risk.leverage == 3


def test_publishing_an_unchanged_draft_is_nothing_to_publish(service: CloneService) -> None:
    clone_id = _drafted(service)
    service.publish_version(clone_id, known_assets=ASSETS, table=TABLE)
    service.save_layout(clone_id, LAYOUT)
    with pytest.raises(NothingToPublish):
        service.publish_version(clone_id, known_assets=ASSETS, table=TABLE)
    assert len(service.clone(clone_id).versions) == 1


def test_publishing_without_a_draft_is_refused(service: CloneService) -> None:
    with pytest.raises(NoDraft):
        service.publish_version(_created(service), known_assets=ASSETS, table=TABLE)


def test_an_unknown_version_is_not_found(service: CloneService) -> None:
    clone_id = _drafted(service)
    with pytest.raises(VersionNotFound):
        service.version_of(clone_id, 1)
    with pytest.raises(VersionNotFound):
        service.version_of(clone_id, 0)


def test_a_version_can_never_be_recorded_twice(service: CloneService) -> None:
    clone_id = _drafted(service)
    version = service.publish_version(clone_id, known_assets=ASSETS, table=TABLE).value
    with service.clocked():
        duplicate = StrategyVersion.publish(
            clone_id, owner="u1", number=1, graph=version.graph, spec=version.spec
        )
    with pytest.raises(IntegrityError):
        service.save(duplicate)


# --- profile --------------------------------------------------------------------------


def test_a_profile_is_published_at_once_and_cleaned(service: CloneService) -> None:
    clone_id = _created(service)
    recorded = service.publish_profile(
        clone_id, name="\u202eAlpha ", bio="line one\r\nline two", avatar_url=None
    )
    assert recorded.value.profile is not None
    assert recorded.value.profile["name"] == "Alpha"
    assert recorded.value.profile["bio"] == "line one\nline two"
    assert recorded.value.is_public


def test_publishing_the_same_profile_again_records_nothing(service: CloneService) -> None:
    clone_id = _published(service)
    again = service.publish_profile(clone_id, name="Alpha", bio="EMA", avatar_url=None)
    assert not again.changed


def test_a_retired_clone_cannot_change_its_profile(service: CloneService) -> None:
    clone_id = _published(service)
    service.retire(clone_id, reason="scam", admin="a1")
    with pytest.raises(CloneRetired):
        service.publish_profile(clone_id, name="New", bio="", avatar_url=None)


# --- reports and moderation -----------------------------------------------------------


def test_a_report_is_recorded_once_per_reporter(service: CloneService) -> None:
    clone_id = _published(service)
    first = service.report(clone_id, reporter="u2", reason="spam", detail="ads")
    second = service.report(clone_id, reporter="u2", reason="scam", detail="")
    clone = service.clone(clone_id)
    assert (first.changed, second.changed) == (True, False)
    assert (clone.reports_total, list(clone.open_reports)) == (1, ["u2"])


def test_the_owner_cannot_report_their_own_clone(service: CloneService) -> None:
    with pytest.raises(OwnCloneReport):
        service.report(_published(service), reporter="u1", reason="spam", detail="")


def test_a_clone_that_is_not_public_cannot_be_reported(service: CloneService) -> None:
    with pytest.raises(CloneNotFound):
        service.report(_created(service), reporter="u2", reason="spam", detail="")


def test_dismissing_reports_opens_a_new_round_for_the_same_reporter(
    service: CloneService,
) -> None:
    clone_id = _published(service)
    service.report(clone_id, reporter="u2", reason="spam", detail="")
    service.dismiss_reports(clone_id, reason="fine", admin="a1")
    again = service.report(clone_id, reporter="u2", reason="abuse", detail="")
    assert again.changed
    assert service.clone(clone_id).reports_total == 2


def test_retire_hides_and_bars_the_clone_and_reinstate_undoes_it(
    service: CloneService, clock: SimulatedClock
) -> None:
    clone_id = _published(service)
    service.report(clone_id, reporter="u2", reason="scam", detail="")
    clock.advance(timedelta(minutes=5))
    retired = service.retire(clone_id, reason="scam confirmed", admin="a1").value
    assert (retired.is_retired, retired.is_public, retired.open_reports) == (True, False, {})
    assert retired.modified_on == T0 + timedelta(minutes=5)
    with pytest.raises(CloneRetired):
        service.require_eligible(clone_id)
    service.reinstate(clone_id, reason="appeal", admin="a1")
    assert service.require_eligible(clone_id).is_public


def test_moderation_refuses_actions_that_change_nothing(service: CloneService) -> None:
    clone_id = _published(service)
    with pytest.raises(NotRetired):
        service.reinstate(clone_id, reason="x", admin="a1")
    with pytest.raises(NoOpenReports):
        service.dismiss_reports(clone_id, reason="x", admin="a1")
    service.retire(clone_id, reason="x", admin="a1")
    with pytest.raises(AlreadyRetired):
        service.retire(clone_id, reason="x", admin="a1")


# --- replay ---------------------------------------------------------------------------


def test_a_reloaded_clone_equals_the_live_one_past_a_snapshot(service: CloneService) -> None:
    clone_id = _drafted(service)
    for x in range(60):  # more than the snapshot interval
        service.save_layout(clone_id, {"nodes": {"btc": {"x": x, "y": 0}}})
    live = service.clone(clone_id)
    replayed: Clone | None = None
    for event in service.events.get(clone_id):
        replayed = event.mutate(replayed)
    assert service.snapshots is not None
    assert list(service.snapshots.get(clone_id))
    assert live.version == 62
    assert replayed is not None
    assert vars(replayed) == vars(live)
