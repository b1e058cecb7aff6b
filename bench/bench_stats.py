"""Benchmark of the case statistics (`GET /api/stats/cases`) through HTTP with 1,000,000 cases loaded.

Creates a THROWAWAY database on the project's cluster (never the main one), loads 1,000,000 cases over 3
years in 400 unit grids (20 communities, 4 streets) with sources, categories and statuses, serves the
API and prints p50/p95 per grouping of: cold answers (every request a different range, so every one a
cache miss; goal ≤ 200 ms) and cached answers (the same request again; goal ≤ 20 ms). Each cold answer
is checked against SQL once. Figures are noisy on a shared machine.

    .venv/bin/python bench/bench_stats.py [--cases 1000000] [--runs 20] [--keep | --db NAME]
"""

from __future__ import annotations

import argparse
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

from harness import load_cases, server  # noqa: E402

from gis.db import migrate  # noqa: E402
from gis.db.databases import create_database, drop_database, urls  # noqa: E402
from gis.db.engine import database_url  # noqa: E402
from gis.db.seed import seed_reference_data  # noqa: E402

GROUPS = ("source", "category", "major", "minor", "street", "community", "unit_grid", "eval_grid", "status")
BOX = "SRID=4490;MULTIPOLYGON(((121.40 31.30,121.50 31.30,121.50 31.40,121.40 31.40,121.40 31.30)))"


def load(url: str, n: int) -> None:
    rng = np.random.default_rng(20261203)
    with psycopg.connect(url, autocommit=True) as conn:
        t = time.perf_counter()
        conn.execute("INSERT INTO admin_areas (code, level, name, geom) VALUES ('310113', 'district', '宝山区', %s)",
                     (BOX,))
        grids = []
        for s in range(1, 5):
            street = f"310113{s:03d}"
            conn.execute("INSERT INTO admin_areas (code, level, name, parent_code, geom) VALUES "
                         "(%s, 'street', %s, '310113', %s)", (street, f"街道{s}", BOX))
            conn.execute("INSERT INTO eval_grids (code, street_code, name, geom) VALUES (%s, %s, %s, %s)",
                         (street + "001", street, f"评价网格{s}", BOX))
            for c in range(1, 6):
                community = f"{street}{c:03d}"
                conn.execute("INSERT INTO admin_areas (code, level, name, parent_code, geom) VALUES "
                             "(%s, 'community', %s, %s, %s)", (community, f"社区{s}-{c}", street, BOX))
                for g in range(1, 21):
                    code = f"{community}{g:03d}"
                    grids.append(code)
                    conn.execute("INSERT INTO unit_grids (code, community_code, eval_code, name, geom) VALUES "
                                 "(%s, %s, %s, %s, %s)", (code, community, street + "001", code, BOX))
        load_cases(conn, rng.uniform(121.40, 121.50, n), rng.uniform(31.30, 31.40, n), rng,
                   sources=(["supervisor", "hotline", "camera", "app"], [0.45, 0.3, 0.15, 0.1]),
                   statuses=(["closed", "processing", "open"], [0.9, 0.07, 0.03]), unit_grids=grids)
        conn.execute("VACUUM ANALYZE cases")
        print(f"loaded {n:,} cases in {time.perf_counter() - t:.1f} s")


def report(label: str, times: list[float], goal: float) -> None:
    p50, p95 = np.percentile(times, 50), np.percentile(times, 95)
    ok = "ok" if p95 <= goal else "OVER GOAL"
    load = Path("/proc/loadavg").read_text().split()[0]
    print(f"{label:<40} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  (goal ≤ {goal:.0f} ms: {ok:9}) load {load}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--db", help="reuse a database kept by an earlier --keep run")
    args = ap.parse_args()
    if args.db and not args.db.startswith("citygrid_bench_stats_"):
        raise SystemExit("--db takes only a database made by this bench")
    admin, url = urls(database_url(), args.db) if args.db else create_database(database_url(),
                                                                               prefix="citygrid_bench_stats")
    print(f"database {make_url(url).database}")
    try:
        migrate.upgrade(url)
        if not args.db:
            seed_reference_data(url)
            load(url, args.cases)
        with server(url) as api, httpx.Client(base_url=api, timeout=60) as client, psycopg.connect(url) as conn:
            total = conn.execute("SELECT count(*) FROM cases").fetchone()[0]
            print(f"{total:,} cases")
            all_cold: list[float] = []
            all_warm: list[float] = []
            for g in GROUPS:
                cold, warm = [], []
                for i in range(args.runs):
                    # One year, month by month; each run a different start day: a cache miss.
                    p = {"group": g, "period": "month", "from": f"2022-{1 + i % 12:02d}-{1 + i // 12:02d}",
                         "to": f"2023-{1 + i % 12:02d}-{1 + i // 12:02d}"}
                    t = time.perf_counter()
                    r = client.get("/api/stats/cases", params=p)
                    cold.append((time.perf_counter() - t) * 1000)
                    r.raise_for_status()
                    if i == 0:
                        want = conn.execute("SELECT count(*) FROM cases WHERE reported_at >= %s::date::timestamp "
                                            "AT TIME ZONE 'Asia/Shanghai' AND reported_at < %s::date::timestamp "
                                            "AT TIME ZONE 'Asia/Shanghai' + interval '1 day'",
                                            (p["from"], p["to"])).fetchone()[0]
                        assert r.json()["total"] == want == sum(x["count"] for x in r.json()["rows"]), g
                    t = time.perf_counter()
                    client.get("/api/stats/cases", params=p).raise_for_status()
                    warm.append((time.perf_counter() - t) * 1000)
                report(f"cases by {g}, 1 year by month, cold", cold, 200)
                report(f"cases by {g}, cached", warm, 20)
                all_cold += cold
                all_warm += warm
            report("ALL groupings, cold", all_cold, 200)
            report("ALL groupings, cached", all_warm, 20)
            cold = []
            for i in range(args.runs):
                p = {"group": "source", "period": "month", "compare": "yoy", "from": f"2023-01-{1 + i:02d}",
                     "to": "2023-12-31"}
                t = time.perf_counter()
                client.get("/api/stats/cases", params=p).raise_for_status()
                cold.append((time.perf_counter() - t) * 1000)
            report("cases by source, month, 同比, cold", cold, 200)
    finally:
        if not args.keep:
            drop_database(admin, url)


if __name__ == "__main__":
    main()
