"""Part 4 writes and Moving Features reads (issue 14).

    .venv/bin/python bench/bench_ogc_write.py [--duration 15] [--samples 100]

Runs on a throwaway COPY of the main `citygrid` database (the demo district must be loaded there:
`citygrid demo load`), so the POSTed cases and their audit entries vanish with it. One uvicorn worker,
the full middleware (audit, metrics, logs, request ids) on.

- Part 4: wrk (2 threads, 16 connections) POSTs single cases through HTTP with an inspector key
  (a wrk Lua script; each body a point inside the district, no code so no key collision); prints
  created/s and p99, and checks that every 201 left a row and an audit entry;
- tgsequence of one vehicle's busiest day (the most fixes in one UTC day): p50/p95 of `--samples`
  sequential requests;
- the vehicles with fixes in a ~2 km box during one hour, with their sub-trajectories
  (`items?bbox&datetime&subTrajectory=true&limit=200`): p50/p95.

Goals (issue 14): >= 1,000 POSTs/s, tgsequence p95 <= 30 ms, 200 vehicles in a box over an hour <= 300 ms.
Figures are noisy: wrk, PostgreSQL and the server share the machine's two cores with other work.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psycopg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.harness import load_average, process_cpu_s, server, server_cpu_s, throwaway_database  # noqa: E402
from gis.db.engine import database_url  # noqa: E402
from gis.security.keys import create_key  # noqa: E402

VAR = ROOT / "var" / "bench"

POST_LUA = """
local lon0, lat0, dlon, dlat = tonumber(os.getenv("LON0")), tonumber(os.getenv("LAT0")),
  tonumber(os.getenv("DLON")), tonumber(os.getenv("DLAT"))
local key = os.getenv("KEY")
math.randomseed(os.time() + math.floor(os.clock() * 1e6))
request = function()
  local body = string.format('{"type":"Feature","geometry":{"type":"Point","coordinates":[%.7f,%.7f]},'
    .. '"properties":{"major":"01","minor":"01","description":"bench","reported_at":"2026-04-01T09:00:00+08:00"}}',
    lon0 + math.random() * dlon, lat0 + math.random() * dlat)
  return wrk.format("POST", "/ogc/collections/cases/items",
    {["Content-Type"] = "application/geo+json", ["X-API-Key"] = key}, body)
end
"""


def wrk_post(base: str, duration: int, key: str, box: tuple[float, float, float, float]) -> tuple[float, float, int]:
    VAR.mkdir(parents=True, exist_ok=True)
    script = VAR / "post_case.lua"
    script.write_text(POST_LUA, encoding="utf-8")
    env = {**os.environ, "KEY": key, "LON0": str(box[0]), "LAT0": str(box[1]), "DLON": str(box[2] - box[0]),
           "DLAT": str(box[3] - box[1])}
    out = subprocess.run(["wrk", "-t2", "-c16", f"-d{duration}s", "--latency", "-s", str(script), base],
                         capture_output=True, text=True, check=True, env=env).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    m = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    p99 = float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, p99, int(bad.group(1)) if bad else 0


def postgres_cpu_s(conn: psycopg.Connection) -> dict[int, float]:
    """CPU seconds used so far by each process of the PostgreSQL cluster behind `conn` (the postmaster's
    children: backends, WAL writer, checkpointer …): the database's share of a write, which has to fit
    on the machine's other core. A process that ends between two readings loses its share."""
    postmaster = Path(f"/proc/{conn.info.backend_pid}/stat").read_text().rsplit(")", 1)[1].split()[1]
    found: dict[int, float] = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if (proc / "stat").read_text().rsplit(")", 1)[1].split()[1] == postmaster:
                    found[int(proc.name)] = process_cpu_s(proc.name)
            except OSError:
                continue
    return found


