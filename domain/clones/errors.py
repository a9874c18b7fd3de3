"""The clones module's error tree: commands that cannot be recorded, each with a stable reason.

Every class names the broken rule and carries a ``reason`` (snake_case, stable: the API turns
it into ``urn:clash:problem:clones:<reason>``) and a ``field=value`` detail. Graph and layout
problems are not here: they are ``domain.clones.graph_errors`` (every node error at once),
and entitlement problems are ``domain.clones.tiers``.
"""

from __future__ import annotations


class CloneError(Exception):
    """Root of every clones-module error."""

    reason = "clone_error"

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or self.reason)
        self.detail = detail


class CloneNotFound(CloneError):
    """Raised when a clone id names no clone the caller may see."""

    reason = "clone_not_found"


class VersionNotFound(CloneError):
    """Raised when a version id (or a clone's version number) names no published version."""

    reason = "version_not_found"


class CloneConflict(CloneError):
    """Raised when a clone id is created again for another owner."""

    reason = "clone_id_conflict"


class InvalidName(CloneError):
    """Raised when a clone name is empty or longer than allowed (after control characters)."""

    reason = "invalid_name"


class NoDraft(CloneError):
    """Raised when a version is published before any draft was saved."""

    reason = "no_draft"


class NothingToPublish(CloneError):
    """Raised when the draft compiles to the same strategy as the latest version."""

    reason = "nothing_to_publish"


class InvalidProfile(CloneError):
    """Raised when a profile field breaks its rule (the field is named)."""

    reason = "invalid_profile"

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(f"field={field} {detail}")
        self.field = field


class InvalidReport(CloneError):
    """Raised when a report's reason is not one of the known reasons or its detail is long."""

    reason = "invalid_report"


class OwnCloneReport(CloneError):
    """Raised when an owner reports their own clone."""

    reason = "own_clone_report"


class CloneRetired(CloneError):
    """Raised when a moderation-retired clone is asked to do what retirement forbids."""

    reason = "clone_retired"


class AlreadyRetired(CloneError):
    """Raised when a retired clone is retired again."""

    reason = "already_retired"


class NotRetired(CloneError):
    """Raised when a clone that is not retired is reinstated."""

    reason = "not_retired"


class NoOpenReports(CloneError):
    """Raised when reports are dismissed on a clone that has none open."""

    reason = "no_open_reports"


class MissingReason(CloneError):
    """Raised when a moderation action comes without a reason."""

    reason = "reason_required"
