"""A project-local PostgreSQL + PostGIS cluster, used when no DATABASE_URL is given.

The cluster lives in `.pgdata/` (ignored by git), listens on 127.0.0.1 only, and authenticates with
a generated password kept beside it. `initdb` refuses to run as root, and these machines run as
root: the cluster then belongs to an unprivileged OS user (`postgres` by default). When that user
cannot reach the checkout (a home directory with mode 700), the data live under
/var/lib/citygrid/ and `.pgdata` is a link to them.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from gis.errors import CityGridError
from gis.settings import Settings, get_settings

SUPERUSER = "citygrid"
#: Written into a primary's home when its standby was promoted (gis/db/replication.py): such a
#: cluster must not start again as a second writable server.
FENCE = "FAILED_OVER"
POSTGIS_CONTROL = Path("/usr/share/postgresql/15/extension/postgis.control")
TUNING = """
# CityGrid defaults for a 2-core / 24 GB machine.
listen_addresses = '127.0.0.1'
max_connections = 200
shared_buffers = 2GB
effective_cache_size = 12GB
work_mem = 64MB
maintenance_work_mem = 1GB
max_wal_size = 4GB
checkpoint_timeout = 15min
jit = off
random_page_cost = 1.1
max_parallel_workers_per_gather = 2
timezone = 'UTC'
log_min_duration_statement = 2000
"""


class ClusterError(CityGridError):
    code = "cluster_error"


@dataclass(frozen=True)
class Cluster:
    settings: Settings

    @property
    def home(self) -> Path:
        # Resolved: when `.pgdata` is a link, the server user must be given the real path.
        return self.settings.pg_data.resolve()

    @property
    def link(self) -> Path:
        return self.settings.pg_data

    @property
    def datadir(self) -> Path:
        return self.home / "cluster"

    @property
    def rundir(self) -> Path:
        return self.home / "run"

    @property
    def logfile(self) -> Path:
        return self.home / "postgres.log"

    @property
    def password_file(self) -> Path:
        return self.home / "password"

    def _bin(self, name: str) -> str:
        return str(self.settings.pg_bin / name)

    def _as_owner(self, args: list[str]) -> list[str]:
        if os.geteuid() == 0:
            return ["runuser", "-u", self.settings.pg_os_user, "--", *args]
        return args

    def _run(self, args: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self._as_owner(args), check=check, capture_output=True, text=True)

    # -- set-up -----------------------------------------------------------------------------------

    def check_binaries(self) -> None:
        if not Path(self._bin("initdb")).exists():
            raise ClusterError(
                f"PostgreSQL 15 server binaries not found in {self.settings.pg_bin}. "
                "Install them with: apt-get install postgresql-15 postgresql-15-postgis-3"
            )
        if not POSTGIS_CONTROL.exists():
            raise ClusterError(
                "PostGIS for PostgreSQL 15 is not installed. "
                "Install it with: apt-get install postgresql-15-postgis-3"
            )

    def _owner_can_reach(self, path: Path) -> bool:
        if os.geteuid() != 0:
            return True
        probe = subprocess.run(
            ["runuser", "-u", self.settings.pg_os_user, "--", "test", "-x", str(path)],
            capture_output=True,
        )
        return probe.returncode == 0

    def _prepare_home(self) -> None:
        if self.link.exists():
            return
        parent = self.link.parent
        parent.mkdir(parents=True, exist_ok=True)
        if self._owner_can_reach(parent):
            self.link.mkdir()
        else:
            digest = hashlib.sha1(str(self.link.absolute()).encode()).hexdigest()[:12]
            target = Path("/var/lib/citygrid") / digest
            target.mkdir(parents=True, exist_ok=True)
            self.link.symlink_to(target)
        if os.geteuid() == 0:
            shutil.chown(self.home.resolve(), user=self.settings.pg_os_user)
            os.chmod(self.home.resolve(), 0o755)

    def initialised(self) -> bool:
        return (self.datadir / "PG_VERSION").exists() if self._readable() else False

    def _readable(self) -> bool:
        try:
            return self.datadir.exists()
        except PermissionError:
            return False

    def init(self) -> None:
        self.check_binaries()
        self._prepare_home()
        if self.initialised():
            return
        password = secrets.token_urlsafe(24)
        self.password_file.write_text(password)
        os.chmod(self.password_file, 0o600)
        pwfile = self.home / "pwfile.tmp"
        pwfile.write_text(password + "\n")
        if os.geteuid() == 0:
            shutil.chown(pwfile, user=self.settings.pg_os_user)
        try:
            self._run(
                [
                    self._bin("initdb"),
                    "-D", str(self.datadir),
                    "-U", SUPERUSER,
                    "--pwfile", str(pwfile),
                    "--auth-local=scram-sha-256",
                    "--auth-host=scram-sha-256",
                    "-E", "UTF8",
                    "--locale=C.UTF-8",
                ]
            )
        except subprocess.CalledProcessError as exc:
            raise ClusterError(f"initdb failed: {exc.stderr.strip()}") from exc
        finally:
            pwfile.unlink(missing_ok=True)
        conf = self.datadir / "postgresql.conf"
        subprocess.run(
            self._as_owner(["sh", "-c", f"cat >> '{conf}'"]), input=TUNING, text=True, check=True
        )

    # -- life cycle -------------------------------------------------------------------------------

    def running(self) -> bool:
        if not self.initialised():
            return False
        return self._run([self._bin("pg_ctl"), "-D", str(self.datadir), "status"], check=False).returncode == 0

    def start(self) -> None:
        if (self.link / FENCE).exists():
            raise ClusterError(f"{self.home} was failed over from (its standby was promoted): it must not run as a "
                               f"second primary. Remove it and make it a standby of the new primary, or delete "
                               f"{self.home / FENCE} if the promotion was undone.")
        self.init()
        if self.running():
            self.ensure_database(self.settings.pg_database)
            return
        if not self.rundir.exists():
            self.rundir.mkdir()
            if os.geteuid() == 0:
                shutil.chown(self.rundir, user=self.settings.pg_os_user)
        opts = f"-p {self.settings.pg_port} -k {self.rundir}"
        proc = self._run(
            [self._bin("pg_ctl"), "-D", str(self.datadir), "-l", str(self.logfile), "-o", opts, "-w", "start"],
            check=False,
        )
        if proc.returncode != 0:
            tail = ""
            with contextlib.suppress(OSError):
                tail = self.logfile.read_text()[-2000:]
            raise ClusterError(f"PostgreSQL did not start: {proc.stderr.strip()}\n{tail}")
        self._wait_ready()
        self.ensure_database(self.settings.pg_database)

    def _wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ok = subprocess.run(
                [self._bin("pg_isready"), "-h", "127.0.0.1", "-p", str(self.settings.pg_port)],
                capture_output=True,
            )
            if ok.returncode == 0:
                return
            time.sleep(0.2)
        raise ClusterError("PostgreSQL did not become ready within 30 s")

    def stop(self) -> None:
        if self.running():
            self._run([self._bin("pg_ctl"), "-D", str(self.datadir), "-m", "fast", "-w", "stop"])

    def status(self) -> str:
        if not self.initialised():
            return f"no cluster in {self.home}"
        state = "running" if self.running() else "stopped"
        return f"{state}: {self.datadir} on 127.0.0.1:{self.settings.pg_port}"

    # -- connections ------------------------------------------------------------------------------

    def password(self) -> str:
        return self.password_file.read_text().strip()

    def url(self, database: str | None = None) -> str:
        db = database or self.settings.pg_database
        return f"postgresql://{SUPERUSER}:{self.password()}@127.0.0.1:{self.settings.pg_port}/{db}"

    def ensure_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{name}"')


def local_cluster(settings: Settings | None = None) -> Cluster:
    return Cluster(settings or get_settings())
