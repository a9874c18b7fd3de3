"""One locked refresh in SQL: the presented token, its family, and the writes a decision needs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from adapters.database import Session, UniqueViolation, from_micros, to_micros
from domain.identity.model import NewRefreshToken
from domain.identity.ports import RefreshUnit
from domain.identity.refresh import FamilyState, RefreshTokenState

_INSERT_TOKEN = (
    "INSERT INTO refresh_tokens (token_hash, family_id, parent_hash, status, issued_at, expires_at)"
    " VALUES (%s, %s, %s, 'active', %s, %s)"
)


class SqlRefreshUnit(RefreshUnit):
    def __init__(self, session: Session, token_hash: str, row: dict[str, Any] | None) -> None:
        self._session = session
        self._hash = token_hash
        self.token = None
        self.family = None
        self.family_id = self.user_id = ""
        self.successor_hash = self.successor_salt = None
        self.successor_expires_at = None
        if row is not None:
            self._load(row)

    def _load(self, row: dict[str, Any]) -> None:
        rotated = row["rotated_at"]
        self.token = RefreshTokenState(
            status=row["status"],
            expires_at=from_micros(row["expires_at"]),
            rotated_at=None if rotated is None else from_micros(rotated),
            successor_active=row["successor_status"] == "active",
        )
        self.family = FamilyState(row["family_status"], from_micros(row["absolute_expires_at"]))
        self.family_id, self.user_id = row["family_id"], row["user_id"]
        self.successor_hash, self.successor_salt = row["successor_hash"], row["successor_salt"]
        if row["successor_expires_at"] is not None:
            self.successor_expires_at = from_micros(row["successor_expires_at"])

    def rotate(self, *, salt: str, successor: NewRefreshToken, now: datetime) -> None:
        changed = self._session.execute(
            "UPDATE refresh_tokens SET status = 'rotated', rotated_at = %s,"
            " successor_hash = %s, successor_salt = %s WHERE token_hash = %s AND status = 'active'",
            (to_micros(now), successor.token_hash, salt, self._hash),
        )
        if changed != 1:
            raise UniqueViolation("refresh token changed while locked")
        insert_token(self._session, successor)

    def revoke_family(self, *, reason: str, now: datetime) -> None:
        revoke_family(self._session, self.family_id, reason, to_micros(now))


def insert_token(session: Session, token: NewRefreshToken) -> None:
    session.execute(
        _INSERT_TOKEN,
        (
            token.token_hash,
            token.family_id,
            token.parent_hash,
            to_micros(token.issued_at),
            to_micros(token.expires_at),
        ),
    )


def revoke_family(session: Session, family_id: str, reason: str, at: int) -> bool:
    changed = session.execute(
        "UPDATE refresh_families SET status = 'revoked', revoked_at = %s, revoked_reason = %s"
        " WHERE id = %s AND status = 'active'",
        (at, reason, family_id),
    )
    session.execute(
        "UPDATE refresh_tokens SET status = 'revoked' WHERE family_id = %s AND status = 'active'",
        (family_id,),
    )
    return changed == 1
