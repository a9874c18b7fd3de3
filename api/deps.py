"""Request dependencies: the container, and who is calling.

Three kinds of caller, never interchangeable:

- ``CurrentUser``: a user's access JWT in ``Authorization: Bearer``;
- ``AdminUser``: the same, and the user's wallets (re-read from the database on every
  request, not trusted from the token) include a configured admin address;
- ``ServiceCaller(scope)``: a service token (``st_...``) holding ``scope``; user JWTs are
  refused on machine-to-machine routes, and service tokens on user routes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from adapters.bootstrap import Container
from api.errors import AuthenticationRequired, Forbidden
from domain.identity.errors import TokenRejected
from domain.identity.model import ServiceTokenRecord, User
from domain.identity.refresh import SERVICE_TOKEN_PREFIX

bearer = HTTPBearer(auto_error=False, description="An access token or a service token.")


def get_container(request: Request) -> Container:
    """Return the container the app was built with."""
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def client_ip(request: Request) -> str:
    """Return the client address the server saw (set ``--proxy-headers`` behind a proxy)."""
    return request.client.host if request.client else "unknown"


def access_claims(container: ContainerDep, credentials: Credentials) -> dict[str, Any]:
    """Decode the caller's access token, refusing missing tokens and service tokens."""
    if credentials is None:
        raise AuthenticationRequired("missing_credentials", "send Authorization: Bearer <token>")
    if credentials.credentials.startswith(SERVICE_TOKEN_PREFIX):
        raise TokenRejected("wrong_token_kind", "service tokens are for /v1/internal routes")
    return container.identity.authenticate(credentials.credentials)


Claims = Annotated[dict[str, Any], Depends(access_claims)]


def current_user(container: ContainerDep, claims: Claims) -> User:
    """Return the signed-in user."""
    return container.identity.user(str(claims["sub"]))


def admin_user(user: Annotated[User, Depends(current_user)]) -> User:
    """Return the signed-in user if they are an admin."""
    if not user.is_admin:
        raise Forbidden("admin_required", "this route is for administrators")
    return user


CurrentUser = Annotated[User, Depends(current_user)]
AdminUser = Annotated[User, Depends(admin_user)]


def ServiceCaller(scope: str) -> Callable[..., ServiceTokenRecord]:  # noqa: N802
    """Return a dependency that admits only a service token holding ``scope``."""

    def service_caller(container: ContainerDep, credentials: Credentials) -> ServiceTokenRecord:
        if credentials is None:
            raise AuthenticationRequired("missing_credentials", "send a service token")
        if not credentials.credentials.startswith(SERVICE_TOKEN_PREFIX):
            raise AuthenticationRequired("service_token_required", "user tokens are refused here")
        return container.identity.service_tokens.authenticate(credentials.credentials, scope)

    return service_caller
