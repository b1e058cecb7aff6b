"""Beyond one machine (issue 18): fence ingest single-process vs through the broker with 1 and 2 fence
workers, a worker killed with SIGKILL mid-replay, and Dask batch locate / geocode.

Fence part, in a throwaway database (the main one is never written): 200 vehicles driving ~30 km/h with a
fix a second, 25,000 fences (small forbidden squares for the whole fleet, one speed-limited area); a few
vehicles park inside a forbidden square or speed, so alarms happen. The same replay is posted over HTTP:

- single: `citygrid serve` in direct mode (store + evaluate in the request);
- broker: the server in broker mode (answers once Redis has fsynced), N `citygrid fence-worker`
  processes; fixes/s = fixes stored and evaluated ÷ time from the first POST to the last fix stored;
  alarm p95 = from the append of the oldest fix of the worker's transaction to the event's arrival on
  the alarm stream (a conservative end-to-end figure);
- each broker run also prints the CPU µs per fix of each process (uvicorn, fence workers, redis-server,
  PostgreSQL's processes, this client): on 2 shared cores the rate is bounded by their sum;
- killed worker: 2 workers, one killed with SIGKILL half-way; lost = fixes not stored + alarms of the
  single-process run missing; duplicated = alarm events seen twice on the stream + alarms not in the
  single-process run.

Batch part, on the main database (demo district loaded): locate N points (default 10,000,000) on a
2-worker LocalCluster — answers gathered in input order, then written by the workers as CSV part files —
and geocode M addresses (default 1,000,000) drawn from the doorplates. Besides wall-clock rates it prints
the CPU seconds the workers and the client spent, and the in-process engine's rate per CPU second: on a
shared machine the wall clock measures the neighbours, the CPU seconds measure the overhead.

Ends with exactly one line:
`scale: single N fixes/s; broker 1 worker N fixes/s; broker 2 workers N fixes/s, alarm p95 N ms; killed
worker: lost N, duplicated N`

    .venv/bin/python bench/bench_scale.py [--seconds 600] [--points 10000000] [--addresses 1000000]
    .venv/bin/python bench/bench_scale.py --only-batch [--no-parts]     # the batch part alone
"""

from __future__ import annotations

import argparse
import math
import os
import random
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import orjson
import psycopg
import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import (  # noqa: E402
    create_database,
    drop_database,
    load_average,
    process_cpu_s,
    server,
    server_cpu_s,
)
from gis.db import migrate  # noqa: E402
from gis.db.engine import database_url  # noqa: E402
from gis.db.seed import seed_reference_data  # noqa: E402
from gis.stream.redis_server import RedisServer  # noqa: E402

LON0, LAT0, SPAN_LON, SPAN_LAT = 121.36, 31.28, 0.14, 0.12     # ~13 km × 13 km around 宝山
M_LON = 1 / (111_320.0 * math.cos(math.radians(LAT0 + SPAN_LAT / 2)))
M_LAT = 1 / 110_940.0
RESET = "TRUNCATE positions, alarms, alarm_events, fence_vehicle_state, fence_stream_offsets"
PARTITIONS = 8
#: Vehicles outside the fleet's fences, one fix each, posted before the clock starts: the server (single mode)
#: and every fence worker (broker mode, one of them per stream partition) load the 25,000 fences first, so
#: the figures are sustained rates, not the fence set's load time.
WARM = [f"WARM{i:02d}" for i in range(64)]


def setup(url: str, vehicles: int, fences: int, rnd: random.Random) -> list[tuple[float, float]]:
    """Vehicles (group `fleet`) and fences; returns the centres of the forbidden squares."""
    from gis.fences import store

    centres = [(LON0 + rnd.random() * SPAN_LON, LAT0 + rnd.random() * SPAN_LAT) for _ in range(fences - 1)]
    h = 15.0   # half side, metres
    with psycopg.connect(url, autocommit=True) as conn:
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO vehicles (id, kind, vehicle_group) VALUES (%s, 'household_waste', 'fleet')",
                            [(f"V{i:04d}",) for i in range(vehicles)])
            cur.executemany("INSERT INTO vehicles (id, kind) VALUES (%s, 'household_waste')", [(v,) for v in WARM])
        t = time.perf_counter()
        with conn.transaction():
            store.create(conn, {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[
                [LON0 - 0.02, LAT0 - 0.02], [LON0 + SPAN_LON + 0.02, LAT0 - 0.02],
                [LON0 + SPAN_LON + 0.02, LAT0 + SPAN_LAT + 0.02], [LON0 - 0.02, LAT0 + SPAN_LAT + 0.02],
                [LON0 - 0.02, LAT0 - 0.02]]]},
                "properties": {"kind": "area", "groups": ["fleet"], "speed_limit_kmh": 60}})
            for x, y in centres:
                dx, dy = h * M_LON, h * M_LAT
                store.create(conn, {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[
                    [x - dx, y - dy], [x + dx, y - dy], [x + dx, y + dy], [x - dx, y + dy], [x - dx, y - dy]]]},
                    "properties": {"kind": "forbidden", "groups": ["fleet"]}})
        print(f"fences: {fences:,} created in {time.perf_counter() - t:.0f} s")
    return centres


