"""Benchmark of the heat and flow layers through HTTP, with 1,000,000 weighted events loaded.

Creates a THROWAWAY database on the project's cluster (never the main one), loads 1,000,000 weighted
cases (3 years, clustered like a district) and kitchen-waste weighing records (2,000 restaurants × 90
days, 3 plants), back-fills the H3 cells, serves the API with uvicorn on a free local port and prints
p50/p95 of: heat for a district viewport and a street viewport (goal ≤ 300 ms), a 1024×1024 PNG
(goal ≤ 500 ms) and flows (goal ≤ 500 ms). Figures are noisy on a shared machine.

    .venv/bin/python bench/bench_layers.py [--events 1000000] [--runs 40]
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
import psycopg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from harness import load_cases  # noqa: E402

from gis.db import migrate  # noqa: E402
from gis.db.databases import create_database, drop_database, urls  # noqa: E402
from gis.db.engine import database_url  # noqa: E402
from gis.db.seed import seed_reference_data  # noqa: E402
from gis.h3cells import latlng_cells  # noqa: E402
from layers import cells as hcells  # noqa: E402
from layers.sources import SOURCES  # noqa: E402

W, S, E, N = 121.35, 31.28, 121.55, 31.45
STREET_BOX = (121.43, 31.33, 121.455, 31.355)  # about 2.4 × 2.8 km around a hotspot


def _points(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Hotspots (markets, stations) over a uniform background, clipped to the district box."""
    centres = np.column_stack([rng.uniform(W + 0.02, E - 0.02, 40), rng.uniform(S + 0.02, N - 0.02, 40)])
    centres[0] = (121.442, 31.342)
    k = int(n * 0.7)
    pick = rng.integers(0, len(centres), k)
    spread = rng.uniform(0.002, 0.01, len(centres))[pick]
    x = np.concatenate([centres[pick, 0] + rng.normal(0, 1, k) * spread, rng.uniform(W, E, n - k)])
    y = np.concatenate([centres[pick, 1] + rng.normal(0, 1, k) * spread, rng.uniform(S, N, n - k)])
    return np.clip(x, W, E), np.clip(y, S, N)


def _copy(conn: psycopg.Connection, sql: str, lines: list[str]) -> None:
    with conn.cursor() as cur, cur.copy(sql) as cp:
        for start in range(0, len(lines), 100_000):
            cp.write("".join(lines[start:start + 100_000]))


