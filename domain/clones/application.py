"""The clones module's eventsourcing application: its Python API.

Each command loads a clone, lets the aggregate decide (``domain.clones.clone``), and saves
under the **service clock** (clones are a user's work, not market facts), retrying a
bounded number of times when a concurrent save wins. Commands answer :class:`Recorded`:
what the caller needs, and the log position to wait for before the read models show it
(the position of the command's last event, or the log head when it recorded nothing, so
waiting for it is always enough). Entitlements come through the ``Entitlements`` port
(``domain.clones.tiers``), bound by the composition root; the tier table and the tradable
assets are handed in per call, so a change of either takes effect without a restart.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Generic, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from domain.application import ClashApplication
from domain.clones.clone import Clone
from domain.clones.errors import CloneConflict, CloneNotFound, CloneRetired, VersionNotFound
from domain.clones.profile import Profile
from domain.clones.reports import Report
from domain.clones.tiers import Entitlements, Grant, TierTable
from domain.clones.version import StrategyVersion, version_id_for

T = TypeVar("T")


@dataclass(frozen=True)
class Recorded(Generic[T]):
    """A command's result and the log position that makes it readable in the read models."""

    value: T
    position: int
    changed: bool


class CloneService(ClashApplication):
    """Clones: create, draft, lay out, publish versions and profiles, report, moderate."""

    name = "clones"
    snapshotting_intervals = {Clone: 50}
    entitlements: Entitlements | None = None

    def bind_entitlements(self, entitlements: Entitlements) -> None:
        """Set where a clone's effective tier comes from (none bound: no grant)."""
        self.entitlements = entitlements

    def create_clone(self, clone_id: UUID, owner: str, name: str) -> Recorded[Clone]:
        """Create a clone; creating the same id again for the same owner returns it."""

        def command() -> Recorded[Clone]:
            if clone_id in self.repository:
                existing = self.clone(clone_id)
                if existing.owner != owner:
                    raise CloneConflict(f"clone={clone_id} belongs to another owner")
                return Recorded(existing, self._head(), changed=False)
            return self._saved(Clone.create(clone_id, owner=owner, name=name))

        return self.run_command(command)

    def save_draft(
        self,
        clone_id: UUID,
        graph_document: object,
        *,
        known_assets: Collection[str],
        table: TierTable,
        layout: object | None = None,
    ) -> Recorded[Clone]:
        """Validate and keep a graph as the draft (and its layout, in the same save)."""

        def decide(clone: Clone) -> None:
            grant = self.effective_grant(clone_id)
            clone.save_draft(graph_document, known_assets=known_assets, grant=grant, table=table)
            if layout is not None:
                clone.save_layout(layout)

        return self._on_clone(clone_id, decide)

    def save_layout(self, clone_id: UUID, layout: object) -> Recorded[Clone]:
        """Keep the editor's node positions (never a new draft)."""
        return self._on_clone(clone_id, lambda clone: clone.save_layout(layout))

    def publish_version(
        self, clone_id: UUID, *, known_assets: Collection[str], table: TierTable
    ) -> Recorded[StrategyVersion]:
        """Compile the draft into the next version; clone and version are saved atomically."""

        def command() -> Recorded[StrategyVersion]:
            clone = self.clone(clone_id)
            grant = self.effective_grant(clone_id)
            version = clone.publish_version(known_assets=known_assets, grant=grant, table=table)
            return Recorded(version, self.save(clone, version)[-1].notification.id, True)

        return self.run_command(command)

    def publish_profile(
        self, clone_id: UUID, *, name: str, bio: str, avatar_url: str | None
    ) -> Recorded[Clone]:
        """Publish the public profile (submitted and published at once)."""
        profile = Profile.submitted(name, bio, avatar_url)
        return self._on_clone(clone_id, lambda clone: clone.publish_profile(profile))

    def report(self, clone_id: UUID, *, reporter: str, reason: str, detail: str) -> Recorded[Clone]:
        """Record a report once per reporter and moderation round."""
        submitted = Report.submitted(reason, detail)
        return self._on_clone(clone_id, lambda clone: clone.report(reporter, submitted))

    def retire(self, clone_id: UUID, *, reason: str, admin: str) -> Recorded[Clone]:
        """Retire a clone by moderation."""
        return self._on_clone(clone_id, lambda clone: clone.retire(reason=reason, admin=admin))

    def reinstate(self, clone_id: UUID, *, reason: str, admin: str) -> Recorded[Clone]:
        """Reinstate a retired clone."""
        return self._on_clone(clone_id, lambda clone: clone.reinstate(reason=reason, admin=admin))

    def dismiss_reports(self, clone_id: UUID, *, reason: str, admin: str) -> Recorded[Clone]:
        """Close a clone's open reports without retiring it."""
        return self._on_clone(
            clone_id, lambda clone: clone.dismiss_reports(reason=reason, admin=admin)
        )

    def clone(self, clone_id: UUID) -> Clone:
        """Load a clone, or raise :class:`CloneNotFound`."""
        try:
            clone: Clone = self.repository.get(clone_id)
        except AggregateNotFoundError:
            raise CloneNotFound(f"clone={clone_id}") from None
        return clone

    def version(self, version_id: UUID) -> StrategyVersion:
        """Load a published version, or raise :class:`VersionNotFound`."""
        try:
            version: StrategyVersion = self.repository.get(version_id)
        except AggregateNotFoundError:
            raise VersionNotFound(f"version={version_id}") from None
        return version

    def version_of(self, clone_id: UUID, number: int) -> StrategyVersion:
        """Load version ``number`` of a clone, or raise :class:`VersionNotFound`."""
        if number < 1:
            raise VersionNotFound(f"clone={clone_id} number={number}")
        return self.version(version_id_for(clone_id, number))

    def require_eligible(self, clone_id: UUID) -> Clone:
        """Return the clone if it may enter auditions, the Arena or races; else raise."""
        clone = self.clone(clone_id)
        if clone.is_retired:
            raise CloneRetired(f"clone={clone_id} is retired by moderation")
        return clone

    def effective_grant(self, clone_id: UUID) -> Grant | None:
        """The clone's effective entitlement (``None`` without a grant or a bound port)."""
        return None if self.entitlements is None else self.entitlements.effective_tier(clone_id)

    def _on_clone(self, clone_id: UUID, decide: Callable[[Clone], object]) -> Recorded[Clone]:
        def command() -> Recorded[Clone]:
            clone = self.clone(clone_id)
            decide(clone)
            return self._saved(clone)

        return self.run_command(command)

    def _saved(self, clone: Clone) -> Recorded[Clone]:
        if not clone.pending_events:
            return Recorded(clone, self._head(), changed=False)
        return Recorded(clone, self.save(clone)[-1].notification.id, changed=True)

    def _head(self) -> int:
        return self.recorder.max_notification_id() or 0
