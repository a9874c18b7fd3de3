"""The Clone aggregate: a user's strategy in the making, its versions, profile and moderation.

Decide, then evolve: each command method below checks the rules against the current state
and the pure graph and tier functions, then triggers one past-tense event; each event's
``apply`` only assigns, so history always reloads even after a rule changes.

- The draft is the canonical graph document (``StrategyGraph.to_document``) and its
  topology. Saving a graph equal to the draft records nothing. The layout (node positions,
  viewport) is its own event: moving a node is not a strategy change and never bumps the
  draft number.
- Publishing compiles the draft into an immutable :class:`StrategyVersion`, saved in the
  same ``save()`` as ``VersionPublished``. A draft that compiles to the content hash of the
  latest version is refused (:class:`NothingToPublish`).
- The public profile is published the moment it is submitted; reports flag it, admins
  retire, reinstate or dismiss. A retired clone keeps its history and its owner still reads
  it, but it is hidden from the public, cannot change its profile and may not enter
  auditions, the Arena or races (:attr:`Clone.is_retired`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from domain.aggregates import ClashAggregate
from domain.clones.errors import (
    AlreadyRetired,
    CloneNotFound,
    CloneRetired,
    InvalidName,
    MissingReason,
    NoDraft,
    NoOpenReports,
    NothingToPublish,
    NotRetired,
    OwnCloneReport,
)
from domain.clones.graph import compile_graph, parse_graph, parse_layout, topology
from domain.clones.profile import NAME_MAX, Profile, clean_text, name_fits
from domain.clones.reports import Report
from domain.clones.tiers import Grant, Stage, TierTable, guard
from domain.clones.version import StrategyVersion
from domain.trading.spec import canonical_json

REASON_MAX = 500


def _same(left: Any, right: Any) -> bool:
    return canonical_json(left) == canonical_json(right)


def _reason(reason: str) -> str:
    clean = clean_text(reason, keep_newlines=True)[:REASON_MAX]
    if not clean:
        raise MissingReason("reason must not be empty")
    return clean


class Clone(ClashAggregate):
    """A clone (state is assigned only by the events below)."""

    TOPIC: ClassVar[str] = "clones.Clone"

    class Event(ClashAggregate.Event):
        TOPIC = "clones.Clone.Event"

    class Created(Event, ClashAggregate.Created):
        TOPIC = "clones.Clone.Created"
        owner: str
        name: str

    class DraftSaved(Event):
        TOPIC = "clones.Clone.DraftSaved"
        graph: dict[str, Any]
        topology: dict[str, Any]
        draft_number: int

        def apply(self, aggregate: Clone) -> None:
            aggregate.draft, aggregate.draft_topology = self.graph, self.topology
            aggregate.draft_number, aggregate.draft_saved_at = self.draft_number, self.timestamp

    class LayoutSaved(Event):
        TOPIC = "clones.Clone.LayoutSaved"
        layout: dict[str, Any]

        def apply(self, aggregate: Clone) -> None:
            aggregate.layout = self.layout

    class VersionPublished(Event):
        TOPIC = "clones.Clone.VersionPublished"
        version_id: UUID
        number: int
        content_hash: str

        def apply(self, aggregate: Clone) -> None:
            aggregate.versions.append(
                {
                    "version_id": self.version_id,
                    "number": self.number,
                    "content_hash": self.content_hash,
                    "draft_number": aggregate.draft_number,
                    "published_at": self.timestamp,
                }
            )

    class ProfilePublished(Event):
        TOPIC = "clones.Clone.ProfilePublished"
        name: str
        bio: str
        avatar_url: str | None

        def apply(self, aggregate: Clone) -> None:
            aggregate.profile = {
                "name": self.name,
                "bio": self.bio,
                "avatar_url": self.avatar_url,
                "published_at": self.timestamp,
            }

    class Reported(Event):
        TOPIC = "clones.Clone.Reported"
        reporter: str
        reason: str
        detail: str

        def apply(self, aggregate: Clone) -> None:
            aggregate.open_reports[self.reporter] = {"reason": self.reason, "at": self.timestamp}
            aggregate.reports_total += 1

    class ModerationRetired(Event):
        TOPIC = "clones.Clone.ModerationRetired"
        reason: str
        admin: str

        def apply(self, aggregate: Clone) -> None:
            aggregate.status = "retired"
            aggregate.retirement = {"reason": self.reason, "at": self.timestamp}
            aggregate.open_reports = {}

    class ModerationReinstated(Event):
        TOPIC = "clones.Clone.ModerationReinstated"
        reason: str
        admin: str

        def apply(self, aggregate: Clone) -> None:
            aggregate.status, aggregate.retirement, aggregate.open_reports = "active", None, {}

    class ReportsDismissed(Event):
        TOPIC = "clones.Clone.ReportsDismissed"
        admin: str
        reason: str

        def apply(self, aggregate: Clone) -> None:
            aggregate.open_reports = {}

    def __init__(self, *, owner: str, name: str) -> None:
        self.owner, self.name, self.status = owner, name, "active"
        self.draft: dict[str, Any] | None = None
        self.draft_topology: dict[str, Any] | None = None
        self.draft_number = 0
        self.draft_saved_at: datetime | None = None
        self.layout: dict[str, Any] | None = None
        self.versions: list[dict[str, Any]] = []
        self.profile: dict[str, Any] | None = None
        self.open_reports: dict[str, dict[str, Any]] = {}
        self.reports_total = 0
        self.retirement: dict[str, Any] | None = None

    @classmethod
    def create(cls, clone_id: UUID, *, owner: str, name: str) -> Clone:
        """Create a clone named ``name`` (1 to 48 characters after cleaning) for ``owner``."""
        clean = clean_text(name)
        if not name_fits(clean):
            raise InvalidName(f"length={len(clean)} must be 1..{NAME_MAX} characters")
        return cls._create(cls.Created, id=clone_id, owner=owner, name=clean)

    @property
    def is_retired(self) -> bool:
        """Whether moderation retired the clone (hidden, barred from competitions)."""
        return self.status == "retired"

    @property
    def is_public(self) -> bool:
        """Whether anyone may see the clone's profile: published and not retired."""
        return self.profile is not None and not self.is_retired

    @property
    def latest_version(self) -> Mapping[str, Any] | None:
        """The newest version's summary (id, number, hash, when), or ``None``."""
        return self.versions[-1] if self.versions else None

    def save_draft(
        self,
        document: object,
        *,
        known_assets: Collection[str],
        grant: Grant | None,
        table: TierTable,
    ) -> bool:
        """Validate a graph document and make it the draft; ``False`` when unchanged."""
        graph = parse_graph(document, known_assets=known_assets)
        shape = topology(graph)
        guard(shape, stage=Stage.SAVE, grant=grant, table=table)
        canonical = graph.to_document()
        if self.draft is not None and _same(canonical, self.draft):
            return False
        self.trigger_event(
            self.DraftSaved,
            graph=canonical,
            topology=shape.to_document(),
            draft_number=self.draft_number + 1,
        )
        return True

    def save_layout(self, document: object) -> bool:
        """Keep where the editor shows the nodes; ``False`` when unchanged."""
        layout = parse_layout(document)
        if self.layout is not None and _same(layout, self.layout):
            return False
        self.trigger_event(self.LayoutSaved, layout=layout)
        return True

    def publish_version(
        self, *, known_assets: Collection[str], grant: Grant | None, table: TierTable
    ) -> StrategyVersion:
        """Compile the draft into the next immutable version (checked again, as at save)."""
        if self.draft is None:
            raise NoDraft(f"clone={self.id}")
        graph = parse_graph(self.draft, known_assets=known_assets)
        guard(topology(graph), stage=Stage.SAVE, grant=grant, table=table)
        spec = compile_graph(graph)
        latest = self.latest_version
        if latest is not None and latest["content_hash"] == spec.content_hash:
            raise NothingToPublish(f"clone={self.id} version={latest['number']} is this draft")
        number = len(self.versions) + 1
        version = StrategyVersion.publish(
            self.id, owner=self.owner, number=number, graph=graph.to_document(), spec=spec
        )
        self.trigger_event(
            self.VersionPublished,
            version_id=version.id,
            number=number,
            content_hash=version.content_hash,
        )
        return version

    def publish_profile(self, profile: Profile) -> bool:
        """Publish the public profile at once; ``False`` when it is unchanged."""
        if self.is_retired:
            raise CloneRetired(f"clone={self.id} is retired: its profile cannot change")
        current = self.profile
        if current is not None and profile == Profile(
            current["name"], current["bio"], current["avatar_url"]
        ):
            return False
        self.trigger_event(self.ProfilePublished, **profile.to_document())
        return True

    def report(self, reporter: str, report: Report) -> bool:
        """Record ``reporter``'s report once per moderation round; ``False`` when repeated."""
        if reporter == self.owner:
            raise OwnCloneReport(f"clone={self.id} reporter={reporter} is its owner")
        if not self.is_public:
            raise CloneNotFound(f"clone={self.id}")
        if reporter in self.open_reports:
            return False
        self.trigger_event(
            self.Reported, reporter=reporter, reason=report.reason.value, detail=report.detail
        )
        return True

    def retire(self, *, reason: str, admin: str) -> None:
        """Retire the clone by moderation (closes the open reports)."""
        if self.is_retired:
            raise AlreadyRetired(f"clone={self.id}")
        self.trigger_event(self.ModerationRetired, reason=_reason(reason), admin=admin)

    def reinstate(self, *, reason: str, admin: str) -> None:
        """Undo a moderation retirement (closes the open reports)."""
        if not self.is_retired:
            raise NotRetired(f"clone={self.id}")
        self.trigger_event(self.ModerationReinstated, reason=_reason(reason), admin=admin)

    def dismiss_reports(self, *, reason: str, admin: str) -> None:
        """Close the open reports without retiring the clone."""
        if not self.open_reports:
            raise NoOpenReports(f"clone={self.id}")
        self.trigger_event(self.ReportsDismissed, admin=admin, reason=_reason(reason))
