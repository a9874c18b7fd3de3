"""Reports: why a signed-in user flags a public clone, and what the moderation queue keeps.

A report is one user's concern about one public clone. It is deduplicated per reporter
within a moderation round: a second report by the same reporter records nothing and answers
the same, until an admin acts on the clone (retire, reinstate or dismiss), which closes the
round. A reporter may then flag the clone again (its profile may have changed since).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from domain.clones.errors import InvalidReport
from domain.clones.profile import clean_text

DETAIL_MAX = 500


class ReportReason(StrEnum):
    """The reasons a clone may be reported for (stable codes)."""

    SPAM = "spam"
    ABUSE = "abuse"
    IMPERSONATION = "impersonation"
    SCAM = "scam"
    OTHER = "other"


@dataclass(frozen=True)
class Report:
    """A clean report: its reason and an optional detail."""

    reason: ReportReason
    detail: str

    @classmethod
    def submitted(cls, reason: str, detail: str) -> Report:
        """Check and clean what a reporter submitted (raise :class:`InvalidReport`)."""
        try:
            known = ReportReason(reason)
        except ValueError:
            raise InvalidReport(f"reason={reason[:40]!r} is not a report reason") from None
        clean = clean_text(detail, keep_newlines=True)
        if len(clean) > DETAIL_MAX:
            raise InvalidReport(f"detail length={len(clean)} must be at most {DETAIL_MAX}")
        return cls(known, clean)
