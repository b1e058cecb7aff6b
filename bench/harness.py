"""What the benchmarks share: free ports, a real uvicorn server in a subprocess, throwaway databases.

Benchmarks print figures; they are not tests. Each leaves the main database as it found it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg

from gis.db.databases import create_database, drop_database

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load_average() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


@contextmanager
def server(database_url: str, workers: int = 1, env: dict[str, str] | None = None,
           root: Path = ROOT) -> Iterator[str]:
    """`citygrid serve` equivalent on a free port; yields the base URL once /healthz answers.
    `root`: the checkout whose code serves (another commit's worktree, to compare)."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--workers", str(workers), "--log-level", "warning", "--no-access-log"],
        cwd=root, env={**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": str(root), **(env or {})},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120  # a busy machine's start-up (index warm-up)
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("server did not start")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def process_cpu_s(pid: int | str) -> float:
    """CPU seconds (user + system) a process has used so far; 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_cpu_s(base: str) -> float:
    """CPU seconds (user + system) used so far by the server answering at `base` (a `server` above):
    divided by the requests it answered, the cost of one request whatever else shares the machine."""
    port = base.rsplit(":", 1)[1]
    total = 0.0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            args = (proc / "cmdline").read_bytes().split(b"\0")
            if b"--port" in args and args[args.index(b"--port") + 1] == port.encode():
                total += process_cpu_s(proc.name)
        except (OSError, IndexError):
            continue
    return total


@contextmanager
def throwaway_database(server_url: str, template: str | None = None) -> Iterator[str]:
    """A fresh database on the same server (optionally a copy of `template`), dropped afterwards."""
    admin, url = create_database(server_url, template, prefix="citygrid_bench")
    try:
        yield url
    finally:
        drop_database(admin, url)


#: The benches' 1,000,000 cases end here (2023-11-14, UTC), spread over the years before.
CASES_END = 1_700_000_000


def load_cases(conn: psycopg.Connection, x: Any, y: Any, rng: Any, *, sources: tuple[list[str], list[float] | None],
               statuses: tuple[list[str], list[float] | None] | None = None, unit_grids: list[str] | None = None,
               weights: bool = False, h3: bool = False, years: int = 3) -> int:
    """The many-case builder the benchmarks share (bench_stats, bench_layers): one case per (x, y), a random
    event category, source (and status) drawn with the given probabilities, a time uniform over `years`
    years before CASES_END, optionally a unit grid code, a gamma weight and the H3 cell, COPYed through a
    staging table. The per-row grid trigger is off during the load (the benches assign grids themselves).
    Returns the number of cases loaded."""
    import numpy as np

    n = len(x)
    cats = conn.execute("SELECT major, minor FROM categories WHERE kind = 'event'").fetchall()
    cat = rng.integers(0, len(cats), n)

    def pick(values: list[str], p: list[float] | None) -> Any:
        return np.array(values)[rng.choice(len(values), n, p=p)]

    src = pick(*sources)
    status = pick(*statuses) if statuses else np.full(n, "open")
    grid = np.array(unit_grids)[rng.integers(0, len(unit_grids), n)] if unit_grids else np.full(n, "\\N")
    secs = rng.integers(0, years * 365 * 86400, n) + CASES_END - years * 365 * 86400
    weight = np.round(rng.gamma(2.0, 1.0, n), 3) if weights else np.ones(n)
    x, y = np.round(np.asarray(x, dtype=float), 7), np.round(np.asarray(y, dtype=float), 7)
    if h3:
        from gis.h3cells import latlng_cells

        cell = [str(c) for c in latlng_cells(y, x).tolist()]
    else:
        cell = ["\\N"] * n
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS case_stage (major text, minor text, source text, status text, "
                 "grid text, ts bigint, w float8, x float8, y float8, h bigint)")
    conn.execute("TRUNCATE case_stage")
    with conn.cursor() as cur, cur.copy("COPY case_stage FROM STDIN") as cp:
        for start in range(0, n, 100_000):
            cp.write("".join(
                f"{cats[c][0]}\t{cats[c][1]}\t{s}\t{st}\t{g}\t{t}\t{w}\t{a:.7f}\t{b:.7f}\t{h}\n"
                for c, s, st, g, t, w, a, b, h in zip(
                    cat[start:start + 100_000].tolist(), src[start:start + 100_000].tolist(),
                    status[start:start + 100_000].tolist(), grid[start:start + 100_000].tolist(),
                    secs[start:start + 100_000].tolist(), weight[start:start + 100_000].tolist(),
                    x[start:start + 100_000].tolist(), y[start:start + 100_000].tolist(), cell[start:start + 100_000],
                    strict=True)))
    conn.execute("ALTER TABLE cases DISABLE TRIGGER assign_unit_grid")
    try:
        conn.execute("INSERT INTO cases (major, minor, source, status, unit_grid_code, reported_at, weight, geom, "
                     "h3_cell) SELECT major, minor, source, status, grid, to_timestamp(ts), w, "
                     "ST_SetSRID(ST_MakePoint(x, y), 4490), h FROM case_stage")
    finally:
        conn.execute("ALTER TABLE cases ENABLE TRIGGER assign_unit_grid")
    conn.execute("DROP TABLE case_stage")
    return n
