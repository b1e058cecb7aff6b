"""Benchmark of 计划与实际 for a whole fleet: `GET /api/routes/compare` (every route of a day in one answer)
against one `/api/routes/{id}/compare` per route as the page asked before, on the main database (the demo
district's 54 routes, the last day of data). Also how far the simplified coverage lies from the exact one
(the track buffered as driven). Read-only; prints figures.

    .venv/bin/python bench/bench_routes.py [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import load_average, server  # noqa: E402
from gis.db.engine import connect, database_url  # noqa: E402
from gis.params import district_tz  # noqa: E402
from gis.tracks import queries  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with connect() as conn:
        last = conn.execute("SELECT max(ts) FROM positions").fetchone()[0]
        day = last.astimezone(district_tz()).replace(hour=0, minute=0, second=0, microsecond=0)
        ids = [r[0] for r in conn.execute("SELECT id FROM routes WHERE vehicle_id IS NOT NULL ORDER BY id")]
        params = {"ids": ids, "v": None, "a": day, "b": day + timedelta(days=1), "tol": 30.0}
        fast = {r[0]: r for r in conn.execute(queries._COVERED, params)}
        exact_sql = queries._COVERED.replace("ST_Buffer(s.lean::geography", "ST_Buffer(s.line::geography")
        assert exact_sql != queries._COVERED
        exact = {r[0]: r for r in conn.execute(exact_sql, params)}
    worst = max(abs(float(fast[i][4] or 0) - float(exact[i][4] or 0)) for i in ids)
    print(f"{len(ids)} routes, {day.date()}; covered length, simplified vs exact: at most {worst:.1f} m apart")
    window = {"from": day.isoformat(), "to": (day + timedelta(days=1)).isoformat()}
    one, six, each = [], [], []
    with server(database_url()) as base, httpx.Client(base_url=base, timeout=120) as http:
        for _ in range(args.runs):
            t = time.perf_counter()
            r = http.get("/api/routes/compare", params=window)
            one.append(time.perf_counter() - t)
            assert r.status_code == 200 and len(r.json()["routes"]) == len(ids), r.text[:200]
            t = time.perf_counter()
            parts = [ids[i::6] for i in range(6)]
            with ThreadPoolExecutor(6) as pool:  # as the page asks: six requests of several routes
                answers = list(pool.map(lambda p: http.get("/api/routes/compare", params={
                    **window, "ids": ",".join(map(str, p))}).json()["routes"], parts))
            six.append(time.perf_counter() - t)
            assert sum(map(len, answers)) == len(ids)
            t = time.perf_counter()
            with ThreadPoolExecutor(6) as pool:  # a browser's six connections per host
                codes = list(pool.map(lambda i: http.get(f"/api/routes/{i}/compare", params=window).status_code, ids))
            each.append(time.perf_counter() - t)
            assert set(codes) == {200}
    print(f"GET /api/routes/compare (all {len(ids)}):        median {statistics.median(one):.2f} s "
          f"({' '.join(f'{x:.2f}' for x in one)})")
    print(f"6 × /api/routes/compare?ids=… at once:   median {statistics.median(six):.2f} s "
          f"({' '.join(f'{x:.2f}' for x in six)})")
    print(f"{len(ids)} × /api/routes/{{id}}/compare, 6 at once: median {statistics.median(each):.2f} s "
          f"({' '.join(f'{x:.2f}' for x in each)})")
    print(f"load average at the end: {load_average()}")


if __name__ == "__main__":
    main()
