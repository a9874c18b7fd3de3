"""Sign-in with Ethereum, session refresh and logout (``/v1/auth``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response, status

from api.deps import ContainerDep, Credentials, client_ip
from api.schemas.identity import (
    ChallengeCreate,
    ChallengePublic,
    DevLogin,
    LogoutRequest,
    RefreshRequest,
    SessionPublic,
    SignInVerify,
)
from domain.identity.errors import IdentityError
from domain.identity.sign_in import read_sign_in_message

router = APIRouter(prefix="/v1/auth", tags=["auth"])
ClientIp = Annotated[str, Depends(client_ip)]
UNAUTHORIZED: dict[int | str, dict[str, Any]] = {
    401: {"description": "Rejected; the problem `type` names the reason."},
    429: {"description": "Rate limited; see `Retry-After`."},
}


@router.post("/siwe/challenge", responses=UNAUTHORIZED)
def create_challenge(
    body: ChallengeCreate, container: ContainerDep, ip: ClientIp
) -> ChallengePublic:
    """Issue an EIP-4361 message with a fresh single-use nonce (expires in 10 minutes)."""
    container.auth_rate_limiter.hit(ip=ip, address=body.address)
    challenge = container.identity.challenge(body.address, body.chain_id)
    return ChallengePublic(
        message=challenge.message,
        nonce=challenge.nonce,
        issued_at=challenge.issued_at,
        expires_at=challenge.expires_at,
    )


@router.post("/siwe/verify", responses=UNAUTHORIZED)
def verify_sign_in(body: SignInVerify, container: ContainerDep, ip: ClientIp) -> SessionPublic:
    """Verify a signed challenge; the first sign-in of a wallet creates its user."""
    container.auth_rate_limiter.hit(ip=ip, address=_address_in(body.message))
    return SessionPublic.of(container.identity.sign_in(body.message, body.signature))


@router.post("/refresh", responses=UNAUTHORIZED)
def refresh_session(body: RefreshRequest, container: ContainerDep, ip: ClientIp) -> SessionPublic:
    """Rotate a refresh token. Presenting a rotated token again revokes the whole session.

    A concurrent refresh with the same token within the grace window
    (`CLASH_REFRESH_GRACE_SECONDS`, default 10 s) receives the same successor.
    """
    container.auth_rate_limiter.hit(ip=ip)
    return SessionPublic.of(container.identity.refresh(body.refresh_token))


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, responses=UNAUTHORIZED)
def logout(body: LogoutRequest, container: ContainerDep, credentials: Credentials) -> Response:
    """End a session: revoke the refresh family of the token (or of the bearer's session)."""
    family_id = None
    if credentials is not None:
        family_id = str(container.identity.authenticate(credentials.credentials).get("sid", ""))
    container.identity.logout(refresh_token=body.refresh_token, family_id=family_id or None)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def dev_router() -> APIRouter:
    """Return the development-only login router (never mounted in production)."""
    dev = APIRouter(prefix="/v1/auth/dev", tags=["auth (development only)"])

    @dev.post("/login", responses=UNAUTHORIZED)
    def dev_login(body: DevLogin, container: ContainerDep, ip: ClientIp) -> SessionPublic:
        """Sign in as an address without a signature. Exists only in development."""
        container.auth_rate_limiter.hit(ip=ip, address=body.address)
        return SessionPublic.of(container.identity.dev_sign_in(body.address))

    return dev


def _address_in(message: str) -> str | None:
    try:
        return read_sign_in_message(message).address
    except IdentityError:
        return None
