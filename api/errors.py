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
from adapters.dead_letters import DeadLetterNotFound
from adapters.idempotency import IdempotencyInProgress, IdempotencyKeyReused
from adapters.rate_limits import RateLimited
from api.pagination import BadCursor
from domain.application import ConcurrentModification
from domain.backtesting.errors import (
    BacktestError,
    BacktestFinished,
    BacktestNotFound,
    BadBacktestWindow,
    CapExceeded,
    QuotaExceeded,
    ResultsNotReady,
)
from domain.clones.errors import (
    AlreadyRetired,
    CloneConflict,
    CloneNotFound,
    CloneRetired,
    InvalidName,
    InvalidProfile,
    InvalidReport,
    MissingReason,
    NoDraft,
    NoOpenReports,
    NothingToPublish,
    NotRetired,
    OwnCloneReport,
    VersionNotFound,
)
from domain.clones.graph_errors import GraphInvalid, LayoutInvalid, StrategyDocumentInvalid
from domain.clones.tiers import (
    EntitlementError,
    NoEntitlement,
    TopologyBeyondEveryTier,
    TopologyBeyondTier,
    UnknownTier,
)
from domain.competition.entry import EntryConflict, EntryNotFound
from domain.competition.slots import ArenaFull, ArenaRetired, CloneInArena
from domain.economy.confirmations import ChainUnavailable, PaymentUnconfirmed
from domain.economy.errors import GrantConflict, InvalidGrant, TierNotInTable
from domain.economy.purchases import (
    NoAttemptsLeft,
    PurchaseNotFound,
    QuoteNotFound,
    ReceiptNonceUsed,
    ReceiptRefused,
)
from domain.economy.tickets import StakeOutOfBounds, TicketQuoteNotFound, TicketRefused
from domain.identity.errors import (
    ChallengeRefused,
    RefreshRejected,
    ServiceTokenConflict,
    ServiceTokenRejected,
    SignInRejected,
    TokenRejected,
    UserNotFound,
)
from domain.lifecycle.audition import (
    AuditionConflict,
    AuditionNotFound,
    PurchaseMismatch,
    RetriesUsed,
    StepOutOfOrder,
)
from domain.lifecycle.race import RaceNotDue, RaceNotFound, RaceTransitionRefused
from domain.market.errors import BadChannel, BadRange, UnknownAsset, UnknownChannel
from domain.market.intervals import UnknownInterval
from domain.prop.errors import AccountNotFound, AccountNotOpen, InvalidCommand, OrderConflict
from domain.trading.errors import (
    BadUsageRange,
    BadWindow,
    BindingConflict,
    NotBound,
    VersionAlreadyTrading,
)
from projections.clones_queries import ClonesReadsLagging
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
    DeadLetterNotFound: ProblemKind(404, "workers", "Dead letter not found"),
    AccountNotFound: ProblemKind(404, "prop", "Account not found"),
    OrderConflict: ProblemKind(409, "prop", "Client order id conflict"),
    AccountNotOpen: ProblemKind(409, "prop", "Account closed"),
    InvalidCommand: ProblemKind(422, "prop", "Invalid command"),
    ProjectionLagging: ProblemKind(503, "prop", "Read models lagging"),
    CloneNotFound: ProblemKind(404, "clones", "Clone not found"),
    VersionNotFound: ProblemKind(404, "clones", "Version not found"),
    CloneConflict: ProblemKind(409, "clones", "Clone id conflict"),
    InvalidName: ProblemKind(422, "clones", "Invalid clone name"),
    NoDraft: ProblemKind(409, "clones", "No draft to publish"),
    NothingToPublish: ProblemKind(409, "clones", "Nothing to publish"),
    InvalidProfile: ProblemKind(422, "clones", "Invalid profile"),
    InvalidReport: ProblemKind(422, "clones", "Invalid report"),
    OwnCloneReport: ProblemKind(422, "clones", "Owners cannot report their own clone"),
    CloneRetired: ProblemKind(409, "clones", "Clone retired by moderation"),
    AlreadyRetired: ProblemKind(409, "clones", "Clone already retired"),
    NotRetired: ProblemKind(409, "clones", "Clone not retired"),
    NoOpenReports: ProblemKind(409, "clones", "No open reports"),
    MissingReason: ProblemKind(422, "clones", "Reason required"),
    GraphInvalid: ProblemKind(422, "clones", "Invalid strategy graph", "graph_invalid"),
    LayoutInvalid: ProblemKind(422, "clones", "Invalid layout", "layout_invalid"),
    ClonesReadsLagging: ProblemKind(503, "clones", "Read models lagging"),
    TopologyBeyondEveryTier: ProblemKind(422, "entitlement", "Strategy beyond every tier"),
    NoEntitlement: ProblemKind(403, "entitlement", "No entitlement"),
    TopologyBeyondTier: ProblemKind(403, "entitlement", "Strategy beyond the clone's tier"),
    UnknownTier: ProblemKind(422, "entitlement", "Unknown tier", "unknown_tier"),
    TierNotInTable: ProblemKind(422, "economy", "Unknown tier"),
    InvalidGrant: ProblemKind(422, "economy", "Invalid grant"),
    GrantConflict: ProblemKind(409, "economy", "Grant reference conflict"),
    QuoteNotFound: ProblemKind(404, "economy", "Quote not found"),
    ReceiptRefused: ProblemKind(422, "economy", "Receipt rejected"),
    ReceiptNonceUsed: ProblemKind(409, "economy", "Receipt nonce already used"),
    NoAttemptsLeft: ProblemKind(409, "economy", "No audition attempt left"),
    PurchaseNotFound: ProblemKind(404, "economy", "Purchase not found"),
    TicketQuoteNotFound: ProblemKind(404, "economy", "Ticket quote not found"),
    StakeOutOfBounds: ProblemKind(422, "economy", "Stake out of bounds"),
    TicketRefused: ProblemKind(422, "economy", "Ticket refused"),
    PaymentUnconfirmed: ProblemKind(409, "economy", "Payment not confirmed on chain"),
    ChainUnavailable: ProblemKind(503, "economy", "Chain unavailable"),
    AuditionNotFound: ProblemKind(404, "lifecycle", "Audition not found"),
    AuditionConflict: ProblemKind(409, "lifecycle", "Audition state conflict"),
    StepOutOfOrder: ProblemKind(409, "lifecycle", "Audition step out of order"),
    RetriesUsed: ProblemKind(409, "lifecycle", "Every paid attempt used"),
    PurchaseMismatch: ProblemKind(422, "lifecycle", "Purchase pays for another clone version"),
    EntryNotFound: ProblemKind(404, "arena", "Arena entry not found"),
    RaceNotFound: ProblemKind(404, "races", "Race not found"),
    RaceTransitionRefused: ProblemKind(409, "races", "Race transition refused"),
    RaceNotDue: ProblemKind(409, "races", "Race transition not due"),
    EntryConflict: ProblemKind(409, "arena", "Arena entry state conflict"),
    ArenaFull: ProblemKind(409, "arena", "Arena full"),
    ArenaRetired: ProblemKind(409, "arena", "Clone retired from the Arena"),
    CloneInArena: ProblemKind(409, "arena", "Clone already in the Arena"),
    IdempotencyKeyReused: ProblemKind(422, "request", "Idempotency key reused"),
    IdempotencyInProgress: ProblemKind(409, "request", "Request in progress"),
    BindingConflict: ProblemKind(409, "trading", "Account bound on other terms"),
    VersionAlreadyTrading: ProblemKind(409, "trading", "Version already trading"),
    BadWindow: ProblemKind(422, "trading", "Bad window"),
    NotBound: ProblemKind(422, "trading", "Account not bound"),
    BadUsageRange: ProblemKind(422, "trading", "Bad model-usage range"),
    BacktestNotFound: ProblemKind(404, "backtests", "Backtest not found"),
    BadBacktestWindow: ProblemKind(422, "backtests", "Bad replay window"),
    CapExceeded: ProblemKind(422, "backtests", "Backtest over the tier's caps"),
    QuotaExceeded: ProblemKind(429, "backtests", "Daily backtest quota used"),
    BacktestFinished: ProblemKind(409, "backtests", "Backtest already finished"),
    ResultsNotReady: ProblemKind(409, "backtests", "Backtest results not ready"),
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
    if isinstance(exc, RateLimited | QuotaExceeded):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, ProjectionLagging | ClonesReadsLagging):
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
        **_extensions(exc),
    )


def _extensions(exc: Exception) -> dict[str, Any]:
    # Problem members beyond the RFC's: what a client needs to show every broken part.
    if isinstance(exc, StrategyDocumentInvalid):
        return {"errors": [error.to_document() for error in exc.errors]}
    if isinstance(exc, EntitlementError):
        tier = getattr(exc, "tier", None)
        found = {"violations": [v.to_document() for v in exc.violations]}
        return found if tier is None else {**found, "tier": tier}
    if isinstance(exc, InvalidProfile):
        return {"field": exc.field}
    if isinstance(exc, BacktestError):
        return exc.extensions()
    if isinstance(exc, ReceiptRefused):
        return exc.problem_extensions()
    return {}


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
