"""The deployment files name real workers and real settings (docs/deployment.md)."""

from __future__ import annotations

import re
from pathlib import Path

from adapters.settings import FILE_SECRETS, Settings
from workers.catalog import MODE_WORKERS, worker_names

ROOT = Path(__file__).resolve().parents[2]


def _procfile_workers() -> list[str]:
    text = (ROOT / "Procfile").read_text(encoding="utf-8")
    return re.findall(r"^\w[\w-]*: clash worker ([\w-]+)\s*$", text, flags=re.MULTILINE)


def test_the_procfile_runs_every_live_mode_worker_once_and_one_web_process() -> None:
    text = (ROOT / "Procfile").read_text(encoding="utf-8")
    named = _procfile_workers()

    assert sorted(named) == sorted(MODE_WORKERS["live"])
    assert set(named) <= set(worker_names())
    assert re.search(r"^web: clash serve --no-workers ", text, flags=re.MULTILINE)


def test_the_systemd_units_run_the_api_without_workers_and_one_worker_each() -> None:
    api = (ROOT / "deploy/systemd/clash-api@.service").read_text(encoding="utf-8")
    worker = (ROOT / "deploy/systemd/clash-worker@.service").read_text(encoding="utf-8")

    assert "ExecStart=/opt/clash/.venv/bin/clash serve --no-workers" in api
    assert "ExecStart=/opt/clash/.venv/bin/clash worker %i" in worker
    for unit in (api, worker):
        stop = int(re.search(r"^TimeoutStopSec=(\d+)$", unit, flags=re.MULTILINE)[1])  # type: ignore[index]
        assert stop > Settings().worker_shutdown_grace_seconds


def test_every_variable_of_the_example_environment_is_a_setting() -> None:
    text = (ROOT / "deploy/systemd/clash.env.example").read_text(encoding="utf-8")
    names = re.findall(r"^CLASH_([A-Z0-9_]+)=", text, flags=re.MULTILINE)
    fields = set(Settings.model_fields)

    unknown = [
        name
        for name in names
        if name.lower() not in fields
        and not (name.endswith("_FILE") and name.lower().removesuffix("_file") in FILE_SECRETS)
    ]
    assert names
    assert unknown == []
