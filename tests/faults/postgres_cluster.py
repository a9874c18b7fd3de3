"""A throwaway PostgreSQL cluster that a fault test may stop, crash and start at will.

Fault tests must never touch the shared server (``127.0.0.1:5432``): other tests and other
engineers use it. So each cluster is made from scratch by ``initdb`` in a temporary folder,
listens on its own free port (TCP on 127.0.0.1 and a socket in that folder) and is deleted
afterwards. ``initdb`` refuses to run as root, so under root every server command runs as
the ``postgres`` OS user through ``runuser``, in a folder that user owns.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

SHARED_SERVER_PORT = 5432
SERVER_USER = "postgres"


def postgres_bindir() -> Path | None:
    """Return the folder holding ``initdb`` and ``pg_ctl``, or ``None`` when none is installed."""
    candidates: list[str] = []
    if pg_config := shutil.which("pg_config"):
        found = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        candidates.append(found.stdout.strip())
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for folder in candidates:
        if folder and all((Path(folder) / tool).is_file() for tool in ("initdb", "pg_ctl")):
            return Path(folder)
    return None


def cluster_problem() -> str | None:
    """Return why no throwaway cluster can be made here, or ``None`` when one can."""
    if postgres_bindir() is None:
        return "no PostgreSQL server binaries (initdb, pg_ctl) found via pg_config or /usr/lib"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError:
            return f"running as root and no '{SERVER_USER}' OS user to run initdb as"
        if shutil.which("runuser") is None:
            return "running as root and no runuser to run initdb as the postgres user"
    return None


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now (never 5432)."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port != SHARED_SERVER_PORT:
            return port


class ThrowawayCluster:
    """One ``initdb``-made cluster in a temporary folder, on its own port."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="clash-pg-fault-"))
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        self._as_root = os.geteuid() == 0
        if self._as_root:
            account = pwd.getpwnam(SERVER_USER)
            os.chown(self.folder, account.pw_uid, account.pw_gid)

    @property
    def url(self) -> str:
        """The URL of the cluster's ``postgres`` database, for the trusted superuser."""
        return f"postgresql://{SERVER_USER}@127.0.0.1:{self.port}/postgres"

    def create(self) -> None:
        """Run ``initdb`` (trust authentication, superuser ``postgres``, no fsync)."""
        self._run(
            "initdb", "-D", str(self.data), "--auth=trust", f"--username={SERVER_USER}",
            "--no-sync", "--encoding=UTF8", "--locale=C",
        )  # fmt: skip

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c full_page_writes=off -c max_connections=40"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: ``fast`` (sessions ended, clean) or ``immediate`` (a crash)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        """Stop the server if it runs, then delete its folder."""
        status = self._run("pg_ctl", "-D", str(self.data), "status", check=False)
        if status.returncode == 0:
            self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(self.bindir / tool), *args]
        if self._as_root:
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        done = subprocess.run(
            command, capture_output=True, text=True, cwd=self.folder, timeout=60, check=False
        )
        if check and done.returncode != 0:
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr or done.stdout}")
        return done
