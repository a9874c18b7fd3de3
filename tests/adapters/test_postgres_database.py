"""The PostgreSQL adapter gives up on a silent host after ``CLASH_DB_CONNECT_TIMEOUT_SECONDS``.

A host that accepts TCP and then says nothing (a hung server, a half-open network path)
would otherwise hold a connection attempt for libpq's default of minutes. The listener
here accepts and never answers; no PostgreSQL server is needed.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from adapters.database import DatabaseUnavailable, open_database


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port on 127.0.0.1 whose listener completes handshakes and never speaks."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield int(listener.getsockname()[1])


def test_opening_a_silent_host_fails_unavailable_after_the_connect_timeout(
    silent_port: int,
) -> None:
    # Arrange
    url = f"postgresql://postgres@127.0.0.1:{silent_port}/postgres"
    started = time.monotonic()
    # Act
    with pytest.raises(DatabaseUnavailable):
        open_database(url, pool_timeout=30, connect_timeout=2)
    # Assert
    assert time.monotonic() - started < 4
