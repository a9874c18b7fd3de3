"""The model-provider port: what a decision tick asks a model, and what comes back.

Why a port: the trading pipeline must not care whether a tick is answered by the
deterministic ``rules`` provider, a hosted model or a local vLLM/Ollama server. It builds
a :class:`ModelCall`, hands it to a :class:`Provider` (chosen by routing on the model
tier, see ``adapters.model_router``) and reads the :class:`ProviderReply` text with
``domain.trading.actions.parse_actions``. The reply is raw text on purpose: what the model
said is kept for the audit even when it fails validation.

Invariants:

- The prompt is built lazily (``ModelCall.prompt`` is a callable), so a tick answered by
  :class:`RulesProvider` never pays for rendering the context packet.
- A provider either returns a reply or raises :class:`ProviderError` with a stable
  ``reason``; ``retryable`` says whether the same call may succeed later (timeouts, 429,
  5xx, dropped connections), which is what routing uses to retry or fall back.
- :class:`RulesProvider` answers from the strategy's rule hints only: no network, no clock,
  no prompt, and the same hints always give the same text, so replays reproduce it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

PROVIDER_ERROR_REASONS = frozenset(
    {
        "timeout",
        "rate_limited",
        "server_error",
        "connection",
        "unauthorized",
        "bad_request",
        "bad_response",
    }
)
RETRYABLE_REASONS = frozenset({"timeout", "rate_limited", "server_error", "connection"})
# The order the rules provider tries signals in: leaving a position beats entering one.
RULES_PRIORITY = ("close", "open_long", "open_short")


@dataclass(frozen=True)
class Prompt:
    """A rendered prompt: its template version and the two chat messages."""

    version: str
    system: str
    user: str


@dataclass(frozen=True)
class ModelCall:
    """One question to one model at one decision tick."""

    model: str  # the provider-specific model name from the route
    assets: tuple[str, ...]  # the assets to decide on, in answer order
    hints: Mapping[str, Mapping[str, bool]]  # asset -> signal -> fired at this tick
    prompt: Callable[[], Prompt]  # built only by providers that send text
    timeout_seconds: float


@dataclass(frozen=True)
class ProviderReply:
    """What a provider answered: the raw text, the model that wrote it, and its cost."""

    text: str
    model: str
    tokens_in: int
    tokens_out: int
    latency_ms: int


class ProviderError(Exception):
    """Raised when a provider gives no usable answer; ``reason`` is one of the stable names."""

    def __init__(
        self,
        reason: str,
        detail: str = "",
        *,
        retryable: bool | None = None,
        retry_after: float | None = None,
        status: int | None = None,
    ) -> None:
        if reason not in PROVIDER_ERROR_REASONS:
            raise ValueError(f"unknown provider error reason {reason!r}")
        self.reason = reason
        self.detail = detail
        self.retryable = reason in RETRYABLE_REASONS if retryable is None else retryable
        self.retry_after = retry_after
        self.status = status
        super().__init__(self._describe())

    def _describe(self) -> str:
        parts = [f"reason={self.reason}", f"retryable={str(self.retryable).lower()}"]
        if self.status is not None:
            parts.append(f"status={self.status}")
        if self.retry_after is not None:
            parts.append(f"retry_after={self.retry_after:g}")
        if self.detail:
            parts.append(f"detail={self.detail}")
        return " ".join(parts)


class Provider(Protocol):
    """Answers a :class:`ModelCall` with text in the action schema, or raises ProviderError."""

    name: str

    def complete(self, call: ModelCall) -> ProviderReply:
        """Return the model's answer to ``call``."""
        ...


class RulesProvider:
    """The deterministic provider: per asset, the first fired hint of close > long > short."""

    name = "rules"

    def complete(self, call: ModelCall) -> ProviderReply:
        """Answer with the fired rule hints as actions; hold where none fired."""
        actions = [self._action(asset, call.hints.get(asset, {})) for asset in call.assets]
        text = json.dumps({"actions": actions}, sort_keys=True, separators=(",", ":"))
        return ProviderReply(text=text, model=call.model, tokens_in=0, tokens_out=0, latency_ms=0)

    @staticmethod
    def _action(asset: str, fired: Mapping[str, bool]) -> dict[str, str]:
        for signal in RULES_PRIORITY:
            if fired.get(signal, False):
                return {"asset": asset, "signal": signal, "justification": f"rule {signal} fired"}
        return {"asset": asset, "signal": "hold", "justification": ""}
