"""Geocoder benchmark on the demo district: accuracy per query kind, false positives on negatives,
single-query HTTP latency and batch throughput. Prints figures; not a test.

    .venv/bin/python bench/bench_geocode.py [--per-kind 300] [--requests 1000] [--batch-rows 10000]

Uses DATABASE_URL (default: the project-local cluster's `citygrid` database, where the demo district
is loaded by `citygrid demo load`). Accuracy runs in-process on an index built WITHOUT the held-back
plates (their queries must be interpolated); latency and throughput go through a real uvicorn server
that the script starts on a free port (1 worker) and stops at the end.
Goals (issue 4): ≥ 95 % overall, ≥ 90 % per kind, ≤ 2 % false positives, p95 ≤ 20 ms, batch ≥ 1,000/s.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import server  # noqa: E402
from geocoder import evaluation as ev  # noqa: E402
from geocoder.index import ReferenceIndex  # noqa: E402
from gis.db.engine import database_url  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-kind", type=int, default=300)
    ap.add_argument("--seed", type=int, default=4)
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--batch-rows", type=int, default=10_000)
    ap.add_argument("--show-misses", type=int, default=3)
    args = ap.parse_args()
    url = database_url()

    with psycopg.connect(url, autocommit=True) as conn:
        n_plates = conn.execute("SELECT count(*) FROM doorplates").fetchone()[0]
        if not n_plates:
            sys.exit("no doorplates in the database: load the demo district first (citygrid demo load)")
        t = time.perf_counter()
        full = ReferenceIndex.load(conn)
        load_s = time.perf_counter() - t
        queries, held = ev.build(full, args.per_kind, args.seed)
        index = ReferenceIndex.load(conn, exclude_plates=held)
    print(f"reference data: {len(full.plates)} doorplates, {len(full.roads)} streets ({len(full.segments)}"
          f" segments), {len(full.zones)} zones, {len(full.pois)} POIs, {len(full.regions)} regions;"
          f" index built in {load_s:.1f} s")
    print(f"evaluation set: {len(queries)} queries (seed {args.seed}),"
          f" {len(held)} plates held back for interpolation\n")

    outcomes, secs = ev.timed_run(index, queries)
    lines, overall, worst, fp = ev.report(outcomes)
    print("\n".join(lines))
    print(f"(matched in-process in {secs:.2f} s: {len(queries) / secs:,.0f} queries/s on one core)\n")
    if args.show_misses:
        for kind, o in sorted(outcomes.items()):
            for text, got in o.misses[: args.show_misses]:
                print(f"  miss [{kind}] {text} → {got}")
        print()

    with server(url) as base:
        texts = [q.text for q in queries]
        rng = np.random.default_rng(args.seed)
        sample = [texts[int(i)] for i in rng.integers(0, len(texts), size=args.requests)]
        with httpx.Client(base_url=base, timeout=60) as client:
            client.get("/api/geocode", params={"q": "warm-up"})  # builds the index in the server
            for q in sample[:50]:
                client.get("/api/geocode", params={"q": q})
            lat = []
            for q in sample:
                t = time.perf_counter()
                r = client.get("/api/geocode", params={"q": q})
                lat.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 200, r.text
            lat_a = np.array(lat)
            p50, p95, p99 = np.percentile(lat_a, [50, 95, 99])
            print(f"HTTP GET /api/geocode, {len(lat)} sequential queries: p50 {p50:.1f} ms, p95 {p95:.1f} ms, "
                  f"p99 {p99:.1f} ms, max {lat_a.max():.1f} ms")

            rows = [texts[i % len(texts)] for i in range(args.batch_rows)]
            body = ("id,address\n" + "\n".join(f"{i},{q}" for i, q in enumerate(rows))).encode()
            t = time.perf_counter()
            n = 0
            with client.stream("POST", "/api/geocode/batch", content=body,
                               headers={"Content-Type": "text/csv"}) as r:
                assert r.status_code == 200
                for line in r.iter_lines():
                    n += bool(line)
            bsecs = time.perf_counter() - t
            print(f"HTTP POST /api/geocode/batch, {args.batch_rows} CSV rows → {n} NDJSON answers in {bsecs:.2f} s: "
                  f"{args.batch_rows / bsecs:,.0f} addresses/s")

    ok = lambda b: "ok" if b else "MISSED"  # noqa: E731
    print("\ngoals: overall ≥ 95 %:", f"{100 * overall:.1f} %", ok(overall >= 0.95),
          "| every kind ≥ 90 %:", f"{100 * worst:.1f} %", ok(worst >= 0.90),
          "| false positives ≤ 2 %:", f"{100 * fp:.1f} %", ok(fp <= 0.02),
          "| p95 ≤ 20 ms:", f"{p95:.1f}", ok(p95 <= 20),
          "| batch ≥ 1,000/s:", f"{args.batch_rows / bsecs:,.0f}", ok(args.batch_rows / bsecs >= 1000))


if __name__ == "__main__":
    main()
