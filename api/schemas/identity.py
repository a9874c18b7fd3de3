"""Identity request and response models (sign-in, sessions, users, service tokens)."""

from __future__ import annotations

from datetime import datetime

from pydantic import ConfigDict, Field
from pydantic.config import JsonDict

from api.schemas.base import ApiModel
from domain.identity.model import IssuedSession, ServiceTokenRecord, User

EXAMPLE_ADDRESS = "0x8ba1f109551bD432803012645Ac136ddd64DBA72"
EXAMPLE_USER: JsonDict = {
    "id": "6f1c2a4e-0b7d-4c1e-9a53-2f0e8b7d1c44",
    "wallets": [{"address": EXAMPLE_ADDRESS, "chainId": 1, "kind": "eoa"}],
    "roles": ["user"],
    "createdAt": "2026-12-01T12:00:00Z",
}


class ChallengeCreate(ApiModel):
    """Ask for a sign-in challenge for a wallet on a chain."""

    address: str = Field(max_length=64, examples=[EXAMPLE_ADDRESS])
    chain_id: int = Field(ge=1, le=2**53, examples=[1])


class ChallengePublic(ApiModel):
    """The EIP-4361 message to sign, and its single-use nonce."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "message": "localhost:8000 wants you to sign in with your Ethereum account:\n"
                    f"{EXAMPLE_ADDRESS}\n\nSign in to Clash of Clones.\n\n"
                    "URI: http://localhost:8000/login\n"
                    "Version: 1\nChain ID: 1\nNonce: 5f0c0c3bd1a24a8e9f1e3c7b2a6d9e04\n"
                    "Issued At: 2026-12-01T12:00:00.000Z\n"
                    "Expiration Time: 2026-12-01T12:10:00.000Z",
                    "nonce": "5f0c0c3bd1a24a8e9f1e3c7b2a6d9e04",
                    "issuedAt": "2026-12-01T12:00:00Z",
                    "expiresAt": "2026-12-01T12:10:00Z",
                }
            ]
        }
    )

    message: str
    nonce: str
    issued_at: datetime
    expires_at: datetime


class SignInVerify(ApiModel):
    """A signed challenge (the message exactly as issued, and the wallet's signature)."""

    message: str = Field(max_length=16_384)
    signature: str = Field(max_length=16_384, examples=["0x5c3e...1b"])


class DevLogin(ApiModel):
    """Development-only sign-in by address, without a signature."""

    address: str = Field(max_length=64, examples=[EXAMPLE_ADDRESS])


class RefreshRequest(ApiModel):
    """A refresh token to rotate."""

    refresh_token: str = Field(max_length=512)


class LogoutRequest(ApiModel):
    """The refresh token whose session (family) ends; optional when a bearer token is sent."""

    refresh_token: str | None = Field(default=None, max_length=512)


class WalletPublic(ApiModel):
    """A wallet of the user."""

    address: str
    chain_id: int
    kind: str


class UserPublic(ApiModel):
    """The signed-in user: id, wallets and roles."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE_USER]})

    id: str
    wallets: list[WalletPublic]
    roles: list[str]
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> UserPublic:
        """Build from the domain type."""
        return cls(
            id=user.id,
            wallets=[
                WalletPublic(address=w.address, chain_id=w.chain_id, kind=w.kind)
                for w in user.wallets
            ],
            roles=list(user.roles),
            created_at=user.created_at,
        )


class SessionPublic(ApiModel):
    """Tokens of a session: a short-lived access JWT and a rotating refresh token."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "accessToken": "eyJhbGciOiJIUzI1NiIsImtpZCI6ImRldiJ9.eyJzdWIi…",
                    "refreshToken": "rt_Yc1Vw3wq6m3kqU8h1o0yq1rQ2bq3T1xk0nJvQfN4s7E",
                    "tokenType": "Bearer",
                    "expiresIn": 900,
                    "user": EXAMPLE_USER,
                }
            ]
        }
    )

    access_token: str
    refresh_token: str
    token_type: str = "Bearer"
    expires_in: int = Field(description="Access-token lifetime in seconds.")
    user: UserPublic

    @classmethod
    def of(cls, session: IssuedSession) -> SessionPublic:
        """Build from the domain type."""
        return cls(
            access_token=session.access_token,
            refresh_token=session.refresh_token,
            expires_in=session.expires_in,
            user=UserPublic.of(session.user),
        )


class ServiceTokenCreate(ApiModel):
    """Create a scoped machine-to-machine token."""

    name: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9._-]*$")
    scopes: list[str] = Field(min_length=1, max_length=32, examples=[["identity:read"]])


class ServiceTokenPublic(ApiModel):
    """A service token's metadata (never its secret)."""

    id: str
    name: str
    scopes: list[str]
    status: str
    created_at: datetime

    @classmethod
    def of(cls, record: ServiceTokenRecord) -> ServiceTokenPublic:
        """Build from the domain type."""
        return cls(
            id=record.id,
            name=record.name,
            scopes=list(record.scopes),
            status=record.status,
            created_at=record.created_at,
        )


class ServiceTokenCreated(ApiModel):
    """A new service token; ``token`` is shown this once and never again."""

    token: str
    service_token: ServiceTokenPublic


class WalletOwnerPublic(ApiModel):
    """Which user a wallet address belongs to (machine-to-machine lookup)."""

    address: str
    user_id: str
