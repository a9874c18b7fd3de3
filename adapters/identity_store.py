"""Identity tables in SQL: the :class:`IdentityStore` port on the project database.

Atomicity is what matters here. A sign-in consumes its nonce with a compare-and-set
(``status = 'issued'`` to ``'used'``) in the same transaction that creates the user and the
refresh family, so a nonce can start at most one session. A refresh locks the presented
token's row (``FOR UPDATE`` on PostgreSQL; SQLite writers are serialised by
``BEGIN IMMEDIATE``), so two concurrent refreshes with one token see one after the other:
exactly one rotation happens.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from adapters.database import Database, Session, UniqueViolation, from_micros, to_micros
from adapters.refresh_unit import SqlRefreshUnit, insert_token, revoke_family
from domain.identity.errors import ServiceTokenConflict, SignInRejected
from domain.identity.model import (
    NewFamily,
    NewRefreshToken,
    NonceRecord,
    ServiceTokenRecord,
    User,
    Wallet,
)
from domain.identity.ports import IdentityStore, RefreshUnit

_CONSUME_NONCE = (
    "UPDATE siwe_nonces SET status = 'used', used_at = %s "
    "WHERE nonce = %s AND status = 'issued' AND expires_at > %s"
)
_SELECT_REFRESH = (
    "SELECT t.status, t.expires_at, t.rotated_at, t.family_id, t.successor_hash, t.successor_salt,"
    " f.user_id, f.status AS family_status, f.absolute_expires_at,"
    " s.status AS successor_status, s.expires_at AS successor_expires_at"
    " FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family_id"
    " LEFT JOIN refresh_tokens s ON s.token_hash = t.successor_hash"
    " WHERE t.token_hash = %s"
)


class SqlIdentityStore(IdentityStore):
    """Users, wallets, nonces, refresh families and service tokens as plain tables."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def save_nonce(self, record: NonceRecord) -> None:
        with self.database.transaction() as session:
            session.execute(
                "INSERT INTO siwe_nonces (nonce, address, chain_id, issued_at, expires_at, status)"
                " VALUES (%s, %s, %s, %s, %s, 'issued')",
                (
                    record.nonce,
                    record.address,
                    record.chain_id,
                    to_micros(record.issued_at),
                    to_micros(record.expires_at),
                ),
            )

    def find_nonce(self, nonce: str) -> NonceRecord | None:
        with self.database.transaction(write=False) as session:
            row = session.fetch_one("SELECT * FROM siwe_nonces WHERE nonce = %s", (nonce,))
        if row is None:
            return None
        return NonceRecord(
            nonce=row["nonce"],
            address=row["address"],
            chain_id=int(row["chain_id"]),
            issued_at=from_micros(row["issued_at"]),
            expires_at=from_micros(row["expires_at"]),
            status=row["status"],
        )

    def complete_sign_in(
        self,
        *,
        nonce: str | None,
        address: str,
        chain_id: int,
        wallet_kind: str,
        new_user_id: str,
        family: NewFamily,
        first_token: NewRefreshToken,
        now: datetime,
    ) -> str:
        # Two first sign-ins of one wallet may race to create its user (PostgreSQL runs
        # them concurrently); the loser's transaction rolls back whole and runs again.
        for attempt in range(3):
            try:
                return self._sign_in_once(
                    nonce,
                    address,
                    chain_id,
                    wallet_kind,
                    new_user_id,
                    family,
                    first_token,
                    to_micros(now),
                )
            except UniqueViolation:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _sign_in_once(
        self,
        nonce: str | None,
        address: str,
        chain_id: int,
        wallet_kind: str,
        new_user_id: str,
        family: NewFamily,
        first_token: NewRefreshToken,
        at: int,
    ) -> str:
        with self.database.transaction() as session:
            if nonce is not None and session.execute(_CONSUME_NONCE, (at, nonce, at)) != 1:
                raise SignInRejected("nonce_used")
            user_id = _user_for_wallet(session, address, chain_id, wallet_kind, new_user_id, at)
            session.execute(
                "INSERT INTO refresh_families"
                " (id, user_id, created_at, absolute_expires_at, status)"
                " VALUES (%s, %s, %s, %s, 'active')",
                (family.id, user_id, at, to_micros(family.absolute_expires_at)),
            )
            insert_token(session, first_token)
        return user_id

    def get_user(self, user_id: str) -> User | None:
        with self.database.transaction(write=False) as session:
            row = session.fetch_one("SELECT id, created_at FROM users WHERE id = %s", (user_id,))
            if row is None:
                return None
            wallets = session.fetch_all(
                "SELECT address, chain_id, kind, created_at FROM wallets WHERE user_id = %s"
                " ORDER BY created_at, address",
                (user_id,),
            )
        return User(
            id=row["id"],
            created_at=from_micros(row["created_at"]),
            wallets=tuple(
                Wallet(w["address"], int(w["chain_id"]), w["kind"], from_micros(w["created_at"]))
                for w in wallets
            ),
        )

    def user_id_for_wallet(self, address: str) -> str | None:
        with self.database.transaction(write=False) as session:
            row = session.fetch_one("SELECT user_id FROM wallets WHERE address = %s", (address,))
        return None if row is None else str(row["user_id"])

    @contextmanager
    def refresh_unit(self, token_hash: str) -> Iterator[RefreshUnit]:
        with self.database.transaction() as session:
            if session.dialect == "postgres":
                # Lock first, then read in a new statement: under READ COMMITTED a locking
                # join would re-read only the locked row, not the successor a winner inserted.
                session.execute(
                    "SELECT 1 FROM refresh_tokens WHERE token_hash = %s FOR UPDATE", (token_hash,)
                )
            row = session.fetch_one(_SELECT_REFRESH, (token_hash,))
            yield SqlRefreshUnit(session, token_hash, row)

    def revoke_family_of(
        self, *, token_hash: str | None, family_id: str | None, reason: str, now: datetime
    ) -> bool:
        with self.database.transaction() as session:
            if token_hash is not None:
                row = session.fetch_one(
                    "SELECT family_id FROM refresh_tokens WHERE token_hash = %s", (token_hash,)
                )
                family_id = None if row is None else row["family_id"]
            if family_id is None:
                return False
            return revoke_family(session, family_id, reason, to_micros(now))

    def family_is_active(self, family_id: str, now: datetime) -> bool:
        with self.database.transaction(write=False) as session:
            row = session.fetch_one(
                "SELECT 1 AS ok FROM refresh_families"
                " WHERE id = %s AND status = 'active' AND absolute_expires_at > %s",
                (family_id, to_micros(now)),
            )
        return row is not None

    def add_service_token(self, record: ServiceTokenRecord, token_hash: str) -> None:
        try:
            with self.database.transaction() as session:
                session.execute(
                    "INSERT INTO service_tokens (id, name, token_hash, scopes, created_at, status)"
                    " VALUES (%s, %s, %s, %s, %s, 'active')",
                    (
                        record.id,
                        record.name,
                        token_hash,
                        " ".join(record.scopes),
                        to_micros(record.created_at),
                    ),
                )
        except UniqueViolation as exc:
            raise ServiceTokenConflict("service_token_name_taken", f"name={record.name}") from exc

    def find_service_token(self, token_hash: str) -> ServiceTokenRecord | None:
        with self.database.transaction(write=False) as session:
            row = session.fetch_one(
                "SELECT * FROM service_tokens WHERE token_hash = %s", (token_hash,)
            )
        return None if row is None else _service_token(row)

    def list_service_tokens(self) -> list[ServiceTokenRecord]:
        with self.database.transaction(write=False) as session:
            rows = session.fetch_all("SELECT * FROM service_tokens ORDER BY created_at DESC, name")
        return [_service_token(row) for row in rows]

    def revoke_service_token(self, name: str, now: datetime) -> bool:
        with self.database.transaction() as session:
            changed = session.execute(
                "UPDATE service_tokens SET status = 'revoked', revoked_at = %s"
                " WHERE name = %s AND status = 'active'",
                (to_micros(now), name),
            )
        return changed == 1

    def purge_expired(self, now: datetime) -> int:
        at = to_micros(now)
        with self.database.transaction() as session:
            removed = session.execute("DELETE FROM siwe_nonces WHERE expires_at <= %s", (at,))
            removed += session.execute(
                "DELETE FROM refresh_tokens WHERE family_id IN"
                " (SELECT id FROM refresh_families WHERE absolute_expires_at <= %s)",
                (at,),
            )
            removed += session.execute(
                "DELETE FROM refresh_families WHERE absolute_expires_at <= %s", (at,)
            )
        return removed


def _user_for_wallet(
    session: Session, address: str, chain_id: int, kind: str, new_user_id: str, at: int
) -> str:
    row = session.fetch_one("SELECT user_id FROM wallets WHERE address = %s", (address,))
    if row is not None:
        return str(row["user_id"])
    session.execute("INSERT INTO users (id, created_at) VALUES (%s, %s)", (new_user_id, at))
    session.execute(
        "INSERT INTO wallets (address, user_id, chain_id, kind, created_at)"
        " VALUES (%s, %s, %s, %s, %s)",
        (address, new_user_id, chain_id, kind, at),
    )
    return new_user_id


def _service_token(row: dict[str, Any]) -> ServiceTokenRecord:
    return ServiceTokenRecord(
        id=row["id"],
        name=row["name"],
        scopes=tuple(row["scopes"].split()),
        created_at=from_micros(row["created_at"]),
        status=row["status"],
    )
