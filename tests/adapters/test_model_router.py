"""ModelRouter: retries, backoff and fallback across routes; the settings that build it.

Providers here are scripted fakes of the external model service: they implement the
Provider protocol and answer or fail in the order a test gives.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal

import pytest
from pydantic import ValidationError

from adapters.model_router import Attempt, ModelRouter, Route, build_model_router
from adapters.settings import load_settings
from domain.trading.actions import parse_actions
from domain.trading.providers import ModelCall, Prompt, ProviderError, ProviderReply
from domain.trading.spec import MODEL_TIERS, RiskLimits
from tests.adapters.fake_chat_completions import completion, serve_chat_completions

Outcome = ProviderReply | ProviderError


class ScriptedProvider:
    """Answers each call with the next scripted outcome (the last one repeats)."""

    def __init__(self, name: str, *outcomes: Outcome) -> None:
        self.name = name
        self.outcomes = list(outcomes)
        self.calls: list[ModelCall] = []

    def complete(self, call: ModelCall) -> ProviderReply:
        self.calls.append(call)
        outcome = self.outcomes.pop(0) if len(self.outcomes) > 1 else self.outcomes[0]
        if isinstance(outcome, ProviderError):
            raise outcome
        return outcome


def a_reply(model: str = "m") -> ProviderReply:
    return ProviderReply('{"actions": []}', model, tokens_in=10, tokens_out=5, latency_ms=42)


def a_call(route: Route) -> ModelCall:
    prompt = Prompt("v1", "system", "user")
    return ModelCall(route.model, ("BTC",), {}, lambda: prompt, route.timeout_seconds)


def a_router(
    routes: Sequence[Route], *providers: ScriptedProvider, max_backoff: float = 10
) -> tuple[ModelRouter, list[float]]:
    sleeps: list[float] = []
    router = ModelRouter(
        {"standard": list(routes)},
        {provider.name: provider for provider in providers},
        sleep=sleeps.append,
        max_backoff_seconds=max_backoff,
    )
    return router, sleeps


def outcomes(attempts: Sequence[Attempt]) -> list[tuple[str, str]]:
    return [(attempt.provider, attempt.outcome) for attempt in attempts]


def test_first_route_answering_is_used_once() -> None:
    # Arrange
    primary = ScriptedProvider("primary", a_reply("gpt"))
    router, sleeps = a_router([Route("primary", "gpt")], primary)
    # Act
    routed = router.complete("standard", a_call)
    # Assert
    assert (routed.provider, routed.model, routed.error) == ("primary", "gpt", None)
    assert routed.attempts == (Attempt("primary", "gpt", "ok", 42),)
    assert sleeps == []


def test_retryable_errors_are_retried_with_exponential_backoff_then_fall_back() -> None:
    # Arrange
    primary = ScriptedProvider("primary", ProviderError("server_error", status=502))
    backup = ScriptedProvider("backup", a_reply())
    router, sleeps = a_router(
        [Route("primary", "big", retries=3), Route("backup", "small")], primary, backup
    )
    # Act
    routed = router.complete("standard", a_call)
    # Assert
    assert outcomes(routed.attempts) == [("primary", "server_error")] * 4 + [("backup", "ok")]
    assert sleeps == [0.5, 1.0, 2.0]
    assert routed.provider == "backup"


def test_retry_after_raises_the_wait_to_what_the_server_asked() -> None:
    # Arrange
    limited = ProviderError("rate_limited", retry_after=3.0, status=429)
    primary = ScriptedProvider("primary", limited, a_reply())
    router, sleeps = a_router([Route("primary", "gpt", retries=1)], primary)
    # Act
    routed = router.complete("standard", a_call)
    # Assert
    assert sleeps == [3.0]
    assert outcomes(routed.attempts) == [("primary", "rate_limited"), ("primary", "ok")]


def test_retry_after_beyond_the_cap_falls_back_without_waiting() -> None:
    # Arrange
    limited = ProviderError("rate_limited", retry_after=60.0, status=429)
    primary = ScriptedProvider("primary", limited)
    backup = ScriptedProvider("backup", a_reply())
    router, sleeps = a_router(
        [Route("primary", "gpt", retries=2), Route("backup", "rules")], primary, backup
    )
    # Act
    routed = router.complete("standard", a_call)
    # Assert
    assert sleeps == []
    assert outcomes(routed.attempts) == [("primary", "rate_limited"), ("backup", "ok")]


def test_backoff_is_capped() -> None:
    # Arrange
    primary = ScriptedProvider("primary", ProviderError("timeout"))
    router, sleeps = a_router([Route("primary", "gpt", retries=4)], primary, max_backoff=1.5)
    # Act
    router.complete("standard", a_call)
    # Assert
    assert sleeps == [0.5, 1.0, 1.5, 1.5]


def test_non_retryable_error_moves_to_the_next_route_at_once() -> None:
    # Arrange
    primary = ScriptedProvider("primary", ProviderError("unauthorized", status=401))
    backup = ScriptedProvider("backup", a_reply())
    router, sleeps = a_router(
        [Route("primary", "gpt", retries=3), Route("backup", "rules")], primary, backup
    )
    # Act
    routed = router.complete("standard", a_call)
    # Assert
    assert outcomes(routed.attempts) == [("primary", "unauthorized"), ("backup", "ok")]
    assert (len(primary.calls), sleeps) == (1, [])


def test_routes_are_tried_in_order_each_with_its_own_model_and_timeout() -> None:
    # Arrange
    first = ScriptedProvider("first", ProviderError("bad_request", status=400))
    second = ScriptedProvider("second", ProviderError("bad_response"))
    third = ScriptedProvider("third", a_reply())
    routes = [
        Route("first", "m1", timeout_seconds=5),
        Route("second", "m2", timeout_seconds=10),
        Route("third", "m3", timeout_seconds=1),
    ]
    router, _ = a_router(routes, first, second, third)
    # Act
    routed = router.complete("standard", a_call)
    # Assert
    assert outcomes(routed.attempts) == [
        ("first", "bad_request"),
        ("second", "bad_response"),
        ("third", "ok"),
    ]
    called = [(p.calls[0].model, p.calls[0].timeout_seconds) for p in (first, second, third)]
    assert called == [("m1", 5), ("m2", 10), ("m3", 1)]
    assert routed.model == "m3"


def test_all_routes_failing_give_no_reply_and_the_last_error() -> None:
    # Arrange
    primary = ScriptedProvider("primary", ProviderError("timeout"))
    backup = ScriptedProvider("backup", ProviderError("connection", "ConnectError: refused"))
    router, sleeps = a_router(
        [Route("primary", "gpt", retries=1), Route("backup", "local", retries=1)],
        primary,
        backup,
    )
    # Act
    routed = router.complete("standard", a_call)
    # Assert
    assert (routed.reply, routed.provider, routed.model) == (None, None, None)
    assert len(routed.attempts) == 4
    assert routed.error is not None
    assert "provider=backup" in routed.error
    assert "reason=connection" in routed.error
    assert sleeps == [0.5, 0.5]


def test_unknown_tier_gives_no_reply_with_an_error() -> None:
    # Arrange
    router, _ = a_router([Route("primary", "gpt")], ScriptedProvider("primary", a_reply()))
    # Act
    routed = router.complete("legendary", a_call)
    # Assert
    assert routed.reply is None
    assert routed.error == "no route for model tier 'legendary'"
    assert router.routes_for("legendary") == ()


def test_route_to_an_unconfigured_provider_is_refused() -> None:
    with pytest.raises(ValueError, match="not configured"):
        ModelRouter({"basic": [Route("missing", "x")]}, {})


def test_default_settings_route_every_tier_to_rules_offline() -> None:
    # Arrange
    router = build_model_router(load_settings())
    call = ModelCall("rules", ("BTC",), {"BTC": {"open_long": True}}, _no_prompt, 20)
    # Act
    routed = {tier: router.complete(tier, lambda route: call) for tier in MODEL_TIERS}
    # Assert
    assert {tier: router.routes_for(tier) for tier in MODEL_TIERS} == {
        tier: (Route("rules", "rules"),) for tier in MODEL_TIERS
    }
    for reply in routed.values():
        assert reply.provider == "rules"
        assert reply.reply is not None
        parsed = parse_actions(reply.reply.text, assets=("BTC",), risk=RiskLimits(Decimal(1), 1))
        assert parsed.actions[0].signal == "open_long"


def test_settings_routes_reach_an_openai_compatible_server() -> None:
    with serve_chat_completions() as server:
        # Arrange
        server.answer(completion('{"actions": []}'))
        routes = {"frontier": [{"provider": "openai-compatible", "model": "gpt-4o-mini"}]}
        settings = load_settings(
            model_routes=json.dumps(routes),
            openai_base_url=server.base_url,
            openai_api_key="sk-test-key",
            openai_json_mode="json_object",
        )
        router = build_model_router(settings)
        # Act
        try:
            routed = router.complete("frontier", a_call)
        finally:
            router.close()
        basic = router.routes_for("basic")
    # Assert
    assert routed.provider == "openai-compatible"
    assert basic == (Route("rules", "rules"),)
    [request] = server.requests
    assert request.body["response_format"] == {"type": "json_object"}
    assert request.headers["authorization"] == "Bearer sk-test-key"


def test_settings_read_model_routes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Arrange
    routes = {"standard": [{"provider": "rules", "model": "rules", "retries": 0}]}
    monkeypatch.setenv("CLASH_MODEL_ROUTES", json.dumps(routes))
    # Act
    settings = load_settings()
    # Assert
    assert settings.model_routes["standard"][0].retries == 0
    assert set(settings.model_routes) == set(MODEL_TIERS)


def test_settings_refuse_an_openai_route_without_a_base_url() -> None:
    routes = {"frontier": [{"provider": "openai-compatible", "model": "gpt-4o"}]}
    with pytest.raises(ValidationError, match="CLASH_OPENAI_BASE_URL"):
        load_settings(model_routes=json.dumps(routes), openai_base_url=None)


@pytest.mark.parametrize(
    "routes",
    [{"legendary": [{"provider": "rules", "model": "rules"}]}, {"basic": []}],
    ids=["unknown-tier", "empty-tier"],
)
def test_settings_refuse_unknown_or_empty_tiers(routes: dict[str, object]) -> None:
    with pytest.raises(ValidationError, match="CLASH_MODEL_ROUTES"):
        load_settings(model_routes=json.dumps(routes))


def _no_prompt() -> Prompt:
    raise AssertionError("the rules route must not render a prompt")
