"""Logs never carry credentials: token, signature and secret fields are redacted."""

from __future__ import annotations

import json
import logging

import pytest
import structlog

from adapters.structured_logs import configure_logging, redact_secrets


def test_credential_fields_are_redacted() -> None:
    event = {
        "event": "sign_in",
        "access_token": "eyJ…",
        "signature": "0xabc",
        "user_id": "u1",
        "Authorization": "Bearer x",
        "request_id": "r1",
    }
    redacted = redact_secrets(None, "info", dict(event))
    assert redacted["access_token"] == "[redacted]"
    assert redacted["signature"] == "[redacted]"
    assert redacted["Authorization"] == "[redacted]"
    assert redacted["user_id"] == "u1"
    assert redacted["request_id"] == "r1"


def test_configured_logger_writes_json_without_secrets(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", json=True)
    structlog.get_logger("test").info("refreshed", refresh_token="rt_secret", user_id="u1")
    line = capsys.readouterr().err.strip().splitlines()[-1]
    record = json.loads(line)
    assert record["event"] == "refreshed"
    assert record["refresh_token"] == "[redacted]"
    assert "rt_secret" not in line
    logging.getLogger().handlers.clear()
