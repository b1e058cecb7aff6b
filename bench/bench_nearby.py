"""Nearby benchmark (issue 15): nearest through HTTP, camera coverage, device readings ingest.

    .venv/bin/python bench/bench_nearby.py [--requests 400] [--batches 10]

- nearest: GET /api/nearest?layer=…&k=10 at random points of the demo district, one client, sequential,
  over the components (138,662 with the demo) and over the cameras; prints p50/p95/p99 in ms (goal p95
  ≤ 10 ms). Beside it, the same queries straight to PostgreSQL, and an in-memory numpy k-nearest
  (argpartition over metres of a local frame) for the choice between KNN in the database and in memory;
- coverage: layers.coverage for the district (communities and streets; goal ≤ 1 s), engine and HTTP;
- readings: POST /api/devices/readings, batches of 10,000 readings of the demo's devices, into a
  throwaway database holding a copy of the devices (the demo database is not written); readings/s
  stored, judged and acknowledged (goal ≥ 20,000/s).

Needs the demo district in the main database (`citygrid demo load`). Figures are noisy: the client,
the server and PostgreSQL share the machine's cores with whatever else runs (the load average is printed).
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.harness import load_average, server, throwaway_database  # noqa: E402
from gis.db import migrate  # noqa: E402
from gis.db.engine import database_url  # noqa: E402
from gis.db.seed import seed_reference_data  # noqa: E402
from gis.security.keys import create_key  # noqa: E402
from layers import coverage as cov  # noqa: E402


def pct(ms: list[float]) -> str:
    a = np.array(ms)
    return f"p50 {np.percentile(a, 50):6.2f}  p95 {np.percentile(a, 95):6.2f}  p99 {np.percentile(a, 99):6.2f} ms"


def nearest(base: str, url: str, n: int) -> None:
    with psycopg.connect(url) as conn:
        x0, y0, x1, y1 = conn.execute(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
            "(SELECT ST_Extent(geom) e FROM admin_areas WHERE level = 'district') s").fetchone()
        counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("components", "cameras")}
    rng = np.random.default_rng(15)
    pts = np.column_stack([rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)])
    with httpx.Client(base_url=base, timeout=10) as http:
        for layer in ("components", "cameras"):
            for x, y in pts[:20]:   # warm-up
                http.get("/api/nearest", params={"layer": layer, "lon": x, "lat": y, "k": 10})
            ms = []
            for x, y in pts:
                t = time.perf_counter()
                r = http.get("/api/nearest", params={"layer": layer, "lon": x, "lat": y, "k": 10})
                ms.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 200 and len(r.json()["features"]) == 10, r.text
            print(f"nearest HTTP   {layer:<10} ({counts[layer]:>7,} features, k=10, {n} requests): {pct(ms)}"
                  f"   load {load_average()}")
    # the same in the database alone, and in memory
    from api.ogc import crs as ocrs
    from api.ogc.collections import get_collection
    from api.routers.nearby import nearest_sql
    with psycopg.connect(url) as conn:
        for layer in ("components", "cameras"):
            sql = nearest_sql(get_collection(layer), ocrs.lookup(None), "TRUE")
            ms = []
            for x, y in pts:
                t = time.perf_counter()
                conn.execute(sql, {"x": x, "y": y, "k": 10, "r": 50_000.0}).fetchone()
                ms.append((time.perf_counter() - t) * 1000)
            print(f"nearest SQL    {layer:<10} (PostGIS <-> then exact metres):            {pct(ms)}")
            xy = np.array(conn.execute(f"SELECT ST_X(geom), ST_Y(geom) FROM {layer}").fetchall())
            lat0 = np.radians(xy[:, 1].mean())
            mx, my = xy[:, 0] * 111_320 * np.cos(lat0), xy[:, 1] * 110_574
            ms = []
            for x, y in pts:
                t = time.perf_counter()
                d2 = (mx - x * 111_320 * np.cos(lat0)) ** 2 + (my - y * 110_574) ** 2
                idx = np.argpartition(d2, 10)[:10]
                idx[np.argsort(d2[idx])]
                ms.append((time.perf_counter() - t) * 1000)
            print(f"nearest memory {layer:<10} (numpy argpartition, no filters, no I/O):  {pct(ms)}")


def coverage(base: str, url: str) -> None:
    with psycopg.connect(url) as conn:
        for level in ("community", "street"):
            cov.coverage(conn, level=level, geometry=False)
            t = time.perf_counter()
            fc = cov.coverage(conn, level=level, geometry=False)
            s = time.perf_counter() - t
            d = fc["district"]
            print(f"coverage {level:<9} engine: {s * 1000:7.0f} ms  ({len(fc['features'])} areas; district drop points "
                  f"{d['drop_points']['share']:.1%}, compounds {d['compounds']['share']:.1%}, roads "
                  f"{d['roads']['share']:.1%} of {d['roads']['total_m'] / 1000:.0f} km)")
    with httpx.Client(base_url=base, timeout=30) as http:
        ms = []
        for _ in range(5):
            t = time.perf_counter()
            assert http.get("/api/cameras/coverage", params={"level": "community"}).status_code == 200
            ms.append((time.perf_counter() - t) * 1000)
        print(f"coverage HTTP  community (with geometries, 5 runs): best {min(ms):.0f} ms, worst {max(ms):.0f} ms"
              f"   load {load_average()}")


def readings(url: str, batches: int) -> None:
    with psycopg.connect(url) as src:
        devices = src.execute("SELECT id, name, kind, offline_after_s, encode(ST_AsEWKB(geom), 'hex') "
                              "FROM devices").fetchall()
        metrics = src.execute("SELECT kind, metric, on_value FROM device_thresholds").fetchall()
    by_kind: dict[str, list[tuple[str, float]]] = {}
    for kind, metric, on in metrics:
        by_kind.setdefault(kind, []).append((metric, on))
    with throwaway_database(url) as scratch:
        migrate.upgrade(scratch)
        seed_reference_data(scratch)
        with psycopg.connect(scratch, autocommit=True) as conn:
            with conn.cursor().copy("COPY devices (id, name, kind, offline_after_s, geom) FROM STDIN") as cp:
                for row in devices:
                    cp.write_row(row)
            _, key = create_key(conn, "bench", "inspector")
        rng = np.random.default_rng(16)
        now = datetime.now(UTC)
        per_batch = 10_000
        series = [(d[0], m, on) for d in devices for m, on in by_kind[d[2]]]
        with server(scratch) as base, httpx.Client(base_url=base, timeout=120,
                                                     headers={"X-API-Key": key}) as http:
            total, took, alarms = 0, 0.0, 0
            for b in range(batches):
                body = []
                for i in range(per_batch):
                    dev, metric, on = series[i % len(series)]
                    step = b * per_batch + i
                    ts = now - timedelta(hours=2) + timedelta(milliseconds=step)
                    v = float(on * (1.1 if rng.random() < 0.02 else 0.5))
                    body.append({"device_id": dev, "ts": ts.isoformat(), "metric": metric, "value": v})
                payload = httpx.Request("POST", "/", json=body).content
                t = time.perf_counter()
                r = http.post("/api/devices/readings", content=payload, headers={"Content-Type": "application/json"})
                took += time.perf_counter() - t
                ans = r.json()
                assert r.status_code == 200 and ans["accepted"] == per_batch, ans
                total += ans["accepted"]
                alarms += ans["alarms"]
            print(f"readings HTTP  {batches} × {per_batch:,} over {len(devices)} devices: "
                  f"{total / took:,.0f} readings/s stored+judged+acknowledged ({alarms} alarms opened)"
                  f"   load {load_average()}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=400)
    ap.add_argument("--batches", type=int, default=10)
    ap.add_argument("--only", choices=("nearest", "coverage", "readings"))
    args = ap.parse_args()
    url = database_url()
    if args.only != "readings":
        with server(url) as base:
            if args.only in (None, "nearest"):
                nearest(base, url, args.requests)
            if args.only in (None, "coverage"):
                coverage(base, url)
    if args.only in (None, "readings"):
        readings(url, args.batches)


if __name__ == "__main__":
    main()