def load(url: str, events: int) -> None:
    rng = np.random.default_rng(20261121)
    with psycopg.connect(url, autocommit=True) as conn:
        t = time.perf_counter()
        x, y = _points(rng, events)
        # Cells supplied with the points, as the demo loader does (no back-fill on the first request).
        load_cases(conn, x, y, rng, sources=(["hotline", "supervisor", "camera"], None), weights=True, h3=True)
        print(f"loaded {events:,} weighted cases in {time.perf_counter() - t:.1f} s")

        t = time.perf_counter()
        conn.execute("INSERT INTO admin_areas (code, level, name, geom) VALUES ('310113', 'district', '宝山区', "
                     "ST_Multi(ST_MakeEnvelope(%s, %s, %s, %s, 4490)))", (W, S, E, N))
        for i, (code, (w, e)) in enumerate((("310113001", (W, 121.42)), ("310113002", (121.42, 121.48)),
                                            ("310113003", (121.48, E)))):
            conn.execute("INSERT INTO admin_areas (code, level, name, parent_code, geom) VALUES (%s, 'street', %s, "
                         "'310113', ST_Multi(ST_MakeEnvelope(%s, %s, %s, %s, 4490)))",
                         (code, f"街道{i + 1}", w, S, e, N))
        rx, ry = _points(rng, 2000)
        rx, ry = np.round(rx, 7), np.round(ry, 7)
        rcell = latlng_cells(ry, rx)
        _copy(conn, "COPY pois (poi_id, name, category, geom, h3_cell) FROM STDIN",
              [f"R{i:05d}\t饭店{i}\t餐饮\tSRID=4490;POINT({a:.7f} {b:.7f})\t{h}\n"
               for i, (a, b, h) in enumerate(zip(rx, ry, rcell.tolist(), strict=True))])
        plants = [conn.execute(
            "INSERT INTO waste_facilities (code, name, kind, geom) VALUES (%s, %s, %s, "
            "ST_SetSRID(ST_MakePoint(%s, %s), 4490)) RETURNING id", (f"P{i}", name, kind, a, b)).fetchone()[0]
            for i, (name, kind, a, b) in enumerate((("湿垃圾处理厂", "kitchen_waste_plant", 121.38, 31.43),
                                                    ("焚烧厂", "incinerator", 121.52, 31.30),
                                                    ("处置终端", "disposal_terminal", 121.50, 31.44)))]
        conn.execute("INSERT INTO vehicles (id, kind) SELECT 'KW' || g, 'kitchen_waste' FROM generate_series(1, 20) g")
        days = 90
        n = 2000 * days
        poi = np.repeat(np.arange(2000), days)
        day = np.tile(np.arange(days), 2000)
        plant = np.array(plants)[np.where(rx[poi] < 121.45, 0, np.where(ry[poi] < 31.36, 1, 2))]
        tonnes = np.round(rng.gamma(2.0, 0.02, n), 4)
        veh = rng.integers(1, 21, n)
        t0 = 1_700_000_000 - days * 86400
        _copy(conn, "COPY waste_records (ts, waste_kind, tonnes, source_poi_id, facility_id, vehicle_id, geom, "
                    "h3_cell) FROM STDIN",
              [f"{time.strftime('%Y-%m-%d %H:%M:%S+00', time.gmtime(t0 + d * 86400 + 36000))}\tkitchen\t{tt}\t"
               f"R{p:05d}\t{pl}\tKW{v}\tSRID=4490;POINT({rx[p]:.7f} {ry[p]:.7f})\t{rcell[p]}\n"
               for p, d, pl, tt, v in zip(poi.tolist(), day.tolist(), plant.tolist(), tonnes.tolist(), veh.tolist(),
                                          strict=True)])
        print(f"loaded 2,000 restaurants, 3 plants, {n:,} kitchen-waste records in {time.perf_counter() - t:.1f} s")

        t = time.perf_counter()
        filled = sum(hcells.ensure_cells(conn, SOURCES[s]) for s in ("cases", "pois", "waste_records"))
        print(f"back-filled {filled:,} H3 cells (numpy + one UPDATE per 250k) in {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        conn.execute("VACUUM ANALYZE cases")
        conn.execute("VACUUM ANALYZE waste_records")
        conn.execute("VACUUM ANALYZE pois")
        print(f"vacuum analyze in {time.perf_counter() - t:.1f} s")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def timed(client: httpx.Client, path: str, params: dict, runs: int) -> tuple[list[float], httpx.Response]:
    r = client.get(path, params=params)  # warm-up
    r.raise_for_status()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        r = client.get(path, params=params)
        times.append((time.perf_counter() - t) * 1000)
        r.raise_for_status()
    return times, r


def timed_each(client: httpx.Client, path: str, params: list[dict]) -> tuple[list[float], httpx.Response]:
    """One request per parameter set (each a cache miss: the cold path)."""
    times = []
    for p in params:
        t = time.perf_counter()
        r = client.get(path, params=p)
        times.append((time.perf_counter() - t) * 1000)
        r.raise_for_status()
    return times, r


def report(label: str, times: list[float], goal: float, extra: str = "") -> None:
    p50, p95 = np.percentile(times, 50), np.percentile(times, 95)
    ok = "ok" if p95 <= goal else "OVER GOAL"
    load = Path("/proc/loadavg").read_text().split()[0]
    print(f"{label:<48} p50 {p50:6.0f} ms  p95 {p95:6.0f} ms  (goal ≤ {goal:.0f} ms: {ok:9}) load {load:>5} {extra}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("--keep", action="store_true", help="keep the throwaway database")
    ap.add_argument("--db", help="reuse a database kept by an earlier --keep run (migrated to head, not reloaded)")
    args = ap.parse_args()

    if args.db and not args.db.startswith("citygrid_bench_layers_"):
        raise SystemExit("--db takes only a database made by this bench (citygrid_bench_layers_…)")
    admin, url = urls(database_url(), args.db) if args.db else create_database(database_url(),
                                                                               prefix="citygrid_bench_layers")
    print(f"database {make_url(url).database}")
    proc = None
    try:
        migrate.upgrade(url)
        if not args.db:
            seed_reference_data(url)
            load(url, args.events)
        port = _free_port()
        env = {**os.environ, "DATABASE_URL": url}
        proc = subprocess.Popen([str(ROOT / ".venv/bin/citygrid"), "serve", "--port", str(port)], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=60) as client:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("server did not start")
                time.sleep(0.2)
            print(f"\nthrough HTTP ({base}), {args.runs} sequential runs each:")
            district = {"source": "cases", "bbox": f"{W},{S},{E},{N}", "zoom": 12, "weight": "weight"}
            times, r = timed(client, "/api/layers/heat", district, args.runs)
            fc = r.json()
            report("heat, district viewport, all 3 years", times, 300,
                   f"[res {fc['resolution']}, {fc['total']['hexagons']} hexagons, {fc['total']['count']:,} events]")
            last30 = {**district, "from": "2023-10-16", "to": "2023-11-14"}
            times, r = timed(client, "/api/layers/heat", last30, args.runs)
            fc = r.json()
            report("heat, district viewport, 30 days", times, 300,
                   f"[res {fc['resolution']}, {fc['total']['hexagons']} hexagons, {fc['total']['count']:,} events]")
            street = {"source": "cases", "bbox": ",".join(map(str, STREET_BOX)), "zoom": 15, "weight": "weight"}
            times, r = timed(client, "/api/layers/heat", street, args.runs)
            fc = r.json()
            report("heat, street viewport, all 3 years", times, 300,
                   f"[res {fc['resolution']}, {fc['total']['hexagons']} hexagons, {fc['total']['count']:,} events]")
            times, r = timed(client, "/api/layers/heat", {**district, "format": "png"}, args.runs)
            report("PNG 1024×1024, district, all 3 years", times, 500, f"[{len(r.content) // 1024} KiB]")
            times, r = timed(client, "/api/layers/heat", {**street, "format": "png"}, args.runs)
            report("PNG 1024×1024, street viewport", times, 500, f"[{len(r.content) // 1024} KiB]")
            times, r = timed(client, "/api/layers/heat", {**district, "format": "tif"}, max(5, args.runs // 4))
            report("GeoTIFF 1024×1024, district", times, 1000, f"[{len(r.content) // 1024} KiB]")
            times, r = timed(client, "/api/layers/flows", {}, args.runs)
            fc = r.json()
            report("flows, default (last 30 days of data)", times, 500,
                   f"[{len(fc['features'])} lines, {fc['total_tonnes']:.0f} t]")
            # Cold paths: every request differs (a map being panned, windows being moved), so none is cached.
            pans = [{**district, "bbox": f"{W + i * 1e-4},{S + i * 1e-4},{E + i * 1e-4},{N + i * 1e-4}"}
                    for i in range(1, args.runs + 1)]
            times, r = timed_each(client, "/api/layers/heat", pans)
            report("heat, district, panned (cold cache)", times, 300, f"[{r.json()['total']['hexagons']} hexagons]")
            street_pans = [{**street, "bbox": ",".join(str(c + i * 1e-4) for c in STREET_BOX)}
                           for i in range(1, args.runs + 1)]
            times, r = timed_each(client, "/api/layers/heat", street_pans)
            report("heat, street, panned (cold cache)", times, 300, f"[{r.json()['total']['hexagons']} hexagons]")
            times, r = timed_each(client, "/api/layers/heat", [{**p, "format": "png"} for p in pans])
            report("PNG 1024×1024, district, panned (cold cache)", times, 500, f"[{len(r.content) // 1024} KiB]")
            times, r = timed_each(client, "/api/layers/heat", [{**p, "format": "png"} for p in street_pans])
            report("PNG 1024×1024, street, panned (cold cache)", times, 500, f"[{len(r.content) // 1024} KiB]")
            last = time.gmtime(1_700_000_000 - 86400)
            windows = [{"to": time.strftime("%Y-%m-%d", time.gmtime(time.mktime(last) - i * 86400))}
                       for i in range(args.runs)]
            times, r = timed_each(client, "/api/layers/flows", windows)
            report("flows, 30 days, moved window (cold cache)", times, 500, f"[{len(r.json()['features'])} lines]")
            times, r = timed(client, "/api/layers/heat", {"source": "waste_records", "zoom": 12}, args.runs)
            report("heat, waste_records (tonnes), district", times, 300,
                   f"[{r.json()['total']['count']:,} records]")
            # A little concurrency: 4 clients at once on the district heat.
            import concurrent.futures as cf

            def one(_: int) -> float:
                t = time.perf_counter()
                client.get("/api/layers/heat", params=district).raise_for_status()
                return (time.perf_counter() - t) * 1000

            with cf.ThreadPoolExecutor(4) as pool:
                times = list(pool.map(one, range(args.runs)))
            report("heat, district, 4 concurrent clients", times, 300)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=20)
        if not args.keep and not args.db:
            drop_database(admin, url)


if __name__ == "__main__":
    main()
