"""The artifact store: what a model decision saw and said, kept for a retention window.

Decision rows keep hashes and figures; the bulky texts (context packet, rendered prompt,
raw response) are artifacts, written through this port so a deployment can move them to
object storage without touching the trading code. The default keeps files under
``<root>/<YYYY-MM-DD>/<decision id>/<name>`` by the service-clock day they were written;
:meth:`FilesystemArtifacts.purge` deletes whole days older than the retention window, so
retention costs one directory listing, not a scan of every file.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Protocol

_NAMES = frozenset({"context.json", "prompt.txt", "response.txt"})


@dataclass(frozen=True)
class ArtifactRef:
    """Where an artifact is, its size and its content hash."""

    key: str
    size: int
    sha256: str


class ArtifactStore(Protocol):
    """Put, read and expire decision artifacts."""

    def put(self, owner: str, name: str, content: bytes, now: datetime) -> ArtifactRef:
        """Store ``content`` as ``name`` of ``owner`` (a decision or dry-run id)."""
        ...

    def read(self, key: str) -> bytes | None:
        """The artifact's content, or None when it expired or never existed."""
        ...

    def purge(self, now: datetime, retention: timedelta) -> int:
        """Delete artifacts written before ``now - retention``; return how many days went."""
        ...


class FilesystemArtifacts:
    """Artifacts as files under one root directory."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, owner: str, name: str, content: bytes, now: datetime) -> ArtifactRef:
        """Write the file atomically (temp file, then rename)."""
        if name not in _NAMES or not owner.replace("-", "").isalnum():
            raise ValueError(f"artifact name={name!r} owner={owner!r} not allowed")
        key = f"{now.date().isoformat()}/{owner}/{name}"
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(path.suffix + ".tmp")
        temporary.write_bytes(content)
        temporary.replace(path)
        return ArtifactRef(key, len(content), hashlib.sha256(content).hexdigest())

    def read(self, key: str) -> bytes | None:
        """Read by key (keys never leave the root)."""
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()) or not path.is_file():
            return None
        return path.read_bytes()

    def purge(self, now: datetime, retention: timedelta) -> int:
        """Remove day directories older than the window."""
        if not self.root.is_dir():
            return 0
        oldest = (now - retention).date()
        removed = 0
        for day in self.root.iterdir():
            written = _day(day.name)
            if written is not None and written < oldest and day.is_dir():
                shutil.rmtree(day)
                removed += 1
        return removed


def _day(name: str) -> date | None:
    try:
        return date.fromisoformat(name)
    except ValueError:
        return None
