"""Grid engine figures over the demo district: single locate latency through HTTP (p50/p95 over 1,000
calls), in-process bulk locate rate (100,000 random points), HTTP bulk locate rate (100,000 points, one
POST, streamed answer read to the end), the time to build the evaluation grids; also the assignment
trigger's rate (components copied with their codes, each re-checked), topology check and census times.

Runs against a throwaway database on the same server, migrated to head; the main `citygrid` database is
only read (its admin areas, unit grids and work grids are copied over). Uvicorn is started here on a free
port against the throwaway database.

    .venv/bin/python bench/bench_grids.py [--points 100000] [--calls 1000]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import orjson
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import create_database, drop_database
from gis.db import engine as db_engine
from gis.db import migrate
from gis.db.seed import seed_reference_data
from gis.grids import locate
from gis.grids.census import census
from gis.grids.evaluation import build_eval_grids
from gis.grids.topology import check_database

COPY_TABLES = [
    ("admin_areas", "SELECT * FROM admin_areas ORDER BY length(code), code"),
    ("unit_grids", "SELECT code, community_code, NULL::varchar, name, area_m2, or_date, ch_date, note, geom "
                   "FROM unit_grids"),
    ("work_grids", "SELECT * FROM work_grids"),
]


def copy_layers(main_url: str, url: str) -> int:
    with psycopg.connect(main_url) as src, psycopg.connect(url) as dst:
        for table, query in COPY_TABLES:
            with src.cursor().copy(f"COPY ({query}) TO STDOUT (FORMAT binary)") as out, \
                    dst.cursor().copy(f"COPY {table} FROM STDIN (FORMAT binary)") as inp:
                for chunk in out:
                    inp.write(chunk)
        dst.commit()
        return dst.execute("SELECT count(*) FROM unit_grids").fetchone()[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=100_000)
    ap.add_argument("--calls", type=int, default=1000)
    ap.add_argument("--no-components", dest="components", action="store_false",
                    help="skip copying the 138,662 components through the assignment trigger")
    args = ap.parse_args()

    main_url = db_engine.database_url()
    with psycopg.connect(main_url) as conn:
        n_main = conn.execute("SELECT count(*) FROM unit_grids").fetchone()[0]
    if n_main == 0:
        sys.exit("the main database holds no unit grids: load the demo district first (citygrid demo load)")
    admin, url = create_database(main_url, prefix="citygrid_bench_grids")
    server = None
    try:
        migrate.upgrade(url)
        seed_reference_data(url)
        n = copy_layers(main_url, url)
        print(f"demo district copied: {n} unit grids")
        if args.components:
            t = time.perf_counter()
            with psycopg.connect(main_url) as src, psycopg.connect(url) as dst:
                with src.cursor().copy("COPY components TO STDOUT (FORMAT binary)") as out, \
                        dst.cursor().copy("COPY components FROM STDIN (FORMAT binary)") as inp:
                    for chunk in out:
                        inp.write(chunk)
                dst.commit()
                nc = dst.execute("SELECT count(*) FROM components").fetchone()[0]
            dt = time.perf_counter() - t
            print(f"components copied through the assignment trigger (codes re-checked): {nc} in {dt:.1f} s "
                  f"= {nc / dt:,.0f} rows/s")

        with psycopg.connect(url, autocommit=True) as conn:
            t = time.perf_counter()
            n_eval = build_eval_grids(conn)
            print(f"build_eval_grids: {n_eval} evaluation grids in {time.perf_counter() - t:.2f} s")
            sizes = conn.execute("SELECT min(area_m2), percentile_cont(0.5) WITHIN GROUP (ORDER BY area_m2), "
                                 "max(area_m2) FROM eval_grids").fetchone()
            print(f"  eval grid area km²: min {sizes[0] / 1e6:.2f}, median {sizes[1] / 1e6:.2f}, "
                  f"max {sizes[2] / 1e6:.2f}")

            t = time.perf_counter()
            index = locate.load_index(conn)
            print(f"index load: {time.perf_counter() - t:.2f} s (version {index.version})")
            x0, y0, x1, y1 = conn.execute("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                                          "(SELECT ST_Extent(geom) e FROM unit_grids) s").fetchone()
            rng = np.random.default_rng(1)
            xs, ys = rng.uniform(x0, x1, args.points), rng.uniform(y0, y1, args.points)
            best = float("inf")
            for _ in range(5):
                t = time.perf_counter()
                located = index.locate(xs, ys, 4490)
                best = min(best, time.perf_counter() - t)
            inside = int((located.unit >= 0).sum())
            print(f"in-process bulk locate: {args.points} points in {best * 1000:.0f} ms = "
                  f"{args.points / best:,.0f} points/s (best of 5; {inside} in a unit grid)")
            t = time.perf_counter()
            size = sum(len(b) for b in located.encode())
            ser = time.perf_counter() - t
            print(f"  answers encoded as JSON: {size / 1e6:.1f} MB in {ser * 1000:.0f} ms")
            t = time.perf_counter()
            report = check_database(conn)
            print(f"topology check: {time.perf_counter() - t:.2f} s, {report.summary()['by_kind']}")
            t = time.perf_counter()
            rows = census(conn, "community")
            print(f"census per community: {len(rows)} areas in {time.perf_counter() - t:.2f} s")
            mismatches = 0
            for i in range(300):
                ref = locate.locate_in_db(conn, float(xs[i]), float(ys[i]))
                got = located.record(i)
                if (got["unit_grid"] or {}).get("code") != ref["unit_grid"] or \
                        (got["eval_grid"] or {}).get("code") != ref["eval_grid"]:
                    mismatches += 1
            print(f"  against PostGIS: {mismatches} mismatches in 300 points")

        port = free_port()
        env = {**os.environ, "DATABASE_URL": url}
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory", "--host", "127.0.0.1",
             "--port", str(port), "--log-level", "warning"], env=env)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.2)
        with httpx.Client(base_url=base, timeout=120) as http:
            http.get("/api/grids/locate", params={"lon": xs[0], "lat": ys[0]})  # warm the index
            lat_ms = []
            for i in range(args.calls):
                t = time.perf_counter()
                r = http.get("/api/grids/locate", params={"lon": xs[i], "lat": ys[i]})
                lat_ms.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 200
            p50, p95 = np.percentile(lat_ms, [50, 95])
            print(f"HTTP single locate: p50 {p50:.2f} ms, p95 {p95:.2f} ms over {args.calls} calls")
            body = orjson.dumps(np.column_stack([xs, ys]).tolist())
            rates = []
            for _ in range(3):
                t = time.perf_counter()
                with http.stream("POST", "/api/grids/locate", content=body,
                                 headers={"content-type": "application/json"}) as r:
                    size = sum(len(c) for c in r.iter_bytes())
                rates.append(args.points / (time.perf_counter() - t))
            print(f"HTTP bulk locate: {args.points} points, {size / 1e6:.1f} MB answer: "
                  f"best {max(rates):,.0f} points/s (runs: {', '.join(f'{r:,.0f}' for r in rates)})")
            nd = b"\n".join(orjson.dumps([float(x), float(y)]) for x, y in zip(xs, ys, strict=True))
            t = time.perf_counter()
            with http.stream("POST", "/api/grids/locate", content=nd,
                             headers={"content-type": "application/x-ndjson"}) as r:
                size = sum(len(c) for c in r.iter_bytes())
            print(f"HTTP bulk locate (NDJSON): {args.points / (time.perf_counter() - t):,.0f} points/s")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        drop_database(admin, url)


if __name__ == "__main__":
    main()
