"""The ``openai-compatible`` provider: one chat-completions request per decision tick.

Why this shape: OpenAI, OpenRouter, vLLM and Ollama all serve ``POST /chat/completions``
with the same request and answer, so one adapter covers hosted and local models; only the
base URL, the key and the structured-output mode differ. The trading worker is
synchronous, hence a sync ``httpx.Client``.

- **Structured output.** ``json_mode`` chooses the ``response_format``: ``json_schema``
  sends :data:`domain.trading.actions.ACTION_SCHEMA` (OpenAI, vLLM), ``json_object`` asks
  only for JSON (older OpenAI models, Ollama's ``format=json``), ``none`` sends nothing
  (servers that reject the field). Validation never relies on it: the pipeline always runs
  ``parse_actions`` on the text.
- **No retries here.** Every failure becomes one :class:`ProviderError` with a stable
  reason and ``retryable`` flag; ``adapters.model_router`` owns retries and fallback, so a
  tick's attempts are all recorded in one place.
- **Secrets.** The key travels only in the ``Authorization`` header; error details are
  scrubbed of it (some servers echo a rejected key) and nothing here logs requests.
- **Numbers.** The body is decoded with ``parse_float=Decimal``, like every JSON we read.
- **Timeouts.** ``ModelCall.timeout_seconds`` bounds each phase (connect, write, each read)
  of the request; the latency is measured on the injected monotonic clock.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

import httpx

from adapters.source_http import parse_retry_after
from domain.trading.actions import ACTION_SCHEMA
from domain.trading.providers import ModelCall, ProviderError, ProviderReply

JsonMode = Literal["json_schema", "json_object", "none"]
SCHEMA_NAME = "clash_actions"
_DETAIL_LIMIT = 200


class OpenAICompatibleProvider:
    """A model served behind an OpenAI-compatible ``/chat/completions`` endpoint."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        *,
        transport: httpx.BaseTransport | None = None,
        name: str = "openai-compatible",
        json_mode: JsonMode = "json_schema",
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.json_mode: JsonMode = json_mode
        self._api_key = api_key
        self._monotonic = monotonic
        headers = {"Accept": "application/json", "User-Agent": "clash-of-clones/0.1"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._client = httpx.Client(
            base_url=base_url.rstrip("/") + "/", headers=headers, transport=transport
        )

    def __repr__(self) -> str:
        return (
            f"OpenAICompatibleProvider(name={self.name!r}, base_url={str(self._client.base_url)!r})"
        )

    def complete(self, call: ModelCall) -> ProviderReply:
        """Ask the model; raise :class:`ProviderError` when no usable answer came back."""
        body = self.request_body(call)
        started = self._monotonic()
        try:
            response = self._client.post(
                "chat/completions", json=body, timeout=httpx.Timeout(call.timeout_seconds)
            )
        except httpx.TimeoutException as exc:
            raise ProviderError("timeout", self._scrub(_describe(exc))) from exc
        except httpx.HTTPError as exc:
            raise ProviderError("connection", self._scrub(_describe(exc))) from exc
        latency_ms = round((self._monotonic() - started) * 1000)
        if response.status_code != 200:
            raise self._status_error(response)
        return _reply(response, call.model, latency_ms)

    def request_body(self, call: ModelCall) -> dict[str, Any]:
        """The chat-completions request for ``call`` (renders its prompt)."""
        prompt = call.prompt()
        body: dict[str, Any] = {
            "model": call.model,
            "messages": [
                {"role": "system", "content": prompt.system},
                {"role": "user", "content": prompt.user},
            ],
            "temperature": 0,
        }
        if self.json_mode == "json_schema":
            schema = {"name": SCHEMA_NAME, "schema": ACTION_SCHEMA}
            body["response_format"] = {"type": "json_schema", "json_schema": schema}
        elif self.json_mode == "json_object":
            body["response_format"] = {"type": "json_object"}
        return body

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def _status_error(self, response: httpx.Response) -> ProviderError:
        status = response.status_code
        detail = self._scrub(f"HTTP {status}: {response.text[:_DETAIL_LIMIT]!r}")
        if status == 429:
            retry_after = _retry_after(response)
            return ProviderError("rate_limited", detail, retry_after=retry_after, status=status)
        if status >= 500:
            return ProviderError("server_error", detail, status=status)
        if status in (401, 403):
            return ProviderError("unauthorized", detail, status=status)
        if status == 408:  # the server gave up waiting for us: as retryable as our own timeout
            return ProviderError("timeout", detail, status=status)
        if 400 <= status < 500:
            return ProviderError("bad_request", detail, status=status)
        return ProviderError("bad_response", detail, status=status)

    def _scrub(self, text: str) -> str:
        return text.replace(self._api_key, "[redacted]") if self._api_key else text


def _reply(response: httpx.Response, model: str, latency_ms: int) -> ProviderReply:
    try:
        document = json.loads(response.content, parse_float=Decimal)
    except (ValueError, RecursionError) as exc:
        raise ProviderError("bad_response", f"body is not JSON: {exc}", status=200) from exc
    content = _content(document)
    usage = document.get("usage")
    usage = usage if isinstance(usage, dict) else {}
    answered_by = document.get("model")
    return ProviderReply(
        text=content,
        model=answered_by if isinstance(answered_by, str) and answered_by else model,
        tokens_in=_count(usage.get("prompt_tokens")),
        tokens_out=_count(usage.get("completion_tokens")),
        latency_ms=latency_ms,
    )


def _content(document: object) -> str:
    choices = document.get("choices") if isinstance(document, dict) else None
    first = choices[0] if isinstance(choices, list) and choices else None
    message = first.get("message") if isinstance(first, dict) else None
    if not isinstance(message, dict):
        raise ProviderError("bad_response", "no choices[0].message in the body", status=200)
    content = message.get("content")
    if isinstance(content, str):
        return content
    refusal = message.get("refusal")
    if isinstance(refusal, str):
        raise ProviderError(
            "bad_response", f"the model refused: {refusal[:_DETAIL_LIMIT]}", status=200
        )
    raise ProviderError("bad_response", "choices[0].message.content is not text", status=200)


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _retry_after(response: httpx.Response) -> float | None:
    millis = response.headers.get("retry-after-ms")  # OpenAI sends both; this one is finer
    if millis is not None and millis.strip().isdigit():
        return int(millis) / 1000
    return parse_retry_after(response.headers.get("retry-after"), datetime.now(UTC))


def _describe(exc: httpx.HTTPError) -> str:
    return f"{type(exc).__name__}: {exc}"[:_DETAIL_LIMIT]
