"""Every route is classified: public on purpose, or guarded by a caller dependency (API9)."""

from __future__ import annotations

from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from api.deps import access_claims

PUBLIC = {
    "/health",
    "/health/ready",
    "/health/workers",
    "/metrics",
    "/v1/auth/siwe/challenge",
    "/v1/auth/siwe/verify",
    "/v1/auth/refresh",
    "/v1/auth/logout",
    "/v1/auth/dev/login",
    "/v1/public/clones",
    "/v1/public/clones/{clone_id}",
    "/v1/arena",
    "/v1/arena/queue",
    "/v1/races",
    "/v1/races/{race_id}",
    "/v1/clones/{clone_id}/career",
    "/v1/hall-of-fame",
    "/v1/races/{race_id}/pool",
}


def _dependency_calls(route: APIRoute) -> set[str]:
    calls: set[str] = set()
    stack = list(route.dependant.dependencies)
    while stack:
        dependant = stack.pop()
        if dependant.call is not None:
            calls.add(getattr(dependant.call, "__name__", repr(dependant.call)))
        stack.extend(dependant.dependencies)
    return calls


def test_every_route_is_public_on_purpose_or_guarded(client: TestClient) -> None:
    routes = [r for r in client.app.routes if isinstance(r, APIRoute)]  # type: ignore[attr-defined]
    for route in routes:
        if route.path in PUBLIC:
            continue
        calls = _dependency_calls(route)
        if route.path.startswith("/v1/internal/"):
            assert "service_caller" in calls, route.path
        elif route.path.startswith("/v1/admin/"):
            assert "admin_user" in calls, route.path
        else:
            assert access_claims.__name__ in calls, route.path
