"""CPU per Part 4 POST, per process, this checkout against another commit, runs taken alternately (issue 14).

    .venv/bin/python bench/bench_ogc_write_cpu.py --base REV [--seconds 8] [--rounds 3]

The machine is shared, so req/s says little: what is compared is the CPU each side spends per created
case, by process — the uvicorn worker (user + system time of all its threads), the PostgreSQL cluster
(every child of the postmaster: backends, WAL writer, …; only one side is under load at a time) and wrk.
Each side gets its own copy of the main `citygrid` database (the demo district must be loaded); the
other commit's copy is migrated down to that commit's head revision with this checkout's migrations, so
each side runs on its own schema. The other commit is checked out into var/bench/base-REV (a git
worktree) and served by this checkout's virtual environment. wrk -t2 -c16 POSTs one case each, as
bench/bench_ogc_write.py does; one uvicorn worker, the full middleware.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

import psycopg
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_ogc_cpu import checkout  # noqa: E402
from bench.bench_ogc_write import POST_LUA, VAR, postgres_cpu_s  # noqa: E402
from bench.harness import load_average, server, server_cpu_s, throwaway_database  # noqa: E402
from gis.db import migrate  # noqa: E402
from gis.db.engine import database_url  # noqa: E402
from gis.security.keys import create_key  # noqa: E402


def head_of(root: Path) -> str:
    """The newest migration of the checkout at `root`."""
    cfg = Config()
    cfg.set_main_option("script_location", str(root / "gis" / "db" / "migrations"))
    return ScriptDirectory.from_config(cfg).get_current_head()


def wrk(base: str, seconds: int, key: str, box: tuple) -> tuple[float, float]:
    """(req/s, wrk's own CPU seconds)."""
    script = VAR / "post_case.lua"
    VAR.mkdir(parents=True, exist_ok=True)
    script.write_text(POST_LUA, encoding="utf-8")
    env = {**os.environ, "KEY": key, "LON0": str(box[0]), "LAT0": str(box[1]), "DLON": str(box[2] - box[0]),
           "DLAT": str(box[3] - box[1])}
    before = os.times()
    out = subprocess.run(["wrk", "-t2", "-c16", f"-d{seconds}s", "-s", str(script), base], capture_output=True,
                         text=True, check=True, env=env).stdout
    after = os.times()
    used = (after.children_user + after.children_system) - (before.children_user + before.children_system)
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), used


def one_run(base: str, conn: psycopg.Connection, seconds: int, key: str, box: tuple) -> dict[str, float]:
    """ms CPU per created case by process (server, PostgreSQL, wrk), and req/s."""
    n0 = conn.execute("SELECT count(*) FROM cases").fetchone()[0]
    c0 = conn.execute("SELECT coalesce(max(id), 0) FROM cases").fetchone()[0]
    a0 = conn.execute("SELECT coalesce(max(id), 0) FROM audit_log").fetchone()[0]
    s0, p0 = server_cpu_s(base), postgres_cpu_s(conn)
    rps, wrk_s = wrk(base, seconds, key, box)
    s1, p1 = server_cpu_s(base), postgres_cpu_s(conn)
    n = max(conn.execute("SELECT count(*) FROM cases").fetchone()[0] - n0, 1)
    pg = sum(v - p0.get(pid, 0.0) for pid, v in p1.items())
    entries, commits = conn.execute("SELECT count(*), count(DISTINCT xmin::text) FROM audit_log WHERE id > %s",
                                    (a0,)).fetchone()
    # cases per create transaction: > 1 when concurrent POSTs were written together (gis/io/write_batch.py)
    cases, txns = conn.execute("SELECT count(*), count(DISTINCT xmin::text) FROM cases WHERE id > %s",
                               (c0,)).fetchone()
    return {"server": 1000 * (s1 - s0) / n, "postgres": 1000 * pg / n, "wrk": 1000 * wrk_s / n, "req/s": rps,
            "audit batch": entries / max(commits, 1), "create batch": cases / max(txns, 1)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True, help="the commit to compare with (e.g. main or a hash)")
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    main_url = database_url()
    template = make_url(main_url).database
    base_root = checkout(args.base)
    with psycopg.connect(main_url, autocommit=True) as conn:
        if conn.execute("SELECT count(*) FROM unit_grids").fetchone()[0] == 0:
            sys.exit("load the demo district first: citygrid demo load")
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
                     "AND pid <> pg_backend_pid()", (template,))
    env = {"CITYGRID_RATE_LIMIT_PER_KEY": "1000000"}
    with throwaway_database(main_url, template) as old_url, throwaway_database(main_url, template) as new_url, \
            psycopg.connect(old_url, autocommit=True) as old_conn, \
            psycopg.connect(new_url, autocommit=True) as new_conn:
        migrate.downgrade(old_url, revision=head_of(base_root))
        box = new_conn.execute("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) e "
                               "FROM (SELECT geom FROM unit_grids ORDER BY code LIMIT 200) g) s").fetchone()
        sides = {args.base: (old_url, old_conn, base_root), "this checkout": (new_url, new_conn, ROOT)}
        figures: dict[str, list[dict[str, float]]] = {who: [] for who in sides}
        with server(old_url, env=env, root=base_root) as old, server(new_url, env=env) as new:
            bases = {args.base: old, "this checkout": new}
            keys = {who: create_key(conn, "bench-write", "inspector")[1] for who, (_, conn, _) in sides.items()}
            print(f"load average at start: {load_average()}")
            for who in sides:  # warm-up: prepared statements, caches
                wrk(bases[who], 2, keys[who], box)
            for rnd in range(args.rounds):
                for who, (_, conn, _) in sides.items():
                    got = one_run(bases[who], conn, args.seconds, keys[who], box)
                    figures[who].append(got)
                    print(f"round {rnd + 1} {who:>14}: server {got['server']:.3f}  PostgreSQL {got['postgres']:.3f}  "
                          f"wrk {got['wrk']:.3f} ms CPU per POST; {got['req/s']:,.0f} req/s; audit entries per commit "
                          f"{got['audit batch']:.1f}; cases per create statement {got['create batch']:.1f}; "
                          f"load {load_average()}",
                          flush=True)
        print("medians (ms CPU per POST):")
        old_runs, new_runs = figures[args.base], figures["this checkout"]
        for who, runs in figures.items():
            med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            print(f"  {who:>14}: server {med['server']:.3f}  PostgreSQL {med['postgres']:.3f}  wrk {med['wrk']:.3f}  "
                  f"total {med['server'] + med['postgres'] + med['wrk']:.3f}; {med['req/s']:,.0f} req/s")
        # Each round's two runs are back to back: their difference cancels the machine's slower drifts.
        diff = {k: statistics.median(n[k] - o[k] for n, o in zip(new_runs, old_runs, strict=True))
                for k in ("server", "postgres", "wrk")}
        print(f"median of the rounds' differences (this checkout - {args.base}): server {diff['server']:+.3f}  "
              f"PostgreSQL {diff['postgres']:+.3f}  wrk {diff['wrk']:+.3f} ms CPU per POST")


if __name__ == "__main__":
    main()