def replay(vehicles: int, seconds: int, batch: int, centres: list[tuple[float, float]],
           rnd: random.Random) -> tuple[list[bytes], int]:
    """Pre-serialised bodies in time order. Vehicles 0–9 park 90 s in a forbidden square, 10–14 speed."""
    t0 = float(int((datetime.now(UTC) - timedelta(hours=3)).timestamp()))
    cols = []
    for v in range(vehicles):
        if v < 10:
            x, y = centres[v]
        else:
            x = LON0 + (0.1 + 0.8 * rnd.random()) * SPAN_LON
            y = LAT0 + (0.1 + 0.8 * rnd.random()) * SPAN_LAT
        heading = rnd.uniform(0, 2 * math.pi)
        ts, xs, ys, sp = [], [], [], []
        for s in range(seconds):
            parked = v < 10 and s < 90
            speed = 0.0 if parked else (80 / 3.6 if 10 <= v < 15 and 60 <= s < 150 else 30 / 3.6)
            heading += rnd.gauss(0, 0.05)
            x += speed * math.cos(heading) * M_LON
            y += speed * math.sin(heading) * M_LAT
            if not (LON0 < x < LON0 + SPAN_LON and LAT0 < y < LAT0 + SPAN_LAT):
                heading += math.pi
            ts.append(t0 + s + v * 0.001)
            xs.append(x + rnd.gauss(0, 3) * M_LON)
            ys.append(y + rnd.gauss(0, 3) * M_LAT)
            sp.append(round(speed * 3.6, 1))
        cols.append((f"V{v:04d}", ts, xs, ys, sp))
    rows = sorted((t, vid, x, y, s) for vid, ts, xs, ys, sp in cols for t, x, y, s in zip(ts, xs, ys, sp, strict=True))
    bodies = []
    for a in range(0, len(rows), batch):
        bodies.append(orjson.dumps([
            {"vehicle_id": vid, "ts": datetime.fromtimestamp(t, UTC).isoformat(), "lon": x, "lat": y, "speed_kmh": s}
            for t, vid, x, y, s in rows[a:a + batch]]))
    return bodies, len(rows)


def warm_body() -> bytes:
    t = datetime.now(UTC) - timedelta(hours=4)
    return orjson.dumps([{"vehicle_id": v, "ts": t.isoformat(), "lon": LON0, "lat": LAT0, "speed_kmh": 0.0}
                         for v in WARM])


def post_all(base: str, key: str, bodies: list[bytes], after_half: callable | None = None) -> int:
    accepted = 0
    with httpx.Client(base_url=base, timeout=300, headers={"X-API-Key": key,
                                                            "Content-Type": "application/json"}) as c:
        for i, body in enumerate(bodies):
            if after_half is not None and i == len(bodies) // 2:
                after_half()
            r = c.post("/api/positions", content=body)
            assert r.status_code == 200, r.text
            accepted += r.json()["accepted"]
    return accepted


def alarm_set(url: str) -> set[tuple]:
    with psycopg.connect(url) as conn:
        return set(conn.execute('SELECT vehicle_id, kind, fence_id, start, "end" FROM alarms').fetchall())


def api_key(url: str) -> str:
    from gis.security.keys import create_key

    with psycopg.connect(url, autocommit=True) as conn:
        return create_key(conn, f"bench-{time.time_ns()}", "admin")[1]


def run_single(url: str, bodies: list[bytes], n: int) -> tuple[float, set[tuple]]:
    key = api_key(url)
    with server(url) as base:
        post_all(base, key, [warm_body()])
        t = time.perf_counter()
        accepted = post_all(base, key, bodies)
        elapsed = time.perf_counter() - t
    assert accepted == n, (accepted, n)
    return n / elapsed, alarm_set(url)


