"""Which JWT key signs and which keys verify at an instant, and how a rotation is planned.

Keys come from two places: the configured ``CLASH_JWT_KEYS`` (with ``CLASH_JWT_SIGNING_KID``)
and the keys ``clash admin keys rotate`` added to the stored keyring. A rotated key is
announced before it signs: every process learns it as a verifier first (processes reload
the keyring on a short period), then it starts signing at ``signs_from``. The key it takes
over from keeps verifying until the last token it signed has expired (``verifies_until``
= ``signs_from`` + access-token lifetime + leeway), so no signed-in user is logged out.
Pure functions of the records and ``now``: the adapter stores and caches them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.identity.access_tokens import AccessKey


class RotationRefused(Exception):
    """A rotation cannot be planned now; ``reason`` says why."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class KeyRecord:
    """One key's schedule; ``key`` is None for a configured key (its material is in settings)."""

    kid: str
    key: AccessKey | None
    signs_from: datetime | None
    verifies_until: datetime | None


@dataclass(frozen=True)
class ActiveKeys:
    """The keys in force at an instant."""

    signing_kid: str
    signing_key: AccessKey
    verifying: Mapping[str, AccessKey]


@dataclass(frozen=True)
class RotationPlan:
    """What a rotation stores: the new key's start and the retiring key's end."""

    retiring_kid: str
    signs_from: datetime
    retiring_verifies_until: datetime


@dataclass(frozen=True)
class ConfiguredKeys:
    """The configured keys alone (no stored keyring): tests and single-key deployments."""

    keys: Mapping[str, AccessKey]
    signing_kid: str

    def active(self, now: datetime) -> ActiveKeys:
        """The configured signer and every configured key."""
        return active_keys(self.keys, self.signing_kid, (), now)


def active_keys(
    configured: Mapping[str, AccessKey],
    configured_signer: str,
    records: Sequence[KeyRecord],
    now: datetime,
) -> ActiveKeys:
    """The signer (the rotated key that started last, else the configured one) and verifiers."""
    ends = {r.kid: r.verifies_until for r in records}
    verifying = {kid: key for kid, key in configured.items() if _in_force(ends.get(kid), now)}
    stored = {r.kid: r.key for r in records if r.key is not None}
    verifying |= {kid: key for kid, key in stored.items() if _in_force(ends[kid], now)}
    started = [r for r in records if r.key is not None and r.signs_from and r.signs_from <= now]
    if started:
        latest = max(started, key=lambda r: r.signs_from or now)
        return ActiveKeys(latest.kid, stored[latest.kid], verifying)
    return ActiveKeys(configured_signer, configured[configured_signer], verifying)


def plan_rotation(
    active: ActiveKeys,
    records: Sequence[KeyRecord],
    now: datetime,
    *,
    announce: timedelta,
    token_lifetime: timedelta,
) -> RotationPlan:
    """Plan a new key signing after ``announce``; refuse while another rotation is pending."""
    pending = [r for r in records if r.key is not None and r.signs_from and r.signs_from > now]
    if pending:
        raise RotationRefused(
            "rotation_pending", f"kid={pending[0].kid} starts signing at {pending[0].signs_from}"
        )
    signs_from = now + announce
    return RotationPlan(active.signing_kid, signs_from, signs_from + token_lifetime)


def _in_force(verifies_until: datetime | None, now: datetime) -> bool:
    return verifies_until is None or now < verifies_until
