"""A circuit breaker in front of the database, probed in the background.

Why: when PostgreSQL is unreachable, a pool makes every request wait for its own acquire timeout
(seconds) before it fails, so a few clients pile up and the whole server stops answering. Here one
daemon thread per process keeps a tiny connection of its own and runs `SELECT pg_is_in_recovery()`
every `db_probe_interval_s`; a failed probe opens the breaker, and from then on `check()` refuses
database work at once (the HTTP layer answers 503 + Retry-After) until a probe succeeds again.
Request paths never decide that the database is down: they only `record_failure()`, which wakes the
prober for an immediate look — one killed connection does not open the breaker, a refused
reconnect does.

Each recovery bumps `generation`: pools compare it with the generation they were built in and
replace themselves, instead of waiting out their own reconnect back-off (psycopg_pool retries with
exponential delays, which stretched recovery to many seconds after a long outage).

The prober also reads what /readyz and /metrics report: whether the database is a primary or a
standby, and the replication lag of each standby (on a primary) or of this server (on a standby).

No web framework here: both pools (the psycopg pool of gis/db/pool.py and the async pool of the OGC
fast path) and any later one call `check()` before they hand out a connection.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import psycopg

from gis.errors import DatabaseUnavailable
from gis.settings import get_settings

log = logging.getLogger("citygrid.db.breaker")

#: What the prober reads from a primary about its standbys (lag in bytes of WAL and in seconds).
REPLICATION_SQL = (
    "SELECT application_name, state, sync_state, "
    "coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), 0)::bigint, "
    "coalesce(extract(epoch FROM replay_lag), 0)::float8 FROM pg_stat_replication ORDER BY 1"
)
#: ... and from a standby about itself (seconds since the last replayed commit when WAL is pending).
STANDBY_SQL = (
    "SELECT CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "
    "ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0) END::float8, "
    "coalesce(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), 0)::bigint"
)


@dataclass
class Replica:
    name: str
    state: str
    sync_state: str
    lag_bytes: int
    lag_seconds: float


@dataclass
class Status:
    """The last probe's findings (read by /readyz and /metrics)."""

    open: bool = False
    since: float | None = None            # wall time the current state began (None: never probed)
    probed_at: float | None = None
    error: str | None = None
    role: str | None = None               # "primary" or "standby"
    host: str | None = None
    port: int | None = None
    replicas: list[Replica] = field(default_factory=list)
    lag_seconds: float | None = None      # this server's lag when it is a standby
    lag_bytes: int | None = None


class Breaker:
    """Closed (database work allowed) or open (refused at once) for one database URL."""

    def __init__(self, url: str, interval_s: float | None = None, timeout_s: int | None = None) -> None:
        settings = get_settings()
        self.url = url
        self.interval_s = interval_s if interval_s is not None else settings.db_probe_interval_s
        self.timeout_s = max(2, timeout_s if timeout_s is not None else settings.db_probe_timeout_s)
        self.retry_after_s = settings.db_retry_after_s
        self.generation = 0
        self.status = Status()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._probed = threading.Event()
        self._conn: psycopg.Connection | None = None
        self._thread: threading.Thread | None = None
        self._last_detail = 0.0

    # -- the request side --------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self.status.open

    def check(self) -> None:
        """Raises DatabaseUnavailable at once while the breaker is open; starts the prober on first use."""
        self.start()
        if self.status.open:
            raise DatabaseUnavailable(
                "the database is not reachable; retry shortly",
                extra={"retry_after": self.retry_after_s},
            )

    def record_failure(self, exc: BaseException | None = None) -> None:
        """A request saw the database fail: look now rather than at the next tick."""
        self.start()
        self._wake.set()

    def wait_probed(self, timeout: float = 5.0) -> bool:
        """Blocks until the first probe has run (start-up, tests); True if it did."""
        self.start()
        return self._probed.wait(timeout)

    # -- the prober ----------------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="citygrid-db-probe", daemon=True)
                self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=self.timeout_s + 1)
        self._close_conn()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.probe()
            self._probed.set()
            self._wake.wait(self.interval_s)
            self._wake.clear()

    def _close_conn(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    def _connect(self) -> psycopg.Connection:
        return psycopg.connect(self.url, autocommit=True, connect_timeout=self.timeout_s,
                               application_name="citygrid-probe",
                               options=f"-c statement_timeout={self.timeout_s * 1000}")

    def probe(self) -> bool:
        """One look at the database; opens or closes the breaker accordingly. True when reachable."""
        found: dict[str, Any] = {}
        try:
            try:
                if self._conn is None or self._conn.closed:
                    self._conn = self._connect()
                found = self._read(self._conn)
            except psycopg.OperationalError:
                # The kept connection may just have been killed: one fresh attempt decides.
                self._close_conn()
                self._conn = self._connect()
                found = self._read(self._conn)
        except Exception as exc:  # any failure to reach and query the server means "unreachable"
            self._close_conn()
            self._set(False, error=f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc) else ''}")
            return False
        self._set(True, **found)
        return True

    def _read(self, conn: psycopg.Connection) -> dict[str, Any]:
        standby = bool(conn.execute("SELECT pg_is_in_recovery()").fetchone()[0])
        found: dict[str, Any] = {"role": "standby" if standby else "primary",
                                 "host": conn.info.host, "port": conn.info.port}
        now = time.monotonic()
        if now - self._last_detail >= max(1.0, self.interval_s * 4):  # lag needs no sub-second refresh
            self._last_detail = now
            if standby:
                seconds, lag_bytes = conn.execute(STANDBY_SQL).fetchone()
                found.update(lag_seconds=float(seconds), lag_bytes=int(lag_bytes), replicas=[])
            else:
                found.update(replicas=[Replica(*row) for row in conn.execute(REPLICATION_SQL).fetchall()],
                             lag_seconds=None, lag_bytes=None)
        return found

    def _set(self, reachable: bool, error: str | None = None, **found: Any) -> None:
        status = self.status
        now = time.time()
        was_open = status.open
        if reachable and was_open:
            self.generation += 1  # pools built before the outage replace themselves
            log.warning("database reachable again after %.1f s: breaker closed", now - (status.since or now))
        elif not reachable and not was_open:
            log.warning("database unreachable (%s): breaker open, database paths answer 503", error)
        changed = reachable == was_open or status.since is None
        for key, value in found.items():
            setattr(status, key, value)
        status.error = error
        status.probed_at = now
        if changed:
            status.since = now
        status.open = not reachable


_breakers: dict[str, Breaker] = {}
_registry_lock = threading.Lock()


def get_breaker(url: str | None = None) -> Breaker:
    """The process's breaker for `url` (default: the configured database)."""
    if url is None:
        from gis.db.engine import database_url

        url = database_url()
    breaker = _breakers.get(url)
    if breaker is None:
        with _registry_lock:
            breaker = _breakers.get(url)
            if breaker is None:
                breaker = _breakers[url] = Breaker(url)
    return breaker


def stop_breaker(breaker: Breaker) -> None:
    """Stops one breaker's prober (its owner shuts down) and forgets it, so a later `get_breaker`
    makes a fresh one."""
    with _registry_lock:
        if _breakers.get(breaker.url) is breaker:
            del _breakers[breaker.url]
    breaker.stop()


def stop_all() -> None:
    """Stops every prober (server shutdown, tests)."""
    with _registry_lock:
        breakers = list(_breakers.values())
        _breakers.clear()
    for breaker in breakers:
        breaker.stop()
