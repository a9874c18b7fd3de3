"""The backups worker: a backup of the store per ``CLASH_BACKUP_INTERVAL_SECONDS``, pruned.

Each period of the service clock one process (the runtime's lease on ``backup:<period>``)
takes a backup into ``CLASH_BACKUP_DIR`` (``adapters/backups.py``) and deletes the backups
there older than ``CLASH_BACKUP_RETENTION_DAYS``. The folder itself says whether this
period's backup exists, so a restarted worker (or a second one sharing the folder) does
not take it again. ``CLASH_BACKUP_INTERVAL_SECONDS=0``
turns it off (a deployment that backs up its database by other means).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from adapters.backups import create_backup, latest_backup_time, prune_backups
from adapters.bootstrap import Container
from workers.runtime import WorkItem

log = structlog.get_logger("workers.backups")


@dataclass
class BackupWorker:
    """The ``backups`` worker."""

    container: Container
    name: str = "backups"
    interval: timedelta = timedelta(seconds=60)
    critical: bool = False

    def pending(self, now: datetime) -> Sequence[WorkItem]:
        """This period's backup, if it has not been taken here."""
        every = self.container.settings.backup_interval_seconds
        if every <= 0:
            return []
        period = int(now.timestamp()) // every
        latest = latest_backup_time(self.container.settings.effective_backup_dir)
        if latest is not None and int(latest.timestamp()) // every >= period:
            return []
        return [WorkItem(f"backup:{period}")]

    def perform(self, item: WorkItem, now: datetime) -> None:
        """Take the backup, then prune what is past the retention."""
        settings = self.container.settings
        directory = settings.effective_backup_dir
        made = create_backup(
            settings.database_url, settings.effective_postgres_schema, directory, now
        )
        pruned = prune_backups(directory, now - timedelta(days=settings.backup_retention_days))
        log.info("backup_taken", path=str(made.path), size=made.size, pruned=len(pruned))
