"""OpenAICompatibleProvider against a fake chat-completions server on loopback (real HTTP)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from decimal import Decimal

import pytest

from adapters.model_router import ModelRouter, Route
from adapters.openai_provider import OpenAICompatibleProvider
from domain.trading.actions import ACTION_SCHEMA, Action, parse_actions
from domain.trading.providers import ModelCall, Prompt, Provider, ProviderError, RulesProvider
from domain.trading.spec import RiskLimits
from tests.adapters.fake_chat_completions import (
    MODEL,
    Canned,
    FakeChatCompletions,
    api_error,
    completion,
    rate_limited,
    serve_chat_completions,
    server_error,
)

API_KEY = "sk-test-0123456789abcdef"
ASSETS = ("BTC", "ETH")
RISK = RiskLimits(size_fraction=Decimal("0.25"), leverage=5)
WHY = "EMA20 above EMA50 on 4h, RSI7 recovering from 38."
PROMPT = Prompt("arena-v1", "You are a systematic crypto trader.", "Decide BTC and ETH now.")
A_LONG = {
    "asset": "BTC",
    "signal": "open_long",
    "sizeFraction": 0.1,
    "leverage": 3,
    "stopLoss": 96250.5,
    "takeProfit": "104000",
    "confidence": 0.72,
    "justification": WHY,
}


class Ticks:
    """A monotonic clock that advances a fixed step on every reading."""

    def __init__(self, step: float) -> None:
        self.now = 100.0
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


@pytest.fixture
def server() -> Iterator[FakeChatCompletions]:
    with serve_chat_completions() as fake:
        yield fake


@pytest.fixture
def provider(server: FakeChatCompletions) -> Iterator[OpenAICompatibleProvider]:
    client = OpenAICompatibleProvider(server.base_url, API_KEY, monotonic=Ticks(0.25))
    yield client
    client.close()


def a_call(model: str = "gpt-4o-mini", timeout_seconds: float = 5.0) -> ModelCall:
    return ModelCall(model, ASSETS, {}, lambda: PROMPT, timeout_seconds)


def actions_text(*actions: dict[str, object]) -> str:
    return json.dumps({"actions": list(actions)})


def a_router(provider: OpenAICompatibleProvider, sleeps: list[float]) -> ModelRouter:
    routes = {
        "frontier": [
            Route("openai-compatible", "gpt-4o-mini", timeout_seconds=5, retries=2),
            Route("rules", "rules"),
        ]
    }
    providers: dict[str, Provider] = {"openai-compatible": provider, "rules": RulesProvider()}
    return ModelRouter(routes, providers, sleep=sleeps.append)


def test_complete_success_records_tokens_latency_and_parses_actions(
    server: FakeChatCompletions, provider: OpenAICompatibleProvider
) -> None:
    # Arrange
    server.answer(completion(actions_text(A_LONG), prompt_tokens=812, completion_tokens=96))
    # Act
    reply = provider.complete(a_call())
    parsed = parse_actions(reply.text, assets=ASSETS, risk=RISK)
    # Assert
    assert (reply.model, reply.tokens_in, reply.tokens_out) == (MODEL, 812, 96)
    assert reply.latency_ms == 250
    assert parsed.valid
    assert parsed.actions == (
        Action(
            "BTC",
            "open_long",
            size_fraction=Decimal("0.1"),
            leverage=3,
            stop_loss=Decimal("96250.5"),
            take_profit=Decimal("104000"),
            confidence=Decimal("0.72"),
            justification=WHY,
        ),
        Action.hold("ETH"),
    )


def test_complete_sends_a_chat_completions_request_with_the_action_schema(
    server: FakeChatCompletions, provider: OpenAICompatibleProvider
) -> None:
    # Act
    provider.complete(a_call(model="gpt-4o-mini"))
    # Assert
    [request] = server.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.body == {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": PROMPT.system},
            {"role": "user", "content": PROMPT.user},
        ],
        "temperature": 0,
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "clash_actions", "schema": ACTION_SCHEMA},
        },
    }


@pytest.mark.parametrize(
    ("json_mode", "response_format"),
    [("json_object", {"type": "json_object"}), ("none", None)],
)
def test_json_mode_chooses_the_response_format(
    server: FakeChatCompletions, json_mode: str, response_format: object
) -> None:
    # Arrange
    provider = OpenAICompatibleProvider(server.base_url, None, json_mode=json_mode)  # type: ignore[arg-type]
    # Act
    try:
        provider.complete(a_call())
    finally:
        provider.close()
    # Assert
    [request] = server.requests
    assert request.body.get("response_format") == response_format
    assert "authorization" not in request.headers


def test_complete_without_usage_counts_zero_tokens(
    server: FakeChatCompletions, provider: OpenAICompatibleProvider
) -> None:
    # Arrange
    server.answer(completion(actions_text(), with_usage=False))
    # Act
    reply = provider.complete(a_call())
    # Assert
    assert (reply.tokens_in, reply.tokens_out) == (0, 0)


def test_server_slower_than_the_timeout_is_a_retryable_timeout(
    server: FakeChatCompletions,
) -> None:
    # Arrange
    provider = OpenAICompatibleProvider(server.base_url, API_KEY)
    server.answer(Canned(200, completion(actions_text()).body, delay_seconds=5.0))
    # Act
    with pytest.raises(ProviderError) as raised:
        provider.complete(a_call(timeout_seconds=0.2))
    provider.close()
    # Assert
    assert (raised.value.reason, raised.value.retryable) == ("timeout", True)


def test_rate_limit_is_retryable_with_the_servers_retry_after(
    server: FakeChatCompletions, provider: OpenAICompatibleProvider
) -> None:
    # Arrange
    server.answer(rate_limited(retry_after="2"))
    # Act
    with pytest.raises(ProviderError) as raised:
        provider.complete(a_call())
    # Assert
    error = raised.value
    assert (error.reason, error.retryable, error.retry_after, error.status) == (
        "rate_limited",
        True,
        2.0,
        429,
    )


def test_rate_limit_is_retried_then_falls_back_to_rules(
    server: FakeChatCompletions, provider: OpenAICompatibleProvider
) -> None:
    # Arrange
    server.answer(rate_limited(retry_after="2"))
    sleeps: list[float] = []
    # Act
    routed = a_router(provider, sleeps).complete("frontier", lambda route: a_call(route.model))
    # Assert
    assert [a.outcome for a in routed.attempts] == ["rate_limited"] * 3 + ["ok"]
    assert sleeps == [2.0, 2.0]
    assert len(server.requests) == 3
    assert routed.provider == "rules"


def test_server_error_is_retried_then_falls_back_to_rules(
    server: FakeChatCompletions, provider: OpenAICompatibleProvider
) -> None:
    # Arrange
    server.answer(server_error())
    sleeps: list[float] = []
    # Act
    routed = a_router(provider, sleeps).complete("frontier", lambda route: a_call(route.model))
    # Assert
    assert [(a.provider, a.outcome) for a in routed.attempts] == [
        ("openai-compatible", "server_error"),
        ("openai-compatible", "server_error"),
        ("openai-compatible", "server_error"),
        ("rules", "ok"),
    ]
    assert sleeps == [0.5, 1.0]
    assert routed.reply is not None
    assert parse_actions(routed.reply.text, assets=ASSETS, risk=RISK).valid


def test_server_recovering_after_a_500_answers_on_the_retry(
    server: FakeChatCompletions, provider: OpenAICompatibleProvider
) -> None:
    # Arrange
    server.answer(server_error(), completion(actions_text(A_LONG)))
    # Act
    routed = a_router(provider, []).complete("frontier", lambda route: a_call(route.model))
    # Assert
    assert [a.outcome for a in routed.attempts] == ["server_error", "ok"]
    assert routed.provider == "openai-compatible"


def test_unauthorized_is_not_retried_and_never_shows_the_key(
    server: FakeChatCompletions, provider: OpenAICompatibleProvider
) -> None:
    # Arrange
    server.answer(
        api_error(
            401,
            f"Incorrect API key provided: {API_KEY}. You can find your API key at"
            " https://platform.openai.com/account/api-keys.",
            kind="invalid_request_error",
            code="invalid_api_key",
        )
    )
    sleeps: list[float] = []
    # Act
    routed = a_router(provider, sleeps).complete("frontier", lambda route: a_call(route.model))
    # Assert
    assert [a.outcome for a in routed.attempts] == ["unauthorized", "ok"]
    assert (len(server.requests), sleeps) == (1, [])
    assert API_KEY not in (routed.attempts[0].error or "")
    assert API_KEY not in repr(provider)


@pytest.mark.parametrize(
    ("status", "reason"), [(400, "bad_request"), (403, "unauthorized"), (404, "bad_request")]
)
def test_other_client_errors_are_not_retryable(
    server: FakeChatCompletions, provider: OpenAICompatibleProvider, status: int, reason: str
) -> None:
    # Arrange
    server.answer(api_error(status, "Invalid value for 'model'.", kind="invalid_request_error"))
    # Act
    with pytest.raises(ProviderError) as raised:
        provider.complete(a_call())
    # Assert
    assert (raised.value.reason, raised.value.retryable, raised.value.status) == (
        reason,
        False,
        status,
    )


@pytest.mark.parametrize(
    "body",
    [b"<html>gateway</html>", b'{"object": "list", "data": []}', b'{"choices": []}'],
    ids=["not-json", "not-chat", "no-choices"],
)
def test_a_200_that_is_not_a_chat_completion_is_a_bad_response(
    server: FakeChatCompletions, provider: OpenAICompatibleProvider, body: bytes
) -> None:
    # Arrange
    server.answer(Canned(200, body))
    # Act
    with pytest.raises(ProviderError) as raised:
        provider.complete(a_call())
    # Assert
    assert (raised.value.reason, raised.value.retryable) == ("bad_response", False)


def test_a_refusal_is_a_bad_response(
    server: FakeChatCompletions, provider: OpenAICompatibleProvider
) -> None:
    # Arrange
    server.answer(completion(None, refusal="I can't help with trading decisions."))
    # Act
    with pytest.raises(ProviderError) as raised:
        provider.complete(a_call())
    # Assert
    assert raised.value.reason == "bad_response"
    assert "refused" in str(raised.value)


def test_unreachable_server_is_a_retryable_connection_error() -> None:
    # Arrange: a port that was free a moment ago, so nothing listens on it
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    provider = OpenAICompatibleProvider(f"http://127.0.0.1:{port}/v1", API_KEY)
    # Act
    with pytest.raises(ProviderError) as raised:
        provider.complete(a_call(timeout_seconds=2))
    provider.close()
    # Assert
    assert (raised.value.reason, raised.value.retryable) == ("connection", True)


def test_malformed_json_content_is_a_reply_whose_actions_all_hold(
    server: FakeChatCompletions, provider: OpenAICompatibleProvider
) -> None:
    # Arrange
    server.answer(completion('I think BTC looks bullish, {"asset": "BTC", "signal": "open_l'))
    # Act
    reply = provider.complete(a_call())
    parsed = parse_actions(reply.text, assets=ASSETS, risk=RISK)
    # Assert
    assert parsed.actions == (Action.hold("BTC"), Action.hold("ETH"))
    assert [error.split(":")[0] for error in parsed.errors] == ["malformed_json"]


@pytest.mark.parametrize(
    ("violation", "field"),
    [
        ({"leverage": 20}, "leverage"),
        ({"signal": "buy_to_enter"}, "signal"),
        ({"quantity": "0.5"}, "quantity"),
    ],
    ids=["leverage-above-cap", "unknown-signal", "extra-field"],
)
def test_schema_violation_holds_that_asset_and_keeps_the_valid_one(
    server: FakeChatCompletions,
    provider: OpenAICompatibleProvider,
    violation: dict[str, object],
    field: str,
) -> None:
    # Arrange
    bad = {"asset": "ETH", "signal": "open_short", "leverage": 2, **violation}
    server.answer(completion(actions_text(A_LONG, bad)))
    # Act
    reply = provider.complete(a_call())
    parsed = parse_actions(reply.text, assets=ASSETS, risk=RISK)
    # Assert
    assert [action.signal for action in parsed.actions] == ["open_long", "hold"]
    assert len(parsed.errors) == 1
    assert parsed.errors[0].startswith(f"action: asset=ETH field={field}:")