def latencies(client: httpx.Client, url: str, params: dict, samples: int) -> tuple[float, float, int]:
    times, size = [], 0
    client.get(url, params=params)  # warm the plan and the cache of pages
    for _ in range(samples):
        t = time.perf_counter()
        r = client.get(url, params=params)
        times.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200, r.text[:300]
        size = len(r.content)
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))], size


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=15)
    ap.add_argument("--samples", type=int, default=100)
    args = ap.parse_args()
    main_url = database_url()
    template = make_url(main_url).database
    with psycopg.connect(main_url, autocommit=True) as conn:
        if conn.execute("SELECT count(*) FROM unit_grids").fetchone()[0] == 0:
            sys.exit("load the demo district first: citygrid demo load")
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
                     "AND pid <> pg_backend_pid()", (template,))
    with throwaway_database(main_url, template) as url, psycopg.connect(url, autocommit=True) as conn:
        _, key = create_key(conn, "bench-write", "inspector")
        box = conn.execute("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) e "
                           "FROM (SELECT geom FROM unit_grids ORDER BY code LIMIT 200) g) s").fetchone()
        vid, day, n_day = conn.execute(
            "SELECT vehicle_id, date_trunc('day', ts AT TIME ZONE 'UTC') AS d, count(*) FROM positions "
            "GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 1").fetchone()
        hour_row = conn.execute(
            "SELECT date_trunc('hour', ts) h, ST_Extent(geom)::geometry, count(DISTINCT vehicle_id) FROM positions "
            "GROUP BY 1 ORDER BY 3 DESC LIMIT 1").fetchone()
        before = conn.execute("SELECT count(*) FROM cases").fetchone()[0]
        audit_before = conn.execute("SELECT count(*) FROM audit_log").fetchone()[0]
        env = {"CITYGRID_RATE_LIMIT_PER_KEY": "1000000"}
        with server(url, env=env) as base, httpx.Client(base_url=base, timeout=30) as client:
            print(f"load average at start: {load_average()}")
            cpu0, pg0 = server_cpu_s(base), postgres_cpu_s(conn)
            rps, p99, bad = wrk_post(base, args.duration, key, box)
            cpu = server_cpu_s(base) - cpu0
            pg = sum(v - pg0.get(pid, 0.0) for pid, v in postgres_cpu_s(conn).items())
            after = conn.execute("SELECT count(*) FROM cases").fetchone()[0]
            audited = conn.execute("SELECT count(*) FROM audit_log").fetchone()[0] - audit_before
            print(f"Part 4 POST …/cases/items (wrk -t2 -c16 -d{args.duration}s): {rps:,.0f} req/s, p99 {p99:.1f} ms, "
                  f"non-2xx {bad}; rows created {after - before:,}, audit entries {audited:,} (goal >= 1,000/s); "
                  f"server CPU {1000 * cpu / max(after - before, 1):.2f} ms per POST, "
                  f"PostgreSQL CPU {1000 * pg / max(after - before, 1):.2f} ms per POST; load {load_average()}")
            day_s = day.strftime("%Y-%m-%d")
            p50, p95, size = latencies(client, f"/ogc/collections/vehicle_tracks/items/{vid}/tgsequence",
                                       {"datetime": f"{day_s}T00:00:00Z/{day_s}T23:59:59.999999Z"}, args.samples)
            print(f"tgsequence, vehicle {vid}, one day ({n_day:,} fixes, {size / 1024:,.0f} KiB): "
                  f"p50 {p50:.1f} ms, p95 {p95:.1f} ms (goal p95 <= 30 ms)")
            hour, _, n_vehicles = hour_row
            bbox = conn.execute("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) e "
                                "FROM positions WHERE ts >= %s AND ts < %s + interval '1 hour') s",
                                (hour, hour)).fetchone()
            h0 = hour.strftime("%Y-%m-%dT%H:%M:%SZ")
            h1 = (hour.replace(minute=59, second=59)).strftime("%Y-%m-%dT%H:%M:%SZ")
            params = {"bbox": ",".join(f"{v:.6f}" for v in bbox), "datetime": f"{h0}/{h1}", "subTrajectory": "true",
                      "limit": 200}
            got = client.get("/ogc/collections/vehicle_tracks/items", params=params).json()["numberReturned"]
            p50, p95, size = latencies(client, "/ogc/collections/vehicle_tracks/items", params,
                                       max(args.samples // 4, 10))
            print(f"vehicles in the box of the busiest hour with sub-trajectories ({got} of {n_vehicles} vehicles, "
                  f"{size / 1024:,.0f} KiB): p50 {p50:.1f} ms, p95 {p95:.1f} ms (goal <= 300 ms)")


if __name__ == "__main__":
    main()
