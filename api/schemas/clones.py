"""Clone models of the HTTP contract (kept apart from the events they are read from).

Graph and layout documents travel as JSON objects and are validated by the domain (every
node error at once); the compiled spec is returned as its canonical document, the one its
``contentHash`` is computed over, so its keys are the spec's own (snake_case).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import Field

from api.schemas.base import ApiModel
from domain.clones.clone import Clone
from domain.clones.tiers import Grant
from domain.clones.version import StrategyVersion
from projections.clones_queries import CloneSummary


class CloneCreate(ApiModel):
    """A new clone: its private working name."""

    name: str = Field(min_length=1, max_length=200, examples=["EMA crossover"])


class DraftSave(ApiModel):
    """A graph document to validate and keep as the draft, and optionally its layout."""

    graph: dict[str, Any] = Field(description="A `clash.strategy-graph/1` document.")
    layout: dict[str, Any] | None = Field(default=None, description="Node positions, viewport.")


class LayoutSave(ApiModel):
    """Where the editor shows the nodes (never a strategy change)."""

    layout: dict[str, Any]


class ProfilePublish(ApiModel):
    """The public profile, published at once (moderation is by report)."""

    name: str = Field(max_length=200, description="1 to 48 characters once cleaned.")
    bio: str = Field(default="", max_length=2000, description="At most 500 characters.")
    avatar_url: str | None = Field(default=None, max_length=2048, description="An https URL.")


class EntitlementPublic(ApiModel):
    """The clone's effective tier; ``mock`` marks the development Starter fallback."""

    tier: str
    source: str
    mock: bool
    reference: str | None

    @classmethod
    def of(cls, grant: Grant | None) -> EntitlementPublic | None:
        """Build from the entitlement port's answer."""
        if grant is None:
            return None
        return cls(tier=grant.tier, source=grant.source, mock=grant.mock, reference=grant.reference)


class ProfilePublic(ApiModel):
    """A published profile."""

    name: str
    bio: str
    avatar_url: str | None
    published_at: datetime

    @classmethod
    def of(cls, profile: Mapping[str, Any] | None) -> ProfilePublic | None:
        """Build from a clone's profile state."""
        if profile is None:
            return None
        return cls(
            name=profile["name"],
            bio=profile["bio"],
            avatar_url=profile["avatar_url"],
            published_at=profile["published_at"],
        )


class VersionSummaryPublic(ApiModel):
    """One published version, without its documents."""

    version_id: str
    number: int
    content_hash: str
    published_at: datetime

    @classmethod
    def of(cls, summary: Mapping[str, Any]) -> VersionSummaryPublic:
        """Build from a clone's version summary."""
        return cls(
            version_id=str(summary["version_id"]),
            number=summary["number"],
            content_hash=summary["content_hash"],
            published_at=summary["published_at"],
        )


class DraftPublic(ApiModel):
    """The draft: canonical graph, its topology and number."""

    number: int
    graph: dict[str, Any]
    topology: dict[str, Any]
    saved_at: datetime


class ClonePublic(ApiModel):
    """A clone as its owner (or an admin) sees it."""

    id: str
    owner: str
    name: str
    status: str
    draft: DraftPublic | None
    layout: dict[str, Any] | None
    versions: list[VersionSummaryPublic]
    profile: ProfilePublic | None
    entitlement: EntitlementPublic | None
    open_reports: int
    created_at: datetime
    updated_at: datetime
    position: int = Field(description="Log position: read lists with `?after=` to see it.")

    @classmethod
    def of(cls, clone: Clone, grant: Grant | None, position: int) -> ClonePublic:
        """Build from the aggregate and its entitlement."""
        draft = None
        if clone.draft is not None and clone.draft_saved_at is not None:
            draft = DraftPublic(
                number=clone.draft_number,
                graph=clone.draft,
                topology=clone.draft_topology or {},
                saved_at=clone.draft_saved_at,
            )
        return cls(
            id=str(clone.id),
            owner=clone.owner,
            name=clone.name,
            status=clone.status,
            draft=draft,
            layout=clone.layout,
            versions=[VersionSummaryPublic.of(v) for v in clone.versions],
            profile=ProfilePublic.of(clone.profile),
            entitlement=EntitlementPublic.of(grant),
            open_reports=len(clone.open_reports),
            created_at=clone.created_on,
            updated_at=clone.modified_on,
            position=position,
        )


class CloneSummaryPublic(ApiModel):
    """A clone in its owner's list."""

    id: str
    name: str
    status: str
    published: bool
    latest_version_number: int | None
    draft_number: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: CloneSummary) -> CloneSummaryPublic:
        """Build from the read model."""
        return cls(
            id=row.clone_id,
            name=row.name,
            status=row.status,
            published=row.published,
            latest_version_number=row.latest_version_number,
            draft_number=row.draft_number,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


class ClonesPublic(ApiModel):
    """A page of the caller's clones."""

    data: list[CloneSummaryPublic]
    next_cursor: str | None


class VersionsPublic(ApiModel):
    """A page of a clone's versions, oldest first."""

    data: list[VersionSummaryPublic]
    next_cursor: str | None


class VersionPublic(ApiModel):
    """A published version: its graph, compiled spec and content hash."""

    version_id: str
    clone_id: str
    number: int
    content_hash: str
    graph: dict[str, Any]
    spec: dict[str, Any]
    topology: dict[str, Any]
    published_at: datetime

    @classmethod
    def of(cls, version: StrategyVersion) -> VersionPublic:
        """Build from the aggregate."""
        return cls(
            version_id=str(version.id),
            clone_id=str(version.clone_id),
            number=version.number,
            content_hash=version.content_hash,
            graph=version.graph,
            spec=version.spec_document,
            topology=version.topology_document,
            published_at=version.created_on,
        )


class VersionCreatedPublic(ApiModel):
    """A newly published version."""

    version_id: str
    number: int
    content_hash: str
    position: int


class PublicCloneProfile(ApiModel):
    """A clone's public face: its published profile."""

    clone_id: str
    name: str
    bio: str
    avatar_url: str | None
    published_at: datetime

    @classmethod
    def of_row(cls, row: CloneSummary) -> PublicCloneProfile:
        """Build from the read model (published rows only)."""
        return cls(
            clone_id=row.clone_id,
            name=row.profile_name or "",
            bio=row.profile_bio or "",
            avatar_url=row.profile_avatar_url,
            published_at=row.profile_published_at or row.updated_at,
        )

    @classmethod
    def of_clone(cls, clone: Clone) -> PublicCloneProfile:
        """Build from the aggregate (public clones only)."""
        profile = clone.profile or {}
        return cls(
            clone_id=str(clone.id),
            name=profile["name"],
            bio=profile["bio"],
            avatar_url=profile["avatar_url"],
            published_at=profile["published_at"],
        )


class PublicClonesPublic(ApiModel):
    """A page of public profiles."""

    data: list[PublicCloneProfile]
    next_cursor: str | None
