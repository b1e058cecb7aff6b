"""Fault bench: the map's read paths plus position ingest under database stop/restart, a failover to
the hot standby, and a killed server worker; and the measured restore time of the demo district.

Everything runs on private clusters (a primary with WAL archiving to pgBackRest, and its synchronous
hot standby, on free ports under a temporary folder): the main cluster is only read once, to copy
the demo district (pg_dump) — load it first with `citygrid demo load`.

Printed per phase: answers by path class and status, the slowest 503 of a database path, the time
to the first success after the fault ends (database back / primary killed / worker killed), and at
the end fixes acknowledged vs stored and alarms expected vs stored, the RPO bound of the WAL archive,
and the seconds `citygrid restore` took to bring the demo district's cluster back.

    .venv/bin/python bench/bench_faults.py [--readers 4] [--phase-s 8] [--down-s 8] [--keep]

Goals (issue 20): 0 answers 5xx other than 503, 0 acknowledged fixes lost, database-path 503s within
1 s, recovery ≤ 5 s after the database returns, failover ≤ 30 s end to end, RPO ≤ 1 min, restore of
the demo district ≤ 5 min. Figures read lower on a shared 2-core machine.
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import morecantile
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import free_port, load_average  # noqa: E402
from gis.db import migrate  # noqa: E402
from gis.db.cluster import Cluster  # noqa: E402
from gis.db.engine import database_url  # noqa: E402
from gis.db.replication import create_standby, failover_url, promote  # noqa: E402
from gis.ops.backup import backup as pg_dump  # noqa: E402
from gis.ops.backup import restore as pg_restore  # noqa: E402
from gis.ops.pitr import Pitr  # noqa: E402
from gis.security.keys import create_key  # noqa: E402
from gis.settings import Settings  # noqa: E402

CENTER = (121.44, 31.36)
VEHICLE = "bench-fault-1"
#: A forbidden square for the bench vehicle: every "inside" batch (12 fixes over 60 s) opens one alarm.
ZONE = (121.300, 31.250, 121.305, 31.255)
MEMORY, DB, INGEST = "memory", "db", "ingest"


@contextmanager
def serve(url: str, workers: int) -> Iterator[tuple[str, subprocess.Popen]]:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "CITYGRID_DB_ACQUIRE_TIMEOUT_S": "2",
           "CITYGRID_ACCESS_LOG_SAMPLE": "0"}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory", "--host",
                             "127.0.0.1", "--port", str(port), "--workers", str(workers), "--log-level", "error",
                             "--no-access-log"], cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError("server did not start")
        time.sleep(0.3)
    try:
        yield base, proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def workers_of(pid: int) -> list[int]:
    """The uvicorn worker processes of a supervisor (not multiprocessing's resource tracker)."""
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    found = []
    for child in map(int, out):
        cmdline = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ")
        if b"spawn_main" in cmdline or b"uvicorn" in cmdline:
            found.append(child)
    return found


class Recorder:
    """(phase, class, status) counts, 503 latencies of database paths, and the time of each answer."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.phase = "warm-up"
        self.counts: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        self.slow503: dict[str, float] = collections.defaultdict(float)
        self.successes: dict[str, list[float]] = collections.defaultdict(list)  # class -> times of 2xx
        self.stale = collections.Counter()

    def add(self, cls: str, status: int | str, elapsed: float, stale: bool = False) -> None:
        with self.lock:
            self.counts[self.phase][(cls, status)] += 1
            if status == 503 and cls != MEMORY:
                self.slow503[self.phase] = max(self.slow503[self.phase], elapsed)
            if isinstance(status, int) and 200 <= status < 300:
                self.successes[cls].append(time.monotonic())
            if stale:
                self.stale[self.phase] += 1

    def first_success_after(self, cls: str, t: float) -> float | None:
        with self.lock:
            later = [s for s in self.successes[cls] if s >= t]
        return min(later) - t if later else None


def reader(base: str, rec: Recorder, stop: threading.Event, paths: list[tuple[str, str]]) -> None:
    with httpx.Client(base_url=base, timeout=10) as client:
        i = 0
        while not stop.is_set():
            cls, path = paths[i % len(paths)]
            i += 1
            started = time.monotonic()
            try:
                r = client.get(path)
                rec.add(cls, r.status_code, time.monotonic() - started, "x-data-stale" in r.headers)
            except httpx.HTTPError as exc:
                rec.add(cls, type(exc).__name__, time.monotonic() - started)
                time.sleep(0.05)


def fixes(i: int, t0: int) -> list[dict]:
    """Batch i of the bench vehicle: even batches inside the forbidden zone, odd ones far outside."""
    inside = i % 2 == 0
    lon0, lat0 = ((ZONE[0] + ZONE[2]) / 2, (ZONE[1] + ZONE[3]) / 2) if inside else (121.40, 31.33)
    return [{"vehicle_id": VEHICLE, "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t0 + i * 60 + k * 5)),
             "lon": lon0 + k * 1e-5, "lat": lat0, "speed_kmh": 10} for k in range(12)]


def ingester(base: str, key: str, rec: Recorder, stop: threading.Event, acked: list[int]) -> None:
    """Posts batches in order; a refused batch is retried (as a device would) before the next one."""
    t0 = int(time.time()) - 86400
    i = 0
    with httpx.Client(base_url=base, timeout=10, headers={"X-API-Key": key}) as client:
        while not stop.is_set():
            started = time.monotonic()
            try:
                r = client.post("/api/positions", json=fixes(i, t0))
                rec.add(INGEST, r.status_code, time.monotonic() - started)
                if r.status_code == 200:
                    acked.append(r.json()["accepted"])
                    i += 1
                    time.sleep(0.05)
                else:
                    time.sleep(0.2)
            except httpx.HTTPError as exc:
                rec.add(INGEST, type(exc).__name__, time.monotonic() - started)
                time.sleep(0.2)


def new_cluster(root: Path, name: str) -> Cluster:
    return Cluster(Settings(pg_data=root / name, pg_port=free_port(), pg_database="citygrid"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--readers", type=int, default=4)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--phase-s", type=float, default=8.0, help="steady load before and after each fault")
    ap.add_argument("--down-s", type=float, default=8.0, help="how long the database stays stopped")
    ap.add_argument("--keep", action="store_true", help="keep the private clusters' folder")
    args = ap.parse_args()

    root = Path(tempfile.mkdtemp(prefix="citygrid-faults-", dir="/var/tmp"))
    os.chmod(root, 0o755)
    primary, standby = new_cluster(root, "primary"), new_cluster(root, "standby")
    print(f"bench_faults: load average {load_average()} on {os.cpu_count()} cores (shared machine: figures read low)")
    try:
        # -- the demo district on a private primary, archived by pgBackRest ------------------------------
        primary.start()
        dump = root / "demo.dump"
        started = time.monotonic()
        pg_dump(dump, database_url())
        pg_restore(dump, primary.url())
        migrate.upgrade(primary.url())
        with psycopg.connect(primary.url()) as conn:
            n_units = conn.execute("SELECT count(*) FROM unit_grids").fetchone()[0]
        print(f"demo district copied: {n_units} unit grids, {dump.stat().st_size / 1e6:.1f} MB dump, "
              f"{time.monotonic() - started:.1f} s")
        if not n_units:
            print("the main database has no demo district: run `citygrid demo load` first")
        pitr = Pitr.for_cluster(primary)
        started = time.monotonic()
        full = pitr.backup("full")
        print(f"full backup: {full['info']['size'] / 1e6:.0f} MB in {time.monotonic() - started:.1f} s")
        restore_s = pitr.restore(None)
        print(f"RESTORE of the demo district's cluster (pgBackRest, full + WAL, --delta over its own folder, "
              f"stopped → accepting writes): {restore_s:.1f} s")
        primary.stop()  # the disk is lost: restore onto an empty data folder (every file copied)
        for entry in primary.datadir.iterdir():
            shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
        restore_s = pitr.restore(None)
        print(f"RESTORE onto an empty data folder (the disk lost; pgBackRest, full + WAL): {restore_s:.1f} s")

        with psycopg.connect(primary.url(), autocommit=True) as conn:
            conn.execute("INSERT INTO vehicles (id, kind) VALUES (%s, 'household_waste') ON CONFLICT DO NOTHING",
                         (VEHICLE,))
            _, device = create_key(conn, "bench-faults", "device", [VEHICLE])
            _, planner = create_key(conn, "bench-faults-planner", "planner")
        create_standby(primary, standby, sync=True)
        url = failover_url([primary, standby])

        tms = morecantile.tms.get("WebMercatorQuad")
        tile = tms.tile(*CENTER, 14)
        rec = Recorder()
        with serve(url, args.workers) as (base, proc):
            x0, y0, x1, y1 = ZONE
            zone = {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[
                [x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]},
                "properties": {"kind": "forbidden", "name": "bench fault zone", "vehicles": [VEHICLE]}}
            r = httpx.post(base + "/api/fences", json=zone, headers={"X-API-Key": planner}, timeout=30)
            assert r.status_code in (200, 201), r.text
            ids = [c["id"] for c in httpx.get(base + "/ogc/collections", timeout=30).json()["collections"]]
            cid = next((c for c in ids if "unit" in c), ids[0])
            paths = [
                (MEMORY, f"/api/grids/locate?lon={CENTER[0]}&lat={CENTER[1]}"),
                (MEMORY, "/api/geocode?q=宝山区友谊路"),
                (MEMORY, f"/api/reverse?lon={CENTER[0]}&lat={CENTER[1]}"),
                (MEMORY, f"/ogc/collections/{cid}/tiles/WebMercatorQuad/14/{tile.y}/{tile.x}"),
                (DB, "/api/grids/census?level=street"),
                (DB, f"/ogc/collections/{cid}/items?limit=10"),
                (DB, "/api/alarms?limit=5"),
            ]
            for _, p in paths:  # warm the indexes and the tile cache of every worker
                for _ in range(4 * args.workers):
                    httpx.get(base + p, timeout=30)
            stop = threading.Event()
            acked: list[int] = []
            threads = [threading.Thread(target=reader, args=(base, rec, stop, paths), daemon=True)
                       for _ in range(args.readers)]
            threads.append(threading.Thread(target=ingester, args=(base, device, rec, stop, acked), daemon=True))
            for t in threads:
                t.start()
            marks: dict[str, dict[str, float | None]] = {}

            def phase(name: str, seconds: float) -> None:
                rec.phase = name
                time.sleep(seconds)

            phase("1 steady", args.phase_s)
            rec.phase = "2 db stopped"
            primary.stop()
            time.sleep(args.down_s)
            primary.start()
            back = time.monotonic()
            phase("3 db restarted", args.phase_s)
            marks["db restart"] = {c: rec.first_success_after(c, back) for c in (DB, INGEST)}

            rec.phase = "4 failover"
            killed = time.monotonic()
            promote(standby, primary)  # immediate stop of the primary (a crash), then promotion
            promoted = time.monotonic() - killed
            phase("4 failover", args.phase_s)
            marks["failover"] = {c: rec.first_success_after(c, killed) for c in (DB, INGEST)}
            marks["failover"]["promote_s"] = promoted

            rec.phase = "5 worker killed"
            victims = workers_of(proc.pid)
            killed = time.monotonic()
            if victims:
                os.kill(victims[0], signal.SIGKILL)
            else:
                print("(no worker process found to kill)")
            phase("5 worker killed", args.phase_s)
            marks["worker kill"] = {c: rec.first_success_after(c, killed) for c in (MEMORY, DB, INGEST)}
            stop.set()
            for t in threads:
                t.join(timeout=15)

        with psycopg.connect(standby.url()) as conn:
            stored = conn.execute("SELECT count(*) FROM positions WHERE vehicle_id = %s", (VEHICLE,)).fetchone()[0]
            alarms = conn.execute("SELECT count(*) FROM alarms WHERE vehicle_id = %s AND kind = 'forbidden'",
                                  (VEHICLE,)).fetchone()[0]
            archived = conn.execute("SELECT extract(epoch FROM now() - last_archived_time) FROM pg_stat_archiver"
                                    ).fetchone()[0]
            timeout = conn.execute("SELECT current_setting('archive_timeout')").fetchone()[0]

        # -- report ------------------------------------------------------------------------------------------
        print()
        for name in sorted(rec.counts):
            by_cls: dict[str, list[str]] = collections.defaultdict(list)
            for (cls, status), n in sorted(rec.counts[name].items(), key=lambda kv: (kv[0][0], str(kv[0][1]))):
                by_cls[cls].append(f"{status}×{n}")
            line = "; ".join(f"{cls}: {' '.join(v)}" for cls, v in sorted(by_cls.items()))
            extra = f"; slowest DB-path 503 {rec.slow503[name] * 1000:.0f} ms" if name in rec.slow503 else ""
            stale = f"; stale-marked {rec.stale[name]}" if rec.stale[name] else ""
            print(f"{name:<16} {line}{extra}{stale}")
        bad = sum(n for counts in rec.counts.values() for (c, s), n in counts.items()
                  if isinstance(s, int) and s >= 500 and s != 503)
        print()
        for what, m in marks.items():
            print(f"first success after {what}: " + ", ".join(
                f"{k} {v:.2f} s" if isinstance(v, float) else f"{k} none" for k, v in m.items()))
        n_acked = sum(acked)
        n_inside = sum(1 for i in range(len(acked)) if i % 2 == 0)
        print(f"5xx other than 503: {bad}")
        print(f"fixes acknowledged {n_acked}, stored {stored} (lost {n_acked - stored})")
        print(f"alarms expected {n_inside}, stored {alarms}")
        print(f"WAL archive: archive_timeout {timeout}, newest segment archived {archived or 0:.0f} s ago on the new "
              f"primary; synchronous standby: 0 acknowledged commits lost at failover")
    finally:
        for c in (standby, primary):
            try:
                c.stop()
            except Exception as exc:  # a fenced or half-made cluster: report, go on cleaning
                print(f"(could not stop {c.home}: {exc})")
        if not args.keep:
            subprocess.run(["rm", "-rf", str(root)], check=False)


if __name__ == "__main__":
    main()
