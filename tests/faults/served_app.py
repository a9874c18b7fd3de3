"""The app under a real uvicorn server on a background thread, so a fault test can hold on
to the very same process (and container) before, during and after the fault.

A subprocess (``clash serve``) would be closer still, but the test needs the container's
own handles afterwards (the audit, the event log); the server, its thread pool, the
lifespan that runs the workers and the HTTP stack are the real ones either way.
"""

from __future__ import annotations

import threading
import time

import uvicorn
from fastapi import FastAPI

from tests.faults.postgres_cluster import free_port

START_SECONDS = 30.0


class ServedApp:
    """One uvicorn server for ``app`` on a free port of 127.0.0.1."""

    def __init__(self, app: FastAPI) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_config=None, access_log=False
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="served-app", daemon=True)

    def start(self) -> None:
        """Serve, and return once the server (and its lifespan) has started."""
        self.thread.start()
        deadline = time.monotonic() + START_SECONDS
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the served app did not start")
            time.sleep(0.05)

    @property
    def alive(self) -> bool:
        """Whether the server thread still runs."""
        return self.thread.is_alive() and not self.server.should_exit

    def stop(self) -> None:
        """Shut down gracefully (the lifespan stops the workers) and wait for it."""
        self.server.should_exit = True
        self.thread.join(timeout=START_SECONDS)
