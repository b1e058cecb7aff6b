"""Load: 50 concurrent users on a mix of map, locate, geocode, items and tile requests (wrk, loopback).

Prints p50/p95/p99 latency, throughput and the error rate for the mix and for each kind alone, each
after a 3 s unmeasured warm-up. wrk runs on the same two cores as the server and PostgreSQL, with no
think time: 50 connections means 50 requests in flight at every moment.
Goal (issue 7): p95 ≤ 200 ms with 0 errors. Runs against the demo district in the main database
(read-only requests only) with `--workers` uvicorn processes.

    .venv/bin/python bench/bench_load.py [--duration 20] [--connections 50] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import load_average, server
from gis.db.engine import database_url

LUA = r"""
local paths = %s
local n = #paths
local counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[math.random(n)])
end
done = function(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read
               + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT %%d %%d %%.3f %%.3f %%.3f %%.3f\n", summary.requests, errors,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    summary.duration / 1e6))
end
"""


def workload(url: str, rng: random.Random, n: int = 400) -> dict[str, list[str]]:
    with psycopg.connect(url) as conn:
        xmin, ymin, xmax, ymax = conn.execute(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
            "(SELECT ST_Extent(geom) e FROM unit_grids) s").fetchone()
        plates = [r[0] for r in conn.execute(
            "SELECT add_name FROM doorplates ORDER BY md5(add_id) LIMIT %s", (n,))]
    def point() -> tuple[float, float]:
        return rng.uniform(xmin, xmax), rng.uniform(ymin, ymax)
    def bbox(size: float) -> str:
        x, y = point()
        return f"{x:.5f},{y:.5f},{x + size:.5f},{y + size * 0.85:.5f}"
    locate = [f"/api/grids/locate?lon={x:.6f}&lat={y:.6f}" for x, y in (point() for _ in range(n))]
    geocode = [f"/api/geocode?q={quote(p)}&limit=5" for p in plates]
    items = [f"/ogc/collections/components/items?limit=100&bbox={bbox(0.01)}" for _ in range(n)]
    tiles = []
    for _ in range(n):
        import math
        x, y = point()
        z = 15
        tx = int((x + 180) / 360 * 2**z)
        ty = int((1 - math.asinh(math.tan(math.radians(y))) / math.pi) / 2 * 2**z)
        tiles.append(f"/ogc/collections/components/tiles/WebMercatorQuad/{z}/{ty}/{tx}")
    page = ["/", "/ogc/collections", "/readyz"]
    return {"locate": locate, "geocode": geocode, "items": items, "tiles": tiles, "page": page}


def run_wrk(base: str, paths: list[str], duration: int,
            connections: int) -> tuple[int, int, float, float, float, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(LUA % ("{" + ",".join(json.dumps(p) for p in paths) + "}"))
        script = fh.name
    proc = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--timeout", "10s", "-s", script, base],
                          capture_output=True, text=True, check=True)
    m = re.search(r"RESULT (\d+) (\d+) ([\d.]+) ([\d.]+) ([\d.]+) ([\d.]+)", proc.stdout)
    if not m:
        raise RuntimeError(proc.stdout + proc.stderr)
    reqs, errors = int(m.group(1)), int(m.group(2))
    p50, p95, p99, secs = (float(m.group(i)) for i in range(3, 7))
    return reqs, errors, p50, p95, p99, secs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    url = database_url()
    kinds = workload(url, random.Random(7))
    mix = kinds["locate"] * 3 + kinds["geocode"] * 2 + kinds["items"] * 2 + kinds["tiles"] * 2 + kinds["page"] * 30
    print(f"{args.connections} concurrent connections, {args.duration} s each, {args.workers} workers, wrk -t2")
    print(f"{'workload':<10} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>8}  load")
    with server(url, workers=args.workers, env={"CITYGRID_RATE_LIMIT_PER_KEY": "100000"}) as base:
        for path in kinds["geocode"][:20] + kinds["locate"][:20]:  # warm the in-memory indexes
            subprocess.run(["curl", "-s", "-o", "/dev/null", base + path], check=False)
        for name, paths in [("mix", mix), *kinds.items()]:
            run_wrk(base, paths, 3, args.connections)  # steady state: caches and tiles warm, not measured
            reqs, errors, p50, p95, p99, secs = run_wrk(base, paths, args.duration, args.connections)
            rate = f"{errors / reqs:.2%}" if reqs else "n/a"
            print(f"{name:<10} {reqs / secs:>8.0f} {p50:>8.1f} {p95:>8.1f} {p99:>8.1f} {rate:>8}  {load_average()}")
    print("goal: mix p95 ≤ 200 ms, 0 errors")


if __name__ == "__main__":
    main()
