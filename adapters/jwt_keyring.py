"""The stored JWT keyring: rotation with overlap across every process of a deployment.

``clash admin keys rotate`` writes a new key to ``jwt_keyring`` (migration 12) that starts
signing after an announcement period, and schedules the end of the key it replaces once
the last token that key signed has expired (``domain/identity/keyring.py``). Every
process reloads the keyring at most ``CLASH_JWT_KEYRING_REFRESH_SECONDS`` apart, and the
announcement is at least twice that, so each verifier knows a key before any token
signed with it reaches it: no process restart, no user logged out.

The key material is sealed with AES-GCM under a key derived (HKDF-SHA256) from the
refresh pepper, bound to the key id; a database copy alone cannot sign tokens.
"""

from __future__ import annotations

import base64
import json
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import structlog
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from adapters.database import Database, Session, from_micros, to_micros
from domain.identity.access_tokens import AccessKey
from domain.identity.keyring import ActiveKeys, KeyRecord, active_keys, plan_rotation
from domain.identity.ports import Entropy

log = structlog.get_logger("adapters.jwt_keyring")
_SEAL_INFO = b"clash-of-clones jwt keyring v1"
_KEYRING_LOCK_KEY = 727_012


@dataclass(frozen=True)
class Rotation:
    """What ``rotate`` did: the new key and when it signs; the key it retires and when."""

    kid: str
    algorithm: str
    signs_from: datetime
    retiring_kid: str
    retiring_verifies_until: datetime


@dataclass(frozen=True)
class KeyStatus:
    """One key as ``clash admin keys list`` shows it (never its material)."""

    kid: str
    algorithm: str
    source: Literal["configured", "rotated"]
    signs_from: datetime | None
    verifies_until: datetime | None
    signing: bool
    verifying: bool


