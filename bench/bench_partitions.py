"""Benchmark of the index and storage choices for `positions` (issue 18): BRIN vs B-tree on `ts`, and
whether TOAST compression (lz4) can matter.

Copies the demo's fixes (the main database's `positions`: one day, ~200 vehicles) into a THROWAWAY
database, repeated over `--days` consecutive days, into one plain table per physical row order — a
month partition is a plain table — and measures, with the primary key (vehicle_id, ts) and the GiST on
geom present as in production:

* the size of a BRIN and of a B-tree on ts;
* a one-vehicle-one-day track (`WHERE vehicle_id = … AND ts in a day ORDER BY ts`) and a one-hour
  district box (`WHERE ts in an hour AND geom && district box`), median and p95 of `--runs` random
  picks, with the plan node the planner chose;
* the width of a row and of its geometry, and the table's TOAST size before and after
  `SET COMPRESSION lz4` + rewrite.

Two row orders: "time" (what ingest writes: batches of all vehicles in time order) and "vehicle"
(what `citygrid demo load` writes: vehicle after vehicle). Figures are noisy on a shared machine.

    .venv/bin/python bench/bench_partitions.py [--days 7] [--runs 30]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from harness import load_average, throwaway_database  # noqa: E402

from gis.db.engine import database_url  # noqa: E402

COLUMNS = "vehicle_id, ts, geom, speed_kmh, heading, received_at"
ORDERS = {"time": "ts, vehicle_id", "vehicle": "vehicle_id, ts"}


def copy_demo(main_url: str, conn: psycopg.Connection) -> int:
    """The demo's fixes into `src` of the bench database (COPY out of one, into the other)."""
    buf = io.BytesIO()
    with psycopg.connect(main_url) as main, main.cursor() as cur, \
            cur.copy(f"COPY (SELECT {COLUMNS} FROM positions) TO STDOUT") as copy:
        for chunk in copy:
            buf.write(chunk)
    conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    conn.execute("CREATE TABLE src (vehicle_id text, ts timestamptz, geom geometry(Point, 4490), speed_kmh real, "
                 "heading real, received_at timestamptz)")
    with conn.cursor() as cur, cur.copy(f"COPY src ({COLUMNS}) FROM STDIN") as copy:
        copy.write(buf.getvalue())
    return conn.execute("SELECT count(*) FROM src").fetchone()[0]


def build(conn: psycopg.Connection, name: str, order: str, days: int) -> None:
    conn.execute(f"CREATE TABLE {name} (LIKE src)")
    conn.execute(f"INSERT INTO {name} SELECT vehicle_id, ts + k * interval '1 day' AS ts, geom, speed_kmh, heading, "
                 f"received_at + k * interval '1 day' FROM src, generate_series(0, %s) AS k ORDER BY {order}",
                 (days - 1,))
    conn.execute(f"ALTER TABLE {name} ADD PRIMARY KEY (vehicle_id, ts)")
    conn.execute(f"CREATE INDEX {name}_geom ON {name} USING gist (geom)")
    conn.execute(f"VACUUM ANALYZE {name}")


def size(conn: psycopg.Connection, rel: str) -> int:
    return conn.execute("SELECT pg_relation_size(%s)", (rel,)).fetchone()[0]


def timed(conn: psycopg.Connection, sql: str, args: tuple) -> tuple[float, str]:
    """Milliseconds of one execution (rows fetched) and the plan's top scan node."""
    plan = conn.execute("EXPLAIN (FORMAT JSON) " + sql, args).fetchone()[0][0]["Plan"]
    node = plan
    while node.get("Plans") and "Scan" not in node["Node Type"]:
        node = node["Plans"][0]
    t = time.perf_counter()
    conn.execute(sql, args).fetchall()
    return (time.perf_counter() - t) * 1000, node["Node Type"]


