"""Routing a decision tick to a model: by tier, with retries, backoff and fallback.

Why it exists: a strategy names a model *tier* (``basic``, ``standard``, ``frontier``), not
a vendor, so operators can move a tier between OpenAI, a local vLLM and the deterministic
``rules`` provider without recompiling a clone. Each tier has an ordered list of
:class:`Route` s; :meth:`ModelRouter.complete` walks it:

- a retryable failure (timeout, 429, 5xx, dropped connection) is retried on the same route
  up to ``route.retries`` more times, after an exponential backoff (0.5 s, 1 s, 2 s, ...)
  capped at ``max_backoff_seconds``; a ``Retry-After`` raises the wait to what the server
  asked, and one longer than the cap is not waited for at all: the tick moves on to the next
  route at once, because a decision that waits a minute is stale anyway;
- a non-retryable failure (401/403, 4xx, a body that is not chat-completions) moves on to
  the next route at once: asking again cannot help;
- when every route failed the reply is ``None`` with the last error, and the pipeline holds.

Every attempt, failed or not, is returned as an :class:`Attempt`, so the decision row shows
which provider answered, after how many tries, and why the others did not. The router never
raises :class:`ProviderError`; any other exception is a bug and propagates. The backoff is
deterministic (no jitter): each clone's worker calls once per tick, so there is no herd
of identical clients to spread out, and tests can assert the exact waits.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import httpx
import structlog
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from adapters.openai_provider import OpenAICompatibleProvider
from domain.trading.providers import (
    ModelCall,
    Provider,
    ProviderError,
    ProviderReply,
    RulesProvider,
)

if TYPE_CHECKING:
    from adapters.settings import Settings

_log: structlog.typing.FilteringBoundLogger = structlog.get_logger(__name__)
BACKOFF_BASE_SECONDS = 0.5


@dataclass(frozen=True)
class Route:
    """One way to answer a tier: a provider, its model name, a timeout, how often to retry."""

    provider: str
    model: str
    timeout_seconds: float = 20
    retries: int = 1


@dataclass(frozen=True)
class Attempt:
    """One call to one provider: ``outcome`` is ``ok`` or the ProviderError reason."""

    provider: str
    model: str
    outcome: str
    latency_ms: int
    error: str | None = None


@dataclass(frozen=True)
class RoutedReply:
    """The answer of the first route that succeeded (``reply`` None when none did)."""

    reply: ProviderReply | None
    provider: str | None
    model: str | None
    attempts: tuple[Attempt, ...]
    error: str | None = None


@runtime_checkable
class _Closable(Protocol):
    def close(self) -> None: ...


class ModelRouter:
    """Answers a tier's calls through its routes, retrying and falling back."""

    def __init__(
        self,
        routes: Mapping[str, Sequence[Route]],
        providers: Mapping[str, Provider],
        *,
        sleep: Callable[[float], None] = time.sleep,
        max_backoff_seconds: float = 10,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        missing = sorted(
            {route.provider for tier in routes.values() for route in tier} - set(providers)
        )
        if missing:
            raise ValueError(f"routes name providers that are not configured: {missing}")
        self._routes = {tier: tuple(tier_routes) for tier, tier_routes in routes.items()}
        self._providers = dict(providers)
        self._sleep = sleep
        self._max_backoff = max_backoff_seconds
        self._monotonic = monotonic

    def routes_for(self, model_tier: str) -> tuple[Route, ...]:
        """The routes of ``model_tier``, in the order they are tried (empty when unknown)."""
        return self._routes.get(model_tier, ())

    def complete(self, model_tier: str, call_for: Callable[[Route], ModelCall]) -> RoutedReply:
        """Answer with the first route that succeeds; ``reply`` is None when all failed."""
        routes = self.routes_for(model_tier)
        if not routes:
            return RoutedReply(None, None, None, (), f"no route for model tier {model_tier!r}")
        attempts: list[Attempt] = []
        last_error = ""
        for route in routes:
            try:
                reply = self._on_route(route, call_for(route), attempts)
            except ProviderError as exc:
                last_error = f"provider={route.provider} model={route.model} {exc}"
                _log.warning("model route failed", tier=model_tier, error=last_error)
                continue
            return RoutedReply(reply, route.provider, route.model, tuple(attempts))
        return RoutedReply(None, None, None, tuple(attempts), last_error)

    def close(self) -> None:
        """Close the providers that hold connections."""
        for provider in self._providers.values():
            if isinstance(provider, _Closable):
                provider.close()

    def _on_route(self, route: Route, call: ModelCall, attempts: list[Attempt]) -> ProviderReply:
        provider = self._providers[route.provider]

        def attempt() -> ProviderReply:
            started = self._monotonic()
            try:
                reply = provider.complete(call)
            except ProviderError as exc:
                latency = round((self._monotonic() - started) * 1000)
                attempts.append(Attempt(route.provider, route.model, exc.reason, latency, str(exc)))
                raise
            attempts.append(Attempt(route.provider, route.model, "ok", reply.latency_ms))
            return reply

        retrying = Retrying(
            stop=stop_after_attempt(route.retries + 1),
            wait=self._wait,
            retry=retry_if_exception(self._worth_retrying),
            sleep=self._sleep,
            reraise=True,
        )
        return retrying(attempt)

    def _worth_retrying(self, error: BaseException) -> bool:
        if not isinstance(error, ProviderError) or not error.retryable:
            return False
        return error.retry_after is None or error.retry_after <= self._max_backoff

    def _wait(self, state: RetryCallState) -> float:
        backoff = BACKOFF_BASE_SECONDS * 2.0 ** (state.attempt_number - 1)
        error = state.outcome.exception() if state.outcome is not None else None
        if isinstance(error, ProviderError) and error.retry_after is not None:
            backoff = max(backoff, error.retry_after)
        return min(backoff, self._max_backoff)


def build_model_router(
    settings: Settings, transport: httpx.BaseTransport | None = None
) -> ModelRouter:
    """Build the router the settings describe (``rules`` is always available)."""
    providers: dict[str, Provider] = {"rules": RulesProvider()}
    if settings.openai_base_url:
        key = settings.openai_api_key
        providers["openai-compatible"] = OpenAICompatibleProvider(
            settings.openai_base_url,
            key.get_secret_value() if key is not None else None,
            transport=transport,
            json_mode=settings.openai_json_mode,
        )
    routes = {
        tier: [Route(r.provider, r.model, r.timeout_seconds, r.retries) for r in tier_routes]
        for tier, tier_routes in settings.model_routes.items()
    }
    return ModelRouter(routes, providers)