class StoredKeyRing:
    """The configured keys plus the stored keyring, cached per process."""

    def __init__(
        self,
        database: Database,
        *,
        configured: Mapping[str, AccessKey],
        configured_signer: str,
        pepper: str,
        refresh: timedelta,
    ) -> None:
        self.database = database
        self.configured = dict(configured)
        self.configured_signer = configured_signer
        self.refresh = refresh
        self._sealing = AESGCM(_sealing_key(pepper))
        self._lock = threading.Lock()
        self._records: tuple[KeyRecord, ...] = ()
        self._loaded_at: datetime | None = None

    def active(self, now: datetime) -> ActiveKeys:
        """The keys in force at ``now``, reloading the keyring when the cache is old."""
        return active_keys(self.configured, self.configured_signer, self._cached(now), now)

    def rotate(
        self,
        now: datetime,
        *,
        entropy: Entropy,
        announce: timedelta,
        token_lifetime: timedelta,
        algorithm: Literal["HS256", "EdDSA"] | None = None,
    ) -> Rotation:
        """Add a key that signs after ``announce``; schedule the current signer's end."""
        with self.database.transaction() as session:
            if session.dialect == "postgres":
                session.execute("SELECT pg_advisory_xact_lock(%s)", (_KEYRING_LOCK_KEY,))
            records = self._load(session.fetch_all("SELECT * FROM jwt_keyring"))
            current = active_keys(self.configured, self.configured_signer, records, now)
            plan = plan_rotation(
                current, records, now, announce=announce, token_lifetime=token_lifetime
            )
            alg = algorithm or current.signing_key.algorithm
            kid = f"k{now:%Y%m%d%H%M%S}-{entropy.hex(4)}"
            session.execute(
                "INSERT INTO jwt_keyring (kid, alg, sealed, signs_from, verifies_until,"
                " created_at) VALUES (%s, %s, %s, %s, NULL, %s)",
                (
                    kid,
                    alg,
                    self._seal(kid, _new_material(alg, entropy)),
                    to_micros(plan.signs_from),
                    to_micros(now),
                ),
            )
            self._schedule_end(session, plan.retiring_kid, plan.retiring_verifies_until, now)
        self._loaded_at = None
        return Rotation(kid, alg, plan.signs_from, plan.retiring_kid, plan.retiring_verifies_until)

    def statuses(self, now: datetime) -> list[KeyStatus]:
        """Every key, configured and rotated, with its schedule and state at ``now``."""
        with self.database.transaction(write=False) as session:
            rows = session.fetch_all("SELECT * FROM jwt_keyring ORDER BY created_at, kid")
        records = self._load(rows)
        active = active_keys(self.configured, self.configured_signer, records, now)
        by_kid = {r.kid: r for r in records}
        statuses = [
            _status(kid, key.algorithm, "configured", by_kid.get(kid), active)
            for kid, key in self.configured.items()
        ]
        statuses += [
            _status(r.kid, r.key.algorithm, "rotated", r, active)
            for r in records
            if r.key is not None
        ]
        return statuses

    def _cached(self, now: datetime) -> tuple[KeyRecord, ...]:
        with self._lock:
            loaded = self._loaded_at
            if loaded is None or now < loaded or now - loaded >= self.refresh:
                with self.database.transaction(write=False) as session:
                    rows = session.fetch_all("SELECT * FROM jwt_keyring")
                self._records = tuple(self._load(rows))
                self._loaded_at = now
            return self._records

    def _load(self, rows: list[dict[str, object]]) -> list[KeyRecord]:
        records = []
        for row in rows:
            kid = str(row["kid"])
            try:
                key = None if row["sealed"] is None else self._unseal(kid, row)
            except InvalidTag:
                # Sealed under another pepper: unusable here, so neither signs nor verifies.
                log.error("jwt_key_unsealable", kid=kid)
                continue
            records.append(
                KeyRecord(kid, key, _instant(row["signs_from"]), _instant(row["verifies_until"]))
            )
        return records

    def _schedule_end(self, session: Session, kid: str, until: datetime, now: datetime) -> None:
        changed = session.execute(
            "UPDATE jwt_keyring SET verifies_until = %s WHERE kid = %s",
            (to_micros(until), kid),
        )
        if not changed:
            algorithm = self.configured[kid].algorithm
            session.execute(
                "INSERT INTO jwt_keyring (kid, alg, sealed, signs_from, verifies_until,"
                " created_at) VALUES (%s, %s, NULL, NULL, %s, %s)",
                (kid, algorithm, to_micros(until), to_micros(now)),
            )

    def _seal(self, kid: str, material: dict[str, str]) -> str:
        nonce = os.urandom(12)
        sealed = self._sealing.encrypt(nonce, json.dumps(material).encode(), kid.encode())
        return "v1:" + base64.b64encode(nonce + sealed).decode()

    def _unseal(self, kid: str, row: Mapping[str, object]) -> AccessKey:
        raw = base64.b64decode(str(row["sealed"]).removeprefix("v1:"))
        material = json.loads(self._sealing.decrypt(raw[:12], raw[12:], kid.encode()))
        if material["alg"] == "HS256":
            return AccessKey("HS256", material["secret"], material["secret"])
        return AccessKey("EdDSA", material["public_key"], material["private_key"])


def _sealing_key(pepper: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_SEAL_INFO)
    return hkdf.derive(pepper.encode())


def _new_material(algorithm: str, entropy: Entropy) -> dict[str, str]:
    if algorithm == "HS256":
        return {"alg": "HS256", "secret": entropy.token(48)}
    private = Ed25519PrivateKey.generate()
    return {
        "alg": "EdDSA",
        "private_key": private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode(),
        "public_key": private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode(),
    }


def _instant(value: object) -> datetime | None:
    return None if value is None else from_micros(int(str(value)))


def _status(
    kid: str,
    algorithm: str,
    source: Literal["configured", "rotated"],
    record: KeyRecord | None,
    active: ActiveKeys,
) -> KeyStatus:
    return KeyStatus(
        kid=kid,
        algorithm=algorithm,
        source=source,
        signs_from=None if record is None else record.signs_from,
        verifies_until=None if record is None else record.verifies_until,
        signing=kid == active.signing_kid,
        verifying=kid in active.verifying,
    )
