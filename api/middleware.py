"""ASGI middleware: request ids, access logs and a body-size limit.

Pure ASGI (not ``BaseHTTPMiddleware``) so streaming and background tasks keep working and
the overhead per request stays small. The request id comes from a well-formed
``X-Request-ID`` header or is generated, is echoed in the response, is bound to every log
line of the request, and appears in problem bodies.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import PayloadTooLarge

REQUEST_ID_HEADER = b"x-request-id"
_VALID_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._-]{1,64}$")
log = structlog.get_logger("api.access")


class RequestContextMiddleware:
    """Give each request an id, log it once when it ends, and cap its body size."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int = 64 * 1024,
        observe: Callable[[str, str, int, float], None] | None = None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.observe = observe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        if _declared_length(scope) > self.max_body_bytes:
            await _too_large(scope, send, request_id)
            return
        started = time.perf_counter()
        status = {"code": 500}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message.setdefault("headers", []).append((REQUEST_ID_HEADER, request_id.encode()))
            await send(message)

        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, _capped(receive, self.max_body_bytes), send_with_id)
        finally:
            seconds = time.perf_counter() - started
            log.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                status=status["code"],
                duration_ms=round(seconds * 1000, 2),
            )
            if self.observe is not None:
                route = getattr(scope.get("route"), "path", "unmatched")
                self.observe(scope["method"], route, status["code"], seconds)
            structlog.contextvars.unbind_contextvars("request_id")


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == REQUEST_ID_HEADER and _VALID_REQUEST_ID.match(value):
            return str(value.decode())
    return uuid.uuid4().hex


def _declared_length(scope: Scope) -> int:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0
    return 0


def _capped(receive: Receive, limit: int) -> Receive:
    seen = {"bytes": 0}

    async def capped_receive() -> Message:
        message = await receive()
        if message["type"] == "http.request":
            seen["bytes"] += len(message.get("body", b""))
            if seen["bytes"] > limit:
                raise PayloadTooLarge()
        return message

    return capped_receive


async def _too_large(scope: Scope, send: Send, request_id: str) -> None:
    body: dict[str, Any] = {
        "type": "urn:clash:problem:request:too-large",
        "title": "Payload too large",
        "status": 413,
        "instance": scope["path"],
        "requestId": request_id,
    }
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (REQUEST_ID_HEADER, request_id.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": json.dumps(body).encode()})
