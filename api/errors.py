"""RFC 9457 problem details: one table from errors to status codes and stable types.

Every error response of the API is ``application/problem+json`` with a ``type`` that never
changes for a given cause (``urn:clash:problem:sign-in:nonce-used``), a human ``title``,
the ``status``, a ``detail`` when there is something to add, and the ``requestId``.
Clients branch on ``type``. Validation errors are problems too (``validation-error``, with
the failing fields but never the submitted values, which may be secrets). Unexpected
errors answer a generic 500 with no traceback; the log has the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from adapters.database import DatabaseUnavailable
from adapters.rate_limits import RateLimited
from api.pagination import BadCursor
from domain.application import ConcurrentModification
from domain.identity.errors import (
    ChallengeRefused,
    RefreshRejected,
    ServiceTokenConflict,
    ServiceTokenRejected,
    SignInRejected,
    TokenRejected,
    UserNotFound,
)
from domain.market.errors import BadChannel, BadRange, UnknownAsset, UnknownChannel
from domain.market.intervals import UnknownInterval
from domain.prop.errors import AccountNotFound, AccountNotOpen, InvalidCommand, OrderConflict
from projections.prop_reads import ProjectionLagging

PROBLEM_JSON = "application/problem+json"
PROBLEM_PREFIX = "urn:clash:problem:"
log = structlog.get_logger("api.errors")


class AuthenticationRequired(Exception):
    """Raised when a route needs credentials and none (or the wrong kind) came."""

    def __init__(self, reason: str = "missing_credentials", detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


class Forbidden(Exception):
    """Raised when the caller is known but lacks the role the route needs."""

    def __init__(self, reason: str = "forbidden", detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


class PayloadTooLarge(Exception):
    """Raised when a request body exceeds the route's size limit."""


@dataclass(frozen=True)
class ProblemKind:
    """How one error class is shown: status, type category, title, and the reason used when
    the error carries none of its own."""

    status: int
    category: str
    title: str
    default_reason: str = "error"


PROBLEMS: dict[type[Exception], ProblemKind] = {
    SignInRejected: ProblemKind(401, "sign-in", "Sign-in rejected"),
    ChallengeRefused: ProblemKind(400, "sign-in", "Challenge refused"),
    TokenRejected: ProblemKind(401, "token", "Access token rejected"),
    RefreshRejected: ProblemKind(401, "refresh", "Refresh token rejected"),
    ServiceTokenRejected: ProblemKind(401, "service-token", "Service token rejected"),
    ServiceTokenConflict: ProblemKind(409, "service-token", "Service token conflict"),
    UserNotFound: ProblemKind(404, "identity", "Not found"),
    AuthenticationRequired: ProblemKind(401, "auth", "Authentication required"),
    Forbidden: ProblemKind(403, "auth", "Forbidden"),
    RateLimited: ProblemKind(429, "rate-limit", "Too many requests", "exceeded"),
    PayloadTooLarge: ProblemKind(413, "request", "Payload too large", "too-large"),
    ConcurrentModification: ProblemKind(409, "concurrency", "Concurrent modification", "retry"),
    DatabaseUnavailable: ProblemKind(503, "service", "Service unavailable", "database"),
    UnknownAsset: ProblemKind(404, "market", "Unknown asset"),
    UnknownChannel: ProblemKind(404, "market", "Channel not subscribed"),
    BadChannel: ProblemKind(422, "market", "Bad channel"),
    BadRange: ProblemKind(422, "market", "Bad time range"),
    UnknownInterval: ProblemKind(422, "market", "Unknown interval", "unknown_interval"),
    BadCursor: ProblemKind(422, "request", "Bad cursor"),
    AccountNotFound: ProblemKind(404, "prop", "Account not found"),
    OrderConflict: ProblemKind(409, "prop", "Client order id conflict"),
    AccountNotOpen: ProblemKind(409, "prop", "Account closed"),
    InvalidCommand: ProblemKind(422, "prop", "Invalid command"),
    ProjectionLagging: ProblemKind(503, "prop", "Read models lagging"),
}
STATUS_OVERRIDES = {("service-token", "scope_missing"): 403}


def problem_type(category: str, reason: str) -> str:
    """Return the stable problem type URI of a category and reason."""
    return f"{PROBLEM_PREFIX}{category}:{reason.replace('_', '-')}"


def problem_response(
    request: Request,
    *,
    status: int,
    type_: str,
    title: str,
    detail: str = "",
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """Build one problem+json response."""
    body: dict[str, Any] = {"type": type_, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body["instance"] = request.url.path
    body["requestId"] = getattr(request.state, "request_id", None)
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _known_error(request: Request, exc: Exception) -> JSONResponse:
    kind = next(k for cls, k in PROBLEMS.items() if isinstance(exc, cls))
    reason = getattr(exc, "reason", None) or kind.default_reason
    status = STATUS_OVERRIDES.get((kind.category, reason), kind.status)
    headers: dict[str, str] = {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, ProjectionLagging):
        headers["Retry-After"] = "1"
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    if status >= 500:
        log.warning("dependency_unavailable", error=type(exc).__name__)
    return problem_response(
        request,
        status=status,
        type_=problem_type(kind.category, reason),
        title=kind.title,
        detail=str(getattr(exc, "detail", "") or ""),
        headers=headers or None,
    )


def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    fields = [
        {
            "location": [str(part) for part in error.get("loc", ())],
            "message": error.get("msg", ""),
            "code": error.get("type", ""),
        }
        for error in errors
    ]
    return problem_response(
        request,
        status=422,
        type_=problem_type("request", "validation_error"),
        title="Request validation failed",
        errors=fields,
    )


def _http_error(request: Request, exc: Exception) -> JSONResponse:
    status = exc.status_code if isinstance(exc, StarletteHTTPException) else 500
    reason = {404: "not_found", 405: "method_not_allowed"}.get(status, f"http_{status}")
    title = exc.detail if isinstance(exc, StarletteHTTPException) else "Error"
    headers = getattr(exc, "headers", None)
    return problem_response(
        request,
        status=status,
        type_=problem_type("request", reason),
        title=str(title),
        headers=headers,
    )


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled_error", error=type(exc).__name__, path=request.url.path, exc_info=exc)
    return problem_response(
        request, status=500, type_=problem_type("service", "internal_error"), title="Internal error"
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Register every handler on ``app``."""
    handlers: dict[type[Exception], Callable[[Request, Exception], JSONResponse]] = {
        cls: _known_error for cls in PROBLEMS
    }
    handlers[RequestValidationError] = _validation_error
    handlers[StarletteHTTPException] = _http_error
    handlers[Exception] = _unexpected
    for cls, handler in handlers.items():
        app.add_exception_handler(cls, handler)
