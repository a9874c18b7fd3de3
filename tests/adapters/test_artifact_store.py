"""Decision artifacts on the filesystem: atomic writes, safe keys, retention by day."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.artifact_store import FilesystemArtifacts

NOW = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)
OWNER = "0b7c1d2e-3f40-5a6b-8c9d-0e1f2a3b4c5d"


def test_an_artifact_is_stored_by_day_and_read_back(tmp_path: Path) -> None:
    store = FilesystemArtifacts(tmp_path)
    ref = store.put(OWNER, "prompt.txt", b"hello", NOW)
    assert ref.key == f"2026-12-02/{OWNER}/prompt.txt"
    assert (ref.size, ref.sha256) == (5, hashlib.sha256(b"hello").hexdigest())
    assert store.read(ref.key) == b"hello"
    assert not list(tmp_path.rglob("*.tmp"))


@pytest.mark.parametrize(
    ("owner", "name"), [("../escape", "prompt.txt"), (OWNER, "secrets.env"), ("a/b", "x.json")]
)
def test_names_and_owners_outside_the_scheme_are_refused(
    tmp_path: Path, owner: str, name: str
) -> None:
    with pytest.raises(ValueError, match="not allowed"):
        FilesystemArtifacts(tmp_path).put(owner, name, b"x", NOW)


def test_keys_never_read_outside_the_root(tmp_path: Path) -> None:
    (tmp_path / "outside.txt").write_text("secret")
    store = FilesystemArtifacts(tmp_path / "root")
    assert store.read("../outside.txt") is None
    assert store.read("2026-12-02/missing/prompt.txt") is None


def test_purge_removes_whole_days_older_than_the_window(tmp_path: Path) -> None:
    store = FilesystemArtifacts(tmp_path)
    old = store.put(OWNER, "context.json", b"{}", NOW - timedelta(days=31))
    kept = store.put(OWNER, "context.json", b"{}", NOW - timedelta(days=30))
    (tmp_path / "not-a-day").mkdir()
    assert store.purge(NOW, timedelta(days=30)) == 1
    assert store.read(old.key) is None
    assert store.read(kept.key) == b"{}"
    assert (tmp_path / "not-a-day").is_dir()
    assert FilesystemArtifacts(tmp_path / "absent").purge(NOW, timedelta(days=1)) == 0