def postgres_cpu_s(conn: psycopg.Connection) -> float:
    """CPU seconds so far of the cluster's processes (children of the postmaster: backends, WAL writer,
    checkpointer). A backend that exits in between takes its share with it; the bench's and the
    workers' connections live through a run."""
    data_dir = conn.execute("SHOW data_directory").fetchone()[0]
    postmaster = Path(data_dir, "postmaster.pid").read_text().split()[0]
    children = subprocess.run(["pgrep", "-P", postmaster], capture_output=True, text=True).stdout.split()
    return sum(process_cpu_s(pid) for pid in children)


def cpu_snapshot(base: str, procs: list[subprocess.Popen[bytes]], rs: RedisServer, conn: psycopg.Connection
                 ) -> dict[str, float]:
    """CPU seconds so far per part of broker mode: on 2 shared cores the rate is bounded by the CPU all of
    them spend per fix, so this says which part to cut."""
    return {"uvicorn": server_cpu_s(base), "workers": sum(process_cpu_s(p.pid) for p in procs),
            "redis": process_cpu_s(rs.proc.pid), "postgres": postgres_cpu_s(conn), "bench": time.process_time()}


def _worker(url: str, redis_url: str, name: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": url, "CITYGRID_REDIS_URL": redis_url, "CITYGRID_WORKER_LEASE_S": "2"}
    return subprocess.Popen([str(Path(sys.executable).with_name("citygrid")), "fence-worker", "--name", name],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run_broker(url: str, rs: RedisServer, bodies: list[bytes], n: int, workers: int, kill: bool = False
               ) -> dict[str, float]:
    r = redis.Redis.from_url(rs.url)
    r.flushall()
    key = api_key(url)
    procs = [_worker(url, rs.url, f"w{i}") for i in range(workers)]
    seen: dict[int, int] = {}
    lat_ms: list[float] = []
    stop = threading.Event()

    def listen() -> None:
        lr = redis.Redis.from_url(rs.url)
        cursor = {f"citygrid:alarms:{p}": "0-0" for p in range(PARTITIONS)}
        while not stop.is_set():
            for stream, entries in lr.xread(cursor, block=200) or []:
                now = time.time()
                for eid, f in entries:
                    cursor[stream.decode()] = eid.decode()
                    e = orjson.loads(f[b"e"])
                    seen[e["event_id"]] = seen.get(e["event_id"], 0) + 1
                    if b"at" in f:
                        lat_ms.append((now - float(f[b"at"])) * 1000)
        lr.close()

    th = threading.Thread(target=listen, daemon=True)
    try:
        deadline = time.monotonic() + 120
        while len({r.get(f"citygrid:lease:{p}") for p in range(PARTITIONS)} - {None}) < workers or \
                any(r.get(f"citygrid:lease:{p}") is None for p in range(PARTITIONS)):
            assert time.monotonic() < deadline, "fence workers did not take the partitions"
            time.sleep(0.2)
        th.start()
        env = {"CITYGRID_REDIS_URL": rs.url, "CITYGRID_INGEST_MODE": "broker"}
        with server(url, env=env) as base, psycopg.connect(url, autocommit=True) as conn:
            def killer() -> None:
                os.kill(procs[0].pid, signal.SIGKILL)

            post_all(base, key, [warm_body()])
            deadline = time.monotonic() + 300
            while conn.execute("SELECT count(*) FROM positions").fetchone()[0] < len(WARM):
                assert time.monotonic() < deadline, "the fence workers did not store the warm-up fixes"
                time.sleep(0.1)
            cpu0 = cpu_snapshot(base, procs, rs, conn)
            t = time.perf_counter()
            accepted = post_all(base, key, bodies, killer if kill else None)
            posted = time.perf_counter() - t
            deadline = time.monotonic() + 1800
            total = n + len(WARM)
            # Drained = every stream empty (a worker deletes entries once committed), then the count
            # confirms: polling Redis every 10 ms costs next to nothing, a count(*) of positions every
            # 100 ms took CPU from the workers and blurred a run of a second or two by up to 0.1 s.
            while time.monotonic() < deadline:
                if sum(r.xlen(f"citygrid:fixes:{p}") for p in range(PARTITIONS)) == 0 and \
                        conn.execute("SELECT count(*) FROM positions").fetchone()[0] >= total:
                    break
                time.sleep(0.01)
            elapsed = time.perf_counter() - t
            cpu = {k: v - cpu0[k] for k, v in cpu_snapshot(base, procs, rs, conn).items()}
            stored = conn.execute("SELECT count(*) FROM positions").fetchone()[0] - len(WARM)
        time.sleep(1.0)
    finally:
        stop.set()
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            p.wait(30)
        r.close()
    lat_ms.sort()
    p95 = lat_ms[min(len(lat_ms) - 1, math.ceil(0.95 * len(lat_ms)) - 1)] if lat_ms else float("nan")
    return {"rate": stored / elapsed, "append_rate": accepted / posted, "stored": stored, "p95": p95,
            "events": len(seen), "dup_events": sum(c - 1 for c in seen.values()),
            "cpu_us": {k: v / max(stored, 1) * 1e6 for k, v in cpu.items()}}


def reset(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(RESET)


def fence_part(args: argparse.Namespace) -> str:
    rnd = random.Random(args.seed)
    admin, url = create_database(database_url(), prefix="citygrid_scale")
    try:
        migrate.upgrade(url)
        seed_reference_data(url)
        centres = setup(url, args.vehicles, args.fences, rnd)
        bodies, n = replay(args.vehicles, args.seconds, args.batch, centres, rnd)
        print(f"replay: {n:,} fixes of {args.vehicles} vehicles in {len(bodies)} batches of ≤ {args.batch:,}")
        single, ref = run_single(url, bodies, n)
        print(f"single process : {single:,.0f} fixes/s stored and evaluated; {len(ref)} alarms")
        results = {}
        with RedisServer() as rs:
            for label, workers, kill in (("broker 1 worker", 1, False), ("broker 2 workers", 2, False),
                                         ("killed worker", 2, True)):
                reset(url)
                res = run_broker(url, rs, bodies, n, workers, kill)
                got = alarm_set(url)
                res["lost"] = (n - res["stored"]) + len(ref - got)
                res["dup"] = res["dup_events"] + len(got - ref)
                results[label] = res
                print(f"{label:17s}: {res['rate']:,.0f} fixes/s end to end (HTTP append {res['append_rate']:,.0f}/s), "
                      f"alarm p95 {res['p95']:.0f} ms over {res['events']} events; "
                      f"alarms {len(got)} (single: {len(ref)}), lost {res['lost']}, duplicated {res['dup']}")
                per = res["cpu_us"]
                print(f"{'':17s}  CPU µs per fix: " + ", ".join(f"{k} {v:.1f}" for k, v in per.items())
                      + f"; total {sum(per.values()):.1f}; load average {load_average()}")
    finally:
        drop_database(admin, url)
    b1, b2, k = results["broker 1 worker"], results["broker 2 workers"], results["killed worker"]
    return (f"scale: single {single:,.0f} fixes/s; broker 1 worker {b1['rate']:,.0f} fixes/s; broker 2 workers "
            f"{b2['rate']:,.0f} fixes/s, alarm p95 {b2['p95']:.0f} ms; killed worker: lost {k['lost']}, "
            f"duplicated {k['dup']}")


def batch_part(args: argparse.Namespace) -> None:
    """Batch locate (answers gathered into arrays on the client, then written by the workers as CSV part
    files) and batch geocode (NDJSON back) on a 2-worker LocalCluster. The first call per worker loads
    the grid / reference index (printed as warm-up); the rates are of the runs after it."""
    import tempfile

    from geocoder.batchjobs import geocode_ndjson
    from gis.batch.engine import dask_client, locate_points, locate_to_files

    url = database_url()
    with psycopg.connect(url) as conn:
        ext = conn.execute("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                           "(SELECT ST_Extent(geom) e FROM unit_grids) s").fetchone()
        plates = [r[0] for r in conn.execute(
            "SELECT coalesce(road_name, '') || coalesce(house_name, '') FROM doorplates ORDER BY add_id"
        ).fetchall()]
    if ext[0] is None or not plates:
        print("batch: no grids/doorplates in the main database (citygrid demo load); skipped")
        return
    rng = np.random.default_rng(args.seed)
    print(f"batch: load average {load_average()}")

    def cpu(client: object) -> float:
        """CPU seconds so far of the workers and this client: on a shared machine, points per CPU
        second shows the overhead that wall-clock rates hide."""
        return sum(client.run(time.process_time).values()) + time.process_time()

    def per_cpu(n: int, c0: float, client: object) -> str:
        used = cpu(client) - c0
        return f"{used:.1f} CPU s = {n / used:,.0f} per CPU s"

    with dask_client(workers=2) as client:
        if args.points:
            x = rng.uniform(ext[0], ext[2], args.points)
            y = rng.uniform(ext[1], ext[3], args.points)
            t = time.perf_counter()
            locate_points(client, url, x[:10_000], y[:10_000])    # each worker loads the grid index once
            print(f"batch locate   : warm-up (workers import, load the grid index) {time.perf_counter() - t:.1f} s")
            with psycopg.connect(url) as conn:
                from gis.grids.locate import load_index

                whole = load_index(conn)
            m = min(args.points, 1_000_000)
            t, c0 = time.perf_counter(), time.process_time()
            whole.locate_storage(x[:m], y[:m])
            print(f"in-process     : {m:,} points in {time.perf_counter() - t:.1f} s = "
                  f"{m / (time.perf_counter() - t):,.0f} points/s, {m / (time.process_time() - c0):,.0f} per CPU s "
                  f"(one process, the same engine)")
            del whole
            t, c0 = time.perf_counter(), cpu(client)
            got = locate_points(client, url, x, y)
            secs = time.perf_counter() - t
            inside = int((got.index["unit_grid"] >= 0).sum())
            print(f"batch locate   : {args.points:,} points in {secs:.1f} s = {args.points / secs:,.0f} points/s "
                  f"(2-worker LocalCluster, answers gathered in input order, {inside:,} in a unit grid; "
                  f"{per_cpu(args.points, c0, client)})")
            del got
            if args.parts:
                with tempfile.TemporaryDirectory(prefix="citygrid_parts_") as tmp:
                    t, c0 = time.perf_counter(), cpu(client)
                    paths = locate_to_files(client, url, x, y, tmp)
                    secs = time.perf_counter() - t
                    size = sum(os.path.getsize(p) for p in paths)
                print(f"batch locate   : {args.points:,} points in {secs:.1f} s = {args.points / secs:,.0f} points/s "
                      f"(workers write {len(paths)} CSV part files, {size / 1e6:,.0f} MB; "
                      f"{per_cpu(args.points, c0, client)})")
        if args.addresses:
            pick = rng.integers(0, len(plates), args.addresses)
            rows = [(i, plates[j]) for i, j in enumerate(pick.tolist())]
            from geocoder import batch
            from geocoder.index import ReferenceIndex

            m = min(len(rows), 20_000)
            with psycopg.connect(url, autocommit=True) as conn:
                ref = ReferenceIndex.load(conn)
                t, c0 = time.perf_counter(), time.process_time()
                for _ in batch.answers(conn, rows[:m], None, index=ref):
                    pass
                print(f"in-process     : {m:,} addresses in {time.perf_counter() - t:.1f} s = "
                      f"{m / (time.perf_counter() - t):,.0f}/s, {m / (time.process_time() - c0):,.0f} per CPU s "
                      f"(one process, geocoder.batch.answers)")
            del ref
            t = time.perf_counter()
            for _ in geocode_ndjson(client, url, rows[:2_000], chunk=1_000):
                pass
            print(f"batch geocode  : warm-up (workers load the reference index) {time.perf_counter() - t:.1f} s")
            t, c0 = time.perf_counter(), cpu(client)
            matched = size = 0
            for body, hits in geocode_ndjson(client, url, rows):
                matched += hits
                size += len(body)
            secs = time.perf_counter() - t
            print(f"batch geocode  : {args.addresses:,} addresses in {secs:.1f} s = {args.addresses / secs:,.0f}/s "
                  f"(2-worker LocalCluster, NDJSON back, {matched / len(rows):.1%} matched, {size / 1e6:,.0f} MB; "
                  f"{per_cpu(args.addresses, c0, client)})")
    print(f"batch: load average {load_average()} at the end")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--vehicles", type=int, default=200)
    ap.add_argument("--fences", type=int, default=25_000)
    ap.add_argument("--seconds", type=int, default=600, help="replay length (one fix per vehicle per second)")
    ap.add_argument("--batch", type=int, default=10_000)
    ap.add_argument("--points", type=int, default=10_000_000)
    ap.add_argument("--addresses", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=18)
    ap.add_argument("--skip-batch", action="store_true")
    ap.add_argument("--only-batch", action="store_true", help="only the Dask batch part (no fence replay)")
    ap.add_argument("--no-parts", dest="parts", action="store_false",
                    help="skip batch locate with workers writing CSV part files")
    args = ap.parse_args()
    print(f"{os.cpu_count()} cores, load average {load_average()} at start (a shared machine reads low)")
    if args.only_batch:
        batch_part(args)
        return
    line = fence_part(args)
    if not args.skip_batch:
        batch_part(args)
    print(line)


if __name__ == "__main__":
    main()
