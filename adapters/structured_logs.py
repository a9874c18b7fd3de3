"""Structured JSON logs (structlog), with secrets redacted before anything is written.

Every line is one JSON object with a timestamp, level, event name and fields; the API adds
``request_id``. Fields whose names suggest credentials (tokens, signatures, secrets,
authorization headers, messages being signed) are replaced by ``"[redacted]"`` so a log
shipped anywhere never carries a usable credential.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

SENSITIVE_PARTS = (
    "token",
    "signature",
    "secret",
    "authorization",
    "password",
    "pepper",
    "cookie",
    "message",
    "typed_data",
)
SAFE_FIELDS = frozenset({"event", "level", "timestamp", "logger", "request_id"})


def redact_secrets(
    _: Any, __: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Replace every credential-like field with a marker."""
    for key in list(event_dict):
        lowered = key.lower()
        if key not in SAFE_FIELDS and any(part in lowered for part in SENSITIVE_PARTS):
            event_dict[key] = "[redacted]"
    return event_dict


def configure_logging(level: str = "INFO", *, json: bool = True) -> None:
    """Route stdlib and structlog records through one JSON renderer on stderr."""
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        redact_secrets,
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access",):
        logging.getLogger(noisy).setLevel(logging.WARNING)
