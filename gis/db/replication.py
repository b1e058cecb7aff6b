"""A hot standby of the local cluster (PostgreSQL streaming replication), its promotion, and the
multi-host URL that lets the application follow a failover.

Why these choices:
- `pg_basebackup -X stream` with a physical replication slot: the standby starts from a consistent
  copy and the primary keeps every WAL segment the standby has not received yet.
- Synchronous commit by default (`pg_standby_sync`): a commit is acknowledged only once the standby
  has flushed its WAL, so a failover never loses an acknowledged fix. The price is that writes wait
  while the standby is down; `citygrid db standby --drop` turns that off.
- The application connects with `host=a,b&port=p,q&target_session_attrs=read-write`: libpq tries the
  hosts in order and keeps the one that accepts writes, so after a promotion the pools (renewed by
  the circuit breaker) land on the new primary without a configuration change.
- Promotion fences the old primary: it is stopped (when it still runs) and marked, and the marked
  cluster refuses to start, because two writable servers in one URL list would split the data.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import psycopg

from gis.db.cluster import FENCE, SUPERUSER, Cluster, ClusterError, local_cluster
from gis.settings import Settings, get_settings

SLOT = "citygrid_standby"


def standby_cluster(settings: Settings | None = None) -> Cluster:
    """The standby's cluster object: its own folder and port, the primary's password."""
    settings = settings or get_settings()
    port = settings.pg_standby_port or settings.pg_port + 1
    return Cluster(settings.model_copy(update={"pg_data": settings.pg_standby_data, "pg_port": port}))


def failover_url(clusters: list[Cluster], database: str | None = None) -> str:
    """A libpq URL naming every cluster, which connects to whichever one accepts writes."""
    first = clusters[0]
    db = database or first.settings.pg_database
    hosts = ",".join("127.0.0.1" for _ in clusters)
    ports = ",".join(str(c.settings.pg_port) for c in clusters)
    return (f"postgresql://{SUPERUSER}:{quote(first.password(), safe='')}@/{db}"
            f"?host={hosts}&port={ports}&target_session_attrs=read-write")


def prefer_standby(url: str) -> str:
    """The same servers, but a standby first when one answers (`target_session_attrs=prefer-standby`):
    for read-only bulk work (exports, batch jobs) that need not load the primary. A URL naming one
    server still connects to it, whatever its role."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "target_session_attrs"]
    query.append(("target_session_attrs", "prefer-standby"))
    return urlunsplit(parts._replace(query=urlencode(query, safe=",")))


def _append_conf(cluster: Cluster, text: str) -> None:
    conf = cluster.datadir / "postgresql.auto.conf"
    subprocess.run(cluster._as_owner(["sh", "-c", f"cat >> '{conf}'"]), input=text, text=True, check=True)


def _admin(cluster: Cluster) -> psycopg.Connection:
    return psycopg.connect(cluster.url("postgres"), autocommit=True, connect_timeout=5)


def create_standby(primary: Cluster, standby: Cluster, sync: bool = True, timeout: float = 60.0) -> None:
    """Copies the running `primary` into `standby`'s folder and starts it as a streaming hot standby."""
    if not primary.running():
        raise ClusterError("the primary is not running: start it first (citygrid db start)")
    standby.check_binaries()
    standby._prepare_home()
    if standby.initialised():
        raise ClusterError(f"a cluster already exists in {standby.datadir}; remove it with citygrid db standby --drop")
    password = primary.password()
    standby.password_file.write_text(password)
    os.chmod(standby.password_file, 0o600)
    with _admin(primary) as conn:
        if conn.execute("SELECT 1 FROM pg_replication_slots WHERE slot_name = %s", (SLOT,)).fetchone() is None:
            conn.execute("SELECT pg_create_physical_replication_slot(%s)", (SLOT,))
    conninfo = (f"host=127.0.0.1 port={primary.settings.pg_port} user={SUPERUSER} "
                f"password={password} application_name={SLOT}")
    proc = standby._run([standby._bin("pg_basebackup"), "-d", conninfo, "-D", str(standby.datadir),
                         "-X", "stream", "-S", SLOT, "-R", "-c", "fast"], check=False)
    if proc.returncode != 0:
        raise ClusterError(f"pg_basebackup failed: {proc.stderr.strip()}")
    # Later lines win: the standby names itself (for synchronous_standby_names), never waits for a
    # standby of its own once promoted, and does not archive WAL the primary already archives.
    _append_conf(standby, f"primary_conninfo = '{conninfo}'\nprimary_slot_name = '{SLOT}'\n"
                          "synchronous_standby_names = ''\nhot_standby = on\n")
    fence = standby.home / FENCE
    fence.unlink(missing_ok=True)
    standby.start()
    if sync:
        with _admin(primary) as conn:
            conn.execute(f"ALTER SYSTEM SET synchronous_standby_names = '{SLOT}'")
            conn.execute("SELECT pg_reload_conf()")
    wait_streaming(primary, timeout)


def wait_streaming(primary: Cluster, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    with _admin(primary) as conn:
        while time.monotonic() < deadline:
            row = conn.execute("SELECT state FROM pg_stat_replication WHERE application_name = %s",
                               (SLOT,)).fetchone()
            if row and row[0] == "streaming":
                return
            time.sleep(0.2)
    raise ClusterError(f"the standby did not start streaming within {timeout:.0f} s")


def promote(standby: Cluster, old_primary: Cluster | None = None) -> None:
    """Makes the standby a primary. The old primary, when given, is stopped (if it runs) and fenced."""
    if old_primary is not None:
        with contextlib.suppress(Exception):
            old_primary._run([old_primary._bin("pg_ctl"), "-D", str(old_primary.datadir), "-m", "immediate",
                              "-w", "stop"], check=False)
        with contextlib.suppress(OSError):
            (old_primary.home / FENCE).write_text(f"promoted standby on port {standby.settings.pg_port}\n")
    proc = standby._run([standby._bin("pg_ctl"), "-D", str(standby.datadir), "-w", "-t", "60", "promote"],
                        check=False)
    if proc.returncode != 0:
        raise ClusterError(f"promotion failed: {proc.stderr.strip() or proc.stdout.strip()}")


def drop_standby(primary: Cluster, standby: Cluster) -> None:
    """Stops and removes the standby; the primary stops waiting for it and forgets its slot."""
    with contextlib.suppress(Exception):
        standby.stop()
    if primary.running():
        with _admin(primary) as conn:
            conn.execute("ALTER SYSTEM RESET synchronous_standby_names")
            conn.execute("SELECT pg_reload_conf()")
            if conn.execute("SELECT 1 FROM pg_replication_slots WHERE slot_name = %s", (SLOT,)).fetchone():
                conn.execute("SELECT pg_drop_replication_slot(%s)", (SLOT,))
    home = standby.home
    if home.exists():
        if os.geteuid() == 0:
            subprocess.run(["rm", "-rf", str(home)], check=False)
        else:
            shutil.rmtree(home, ignore_errors=True)
    if standby.link.is_symlink():
        standby.link.unlink()


def local_failover_url() -> str | None:
    """The multi-host URL of the local primary and its standby, when `citygrid db standby` made one."""
    primary = local_cluster()
    standby = standby_cluster()
    try:
        if not standby.initialised():
            return None
        return failover_url([primary, standby])
    except OSError:
        return None