def measure(conn: psycopg.Connection, name: str, runs: int, days: int, rng: np.random.Generator
            ) -> dict[str, tuple[float, float, str]]:
    vehicles = [r[0] for r in conn.execute(f"SELECT DISTINCT vehicle_id FROM {name}")]
    t0 = conn.execute(f"SELECT date_trunc('day', min(ts)) FROM {name}").fetchone()[0]
    box = conn.execute("SELECT ST_SetSRID(ST_Extent(geom)::geometry, 4490)::text FROM src").fetchone()[0]
    out = {}
    track = (f"SELECT ts, ST_X(geom), ST_Y(geom) FROM {name} WHERE vehicle_id = %s "
             "AND ts >= %s AND ts < %s + interval '1 day' ORDER BY ts")
    hour = f"SELECT vehicle_id, ts, geom FROM {name} WHERE ts >= %s AND ts < %s + interval '1 hour' AND geom && %s"

    def one_track() -> tuple:
        day = t0 + timedelta(days=int(rng.integers(days)))
        return vehicles[int(rng.integers(len(vehicles)))], day, day

    def one_hour() -> tuple:
        at = t0 + timedelta(hours=int(rng.integers(days * 24)))
        return at, at, box

    for label, sql, pick in (("track", track, one_track), ("hour_box", hour, one_hour)):
        timed(conn, sql, pick())  # warm
        ms, nodes = [], []
        for _ in range(runs):
            m, node = timed(conn, sql, pick())
            ms.append(m)
            nodes.append(node)
        out[label] = (statistics.median(ms), float(np.percentile(ms, 95)), max(set(nodes), key=nodes.count))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--runs", type=int, default=30)
    args = ap.parse_args()
    rng = np.random.default_rng(20261203)
    main_url = database_url()
    print(f"load average {load_average()} at start; {args.days} days of the demo's fixes per table")
    with throwaway_database(main_url) as url, psycopg.connect(url, autocommit=True) as conn:
        n = copy_demo(main_url, conn)
        print(f"demo fixes: {n:,} (one day); per table: {n * args.days:,}")
        for order, by in ORDERS.items():
            name = f"pos_{order}"
            t = time.perf_counter()
            build(conn, name, by, args.days)
            corr = conn.execute("SELECT correlation FROM pg_stats WHERE tablename = %s AND attname = 'ts'",
                                (name,)).fetchone()[0]
            print(f"\n[{order} order] built in {time.perf_counter() - t:.1f} s; ts correlation {corr:.2f}; "
                  f"heap {size(conn, name) / 2**20:.1f} MB, primary key {size(conn, name + '_pkey') / 2**20:.1f} MB, "
                  f"GiST {size(conn, name + '_geom') / 2**20:.1f} MB")
            for kind in ("brin", "btree"):
                conn.execute(f"CREATE INDEX {name}_ts ON {name} USING {kind} (ts)")
                conn.execute(f"ANALYZE {name}")
                got = measure(conn, name, args.runs, args.days, rng)
                print(f"  {kind:5} on ts: {size(conn, name + '_ts') / 2**10:9.0f} KB; " + "; ".join(
                    f"{q} p50 {p50:.1f} ms p95 {p95:.1f} ms ({node})" for q, (p50, p95, node) in got.items()))
                conn.execute(f"DROP INDEX {name}_ts")
        name = "pos_time"
        geom_b, row_b = conn.execute(f"SELECT avg(pg_column_size(geom)), avg(pg_column_size(t.*)) FROM {name} t"
                                     ).fetchone()
        toast = conn.execute("SELECT coalesce(pg_relation_size(reltoastrelid), 0) FROM pg_class WHERE relname = %s",
                             (name,)).fetchone()[0]
        heap = size(conn, name)
        conn.execute(f"ALTER TABLE {name} ALTER COLUMN geom SET COMPRESSION lz4")
        conn.execute(f"VACUUM FULL {name}")
        toast_lz4 = conn.execute("SELECT coalesce(pg_relation_size(reltoastrelid), 0) FROM pg_class "
                                 "WHERE relname = %s", (name,)).fetchone()[0]
        print(f"\ncompression: geometry {geom_b:.0f} B, row {row_b:.0f} B (TOAST compresses only values past "
              f"~2 KB); heap {heap / 2**20:.1f} MB, TOAST {toast} B; after SET COMPRESSION lz4 + rewrite: heap "
              f"{size(conn, name) / 2**20:.1f} MB, TOAST {toast_lz4} B")
    print(f"load average {load_average()} at end")


if __name__ == "__main__":
    main()
