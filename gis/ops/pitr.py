"""Point-in-time recovery with pgBackRest: WAL archiving, full/differential/incremental backups with
retention, verification, and restores of the whole cluster to any second.

Why pgBackRest rather than hand-written WAL copying: it checks every archived segment, keeps
backups consistent with their WAL, expires old ones by a retention rule, picks the right backup for
a target time, and restores with `--delta` (only changed files). The pg_dump backups of
gis/ops/backup.py stay for moving one database between servers; this is the disaster-recovery path.

Layout: a repository folder (`backup_repo`, default `<cluster home>/pgbackrest` — put it on another
disk in production) holding the configuration, the backups, the WAL archive, logs and locks, all
owned by the cluster's OS user, which runs pgBackRest. `archive_timeout` forces a WAL segment out
at least every `archive_timeout_s`, which bounds the data lost with the server (RPO).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from gis.db.cluster import SUPERUSER, Cluster, ClusterError
from gis.errors import CityGridError, InvalidInput
from gis.settings import get_settings

BACKUP_TYPES = ("full", "diff", "incr")


class PitrError(CityGridError):
    code = "backup_error"


@dataclass(frozen=True)
class Pitr:
    cluster: Cluster
    repo: Path
    stanza: str = "citygrid"
    retention_full: int = 2
    archive_timeout_s: int = 60

    @classmethod
    def for_cluster(cls, cluster: Cluster) -> Pitr:
        settings = get_settings()
        repo = settings.backup_repo or cluster.home / "pgbackrest"
        return cls(cluster, repo, settings.backup_stanza, settings.backup_retention_full, settings.archive_timeout_s)

    @property
    def config(self) -> Path:
        return self.repo / "pgbackrest.conf"

    @property
    def pgpass(self) -> Path:
        return self.repo / "pgpass"

    # -- set-up ----------------------------------------------------------------------------------------

    def _owned(self, path: Path, mode: int = 0o700) -> None:
        if os.geteuid() == 0:
            shutil.chown(path, user=self.cluster.settings.pg_os_user)
        os.chmod(path, mode)

    def write_config(self) -> None:
        for sub in (self.repo, self.repo / "repo", self.repo / "log", self.repo / "lock"):
            sub.mkdir(parents=True, exist_ok=True)
            self._owned(sub)
        c = self.cluster
        self.config.write_text(
            "[global]\n"
            f"repo1-path={self.repo / 'repo'}\n"
            f"repo1-retention-full={self.retention_full}\n"
            f"log-path={self.repo / 'log'}\n"
            f"lock-path={self.repo / 'lock'}\n"
            "log-level-console=warn\nlog-level-file=info\n"
            "start-fast=y\ncompress-type=lz4\nprocess-max=2\n\n"
            f"[{self.stanza}]\n"
            f"pg1-path={c.datadir}\n"
            f"pg1-port={c.settings.pg_port}\n"
            f"pg1-socket-path={c.rundir}\n"
            f"pg1-user={SUPERUSER}\n"
        )
        self._owned(self.config, 0o600)
        self.pgpass.write_text(f"*:*:*:{SUPERUSER}:{c.password()}\n")
        self._owned(self.pgpass, 0o600)

    def _command(self, *args: str) -> list[str]:
        return [shutil.which("pgbackrest") or "pgbackrest", f"--config={self.config}", f"--stanza={self.stanza}", *args]

    def run(self, *args: str, timeout: float = 3600) -> str:
        """Runs pgBackRest as the cluster's owner; its password comes from a pgpass file, not argv."""
        argv = self.cluster._as_owner(["env", f"PGPASSFILE={self.pgpass}", *self._command(*args)])
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            raise PitrError(f"pgbackrest {args[0]} failed: {(proc.stderr or proc.stdout).strip()[-2000:]}")
        return proc.stdout

    def _settings_sql(self) -> dict[str, str]:
        push = " ".join(self._command("archive-push", "%p"))
        return {"archive_mode": "on", "archive_command": push, "archive_timeout": f"{self.archive_timeout_s}s",
                "wal_level": "replica"}

    def configure(self) -> None:
        """Idempotent: config file, archiving on (restarts the cluster once when it was off), stanza, check."""
        if shutil.which("pgbackrest") is None:
            raise PitrError("pgBackRest is not installed: apt-get install pgbackrest (scripts/setup.sh does)")
        self.write_config()
        wanted = self._settings_sql()
        with psycopg.connect(self.cluster.url("postgres"), autocommit=True) as conn:
            current = {k: conn.execute("SELECT current_setting(%s)", (k,)).fetchone()[0] for k in wanted}
            for key, value in wanted.items():
                if current[key] != value:
                    conn.execute(f"ALTER SYSTEM SET {key} = {sql.quote(value)}")
            conn.execute("SELECT pg_reload_conf()")
        if current["archive_mode"] != "on" or current["wal_level"] != "replica":
            self.cluster.stop()
            self.cluster.start()
        self.run("stanza-create")
        self.run("check")

    # -- backups -------------------------------------------------------------------------------------

    def backup(self, kind: str = "full") -> dict:
        """A backup of the whole cluster (full, diff or incr); older full backups beyond the retention
        expire with their WAL. Returns the new backup's description from `info`."""
        if kind not in BACKUP_TYPES:
            raise InvalidInput(f"backup type {kind!r}: use one of {', '.join(BACKUP_TYPES)}")
        self.configure()
        self.run("backup", f"--type={kind}")
        return self.info()["backup"][-1]

    def info(self) -> dict:
        stanzas = json.loads(self.run("info", "--output=json"))
        if not stanzas:
            raise PitrError("no backup stanza yet: run citygrid backup first")
        return stanzas[0]

    def verify(self) -> str:
        """Checks every backup file and archived WAL segment in the repository against its checksum."""
        self.run("verify")
        return "verified: " + ", ".join(f"{b['label']} ({b['type']})" for b in self.info()["backup"])

    def archive_now(self) -> None:
        """Switches to a new WAL segment and waits until the finished one is archived (what `check` does)."""
        self.run("check")

    # -- restore -------------------------------------------------------------------------------------

    def restore(self, target: str | None = None, timeout: float = 600) -> float:
        """Stops the cluster, restores it to `target` (a timestamp with zone; None: the end of the WAL
        archive), starts it and waits until it accepts writes. Returns the seconds it took."""
        started = time.monotonic()
        if not self.config.exists():
            raise PitrError(f"no pgBackRest configuration in {self.repo}: nothing was backed up here")
        self.cluster.stop()
        args = ["restore", "--delta"]
        if target:
            args += ["--type=time", f"--target={target}", "--target-action=promote"]
        self.run(*args, timeout=timeout)
        self.cluster.start()
        deadline = time.monotonic() + timeout
        with psycopg.connect(self.cluster.url("postgres"), autocommit=True) as conn:
            while conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]:
                if time.monotonic() > deadline:
                    raise ClusterError("the restored cluster did not finish recovery in time")
                time.sleep(0.2)
        return time.monotonic() - started


def local_pitr() -> Pitr:
    from gis.db.cluster import local_cluster

    if get_settings().database_url:
        raise PitrError("point-in-time backups manage the project-local cluster; with DATABASE_URL, "
                        "use the server's own pgBackRest (or citygrid backup FILE for a pg_dump)")
    return Pitr.for_cluster(local_cluster())
