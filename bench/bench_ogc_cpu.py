"""CPU per OGC request, this checkout against another commit, on the same database and machine.

    .venv/bin/python bench/bench_ogc_cpu.py --base REV [--seconds 6] [--rounds 3]

Requests per second move with whatever else runs on the machine's two cores; the CPU a server spends
per answered request (its process's user + system time over a wrk run, divided by the requests; and
PostgreSQL's backends' likewise) hardly does. So a regression of the serving path shows here even on a
busy machine: each row of issue 8's table is run against the two servers in turn, `--rounds` times,
with wrk -t1 -c4. The other commit is checked out into var/bench/base-REV (a git worktree) and served by
this checkout's virtual environment against the main `citygrid` database (the demo district).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_ogc import BBOX, RANDOM_IDS_LUA, tile15  # noqa: E402
from bench.harness import load_average, process_cpu_s, server, server_cpu_s  # noqa: E402
from gis.db.engine import database_url  # noqa: E402

VAR = ROOT / "var" / "bench"


def postgres_cpu_s(conn: psycopg.Connection) -> float:
    """CPU seconds of the cluster's backends so far (children of the postmaster)."""
    data_dir = conn.execute("SHOW data_directory").fetchone()[0]
    postmaster = Path(data_dir, "postmaster.pid").read_text().split()[0]
    children = subprocess.run(["pgrep", "-P", postmaster], capture_output=True, text=True).stdout.split()
    return sum(process_cpu_s(pid) for pid in children)


def checkout(rev: str) -> Path:
    """A worktree of `rev`, named by its commit (a name like HEAD moves; its old worktree must not be reused)."""
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--verify", f"{rev}^{{commit}}"], check=True,
                            capture_output=True, text=True).stdout.strip()
    path = VAR / f"base-{commit[:12]}"
    if not path.exists():
        VAR.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), rev], check=True,
                       capture_output=True)
    return path


def run(base: str, path: str, seconds: int, ids: Path | None, conn: psycopg.Connection) -> tuple[float, float, float]:
    """(server ms CPU per request, PostgreSQL ms CPU per request, req/s)."""
    cmd, env, url = ["wrk", "-t1", "-c4", f"-d{seconds}s"], dict(os.environ), base + path
    if ids is not None:
        script = VAR / "random_ids.lua"
        script.write_text(RANDOM_IDS_LUA, encoding="utf-8")
        env.update(BENCH_IDS=str(ids), BENCH_PREFIX=path, BENCH_SUFFIX="")
        cmd += ["-s", str(script)]
        url = base
    s0, p0 = server_cpu_s(base), postgres_cpu_s(conn)
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True, env=env).stdout
    s1, p1 = server_cpu_s(base), postgres_cpu_s(conn)
    n = int(re.search(r"(\d+) requests in", out).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return 1000 * (s1 - s0) / n, 1000 * (p1 - p0) / n, rps


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True, help="the commit to compare with (e.g. a tag or a hash)")
    ap.add_argument("--seconds", type=int, default=6)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--rows", default="", help="only the rows whose title contains this text (e.g. 'by id')")
    args = ap.parse_args()
    url = database_url()
    with psycopg.connect(url, autocommit=True) as conn:
        ids = [str(r[0]) for r in conn.execute("SELECT id FROM components ORDER BY random() LIMIT 20000")]
        if len(ids) < 1000:
            sys.exit("load the demo district first: citygrid demo load")
        ids_file = VAR / "component_ids.txt"
        VAR.mkdir(parents=True, exist_ok=True)
        ids_file.write_text("\n".join(ids) + "\n", encoding="utf-8")
        z, x, y = tile15()
        bbox = ",".join(f"{v:.6f}" for v in BBOX)
        rows = [("one component by id", "/ogc/collections/components/items/", ids_file),
                ("components items, limit=100", "/ogc/collections/components/items?limit=100", None),
                ("components items, bbox ~2 km², limit=1000",
                 f"/ogc/collections/components/items?limit=1000&bbox={bbox}", None),
                ("unit grids, limit=500", "/ogc/collections/unit_grids/items?limit=500", None),
                ("components MVT tile, z=15", f"/ogc/collections/components/tiles/WebMercatorQuad/{z}/{y}/{x}", None)]
        rows = [r for r in rows if args.rows in r[0]]
        base_root = checkout(args.base)
        figures: dict[tuple[str, str], list[tuple[float, float, float]]] = {}
        with server(url, root=base_root) as old, server(url) as new:
            print(f"load average at start: {load_average()}; {args.rounds} rounds of wrk -t1 -c4 -d{args.seconds}s")
            for _ in range(args.rounds):
                for title, path, ids_path in rows:
                    for who, base in ((args.base, old), ("this checkout", new)):
                        figures.setdefault((title, who), []).append(run(base, path, args.seconds, ids_path, conn))
        print(f"{'row':44s} {'server':>14s} ms CPU/request {'PostgreSQL':>10s}   req/s (noisy)")
        for title, _, _ in rows:
            for who in (args.base, "this checkout"):
                got = figures[(title, who)]
                srv = sum(f[0] for f in got) / len(got)
                pg = sum(f[1] for f in got) / len(got)
                rps = sum(f[2] for f in got) / len(got)
                print(f"{title:44s} {who[:14]:>14s} {srv:6.2f} {pg:17.2f} {rps:10,.0f}")
        print(f"load average at end: {load_average()}")


if __name__ == "__main__":
    main()
