"""A fake OpenAI-compatible server on loopback: real HTTP, canned chat-completions answers.

The bodies copy the shape of OpenAI's ``POST /v1/chat/completions`` answers (``id``,
``object``, ``choices[].message`` with ``refusal``, ``usage`` with its detail objects,
``system_fingerprint``) and of its error bodies (``{"error": {message, type, param,
code}}``), so the provider is tested against what it will really read. The server binds
port 0 (a free port, safe under xdist), answers the queued replies in order (repeating the
last one), records every request, and on shutdown wakes any handler still sleeping so
every thread is joined.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODEL = "gpt-4o-mini-2024-07-18"


@dataclass(frozen=True)
class Canned:
    """One HTTP answer: status, JSON body, headers, and how long to stall first."""

    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    delay_seconds: float = 0.0


@dataclass(frozen=True)
class Received:
    """One request the fake server saw."""

    path: str
    headers: Mapping[str, str]
    body: Any


def completion(
    content: str | None,
    *,
    prompt_tokens: int = 812,
    completion_tokens: int = 96,
    with_usage: bool = True,
    refusal: str | None = None,
) -> Canned:
    """A 200 chat completion whose assistant message is ``content``."""
    body: dict[str, Any] = {
        "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
        "object": "chat.completion",
        "created": 1741569952,
        "model": MODEL,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": content,
                    "refusal": refusal,
                    "annotations": [],
                },
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "service_tier": "default",
        "system_fingerprint": "fp_06737a9306",
    }
    if with_usage:
        body["usage"] = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }
    return Canned(200, json.dumps(body).encode())


def api_error(
    status: int,
    message: str,
    *,
    kind: str,
    code: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Canned:
    """An OpenAI error answer (``{"error": {...}}``)."""
    body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return Canned(status, json.dumps(body).encode(), headers or {})


def rate_limited(retry_after: str) -> Canned:
    """A 429 as OpenAI sends it for a tokens-per-minute limit."""
    return api_error(
        429,
        "Rate limit reached for gpt-4o-mini in organization org-test on tokens per min (TPM):"
        " Limit 200000, Used 199500, Requested 900. Please try again in 1.2s.",
        kind="tokens",
        code="rate_limit_exceeded",
        headers={"retry-after": retry_after, "x-ratelimit-remaining-tokens": "0"},
    )


def server_error() -> Canned:
    """A 500 as OpenAI sends it."""
    return api_error(
        500,
        "The server had an error while processing your request. Sorry about that!",
        kind="server_error",
    )


class FakeChatCompletions:
    """The canned answers and the recorded requests of one fake server."""

    def __init__(self, base_url: str, release: threading.Event) -> None:
        self.base_url = base_url
        self.requests: list[Received] = []
        self._queue: list[Canned] = [completion('{"actions": []}')]
        self._release = release
        self._lock = threading.Lock()

    def answer(self, *replies: Canned) -> None:
        """Answer the next requests with ``replies`` in order, then repeat the last one."""
        with self._lock:
            self._queue = list(replies)

    def next_reply(self, received: Received) -> Canned:
        """Record ``received`` and take the reply for it."""
        with self._lock:
            self.requests.append(received)
            return self._queue.pop(0) if len(self._queue) > 1 else self._queue[0]

    def stall(self, seconds: float) -> None:
        """Wait ``seconds``, or less when the server shuts down."""
        self._release.wait(seconds)


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # server_close() joins every handler thread
    fake: FakeChatCompletions


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length)
        headers = {key.lower(): value for key, value in self.headers.items()}
        reply = self.server.fake.next_reply(Received(self.path, headers, json.loads(raw)))
        self.server.fake.stall(reply.delay_seconds)
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(reply.body)
        except OSError:
            pass  # the client gave up (a timeout test): nothing left to answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serve_chat_completions() -> Iterator[FakeChatCompletions]:
    """Serve a fake ``/v1/chat/completions`` on a free loopback port while the block runs."""
    release = threading.Event()
    server = _Server(("127.0.0.1", 0), _Handler)
    host, port = server.server_address[:2]
    server.fake = FakeChatCompletions(f"http://{host!s}:{port}/v1", release)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server.fake
    finally:
        release.set()
        server.shutdown()
        server.server_close()
        thread.join()
