"""Logging in (issue 17): POST /api/auth/login latency with the configured argon2id cost, sequential and
under concurrency, and what a session costs an authenticated request compared with an API key.

    .venv/bin/python bench/bench_login.py [--samples 60] [--concurrency 4]

Runs on a throwaway database (created and migrated here, dropped afterwards) with a real uvicorn server in
a subprocess, full middleware on (the login's audit entry included). Printed:

- argon2id verify alone, in this process (the floor of a login);
- login p50/p95/max, one at a time (each a distinct account, so no lock-out interferes);
- login p95 and logins/s with `--concurrency` clients at once (argon2 holds a core per login: on two
  cores, queued logins wait for each other);
- GET /api/auth/whoami with a session cookie vs an API key (p50/p95): the session's extra look-up.

Goal (issue 17): login p95 <= 300 ms, argon2 cost included. Figures are noisy: the server, PostgreSQL and
this client share the machine's two cores with whatever else runs (the load average is printed).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.harness import load_average, server, throwaway_database  # noqa: E402
from gis.db import migrate  # noqa: E402
from gis.db.engine import database_url  # noqa: E402
from gis.security import users  # noqa: E402
from gis.security.keys import create_key  # noqa: E402
from gis.settings import get_settings  # noqa: E402

PASSWORD = "Bench-login-2026"


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


_clients = threading.local()


def login(base: str, name: str) -> float:
    """One login on this thread's kept-alive client (a new httpx client per call would add its own set-up,
    tens of milliseconds, to every figure); without cookies, as a fresh browser."""
    client = getattr(_clients, "client", None)
    if client is None:
        client = _clients.client = httpx.Client(base_url=base, timeout=60)
    client.cookies.clear()
    t = time.perf_counter()
    r = client.post("/api/auth/login", json={"username": name, "password": PASSWORD})
    elapsed = (time.perf_counter() - t) * 1000
    if r.status_code != 200:
        raise RuntimeError(f"login of {name} failed: {r.status_code} {r.text}")
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=60)
    ap.add_argument("--concurrency", type=int, default=4)
    args = ap.parse_args()
    s = get_settings()
    print(f"argon2id t={s.argon2_time_cost} m={s.argon2_memory_kib} KiB p={s.argon2_parallelism}; "
          f"load average {load_average()}")

    hasher = users.hasher()
    stored = hasher.hash(PASSWORD)
    verify = []
    for _ in range(20):
        t = time.perf_counter()
        hasher.verify(stored, PASSWORD)
        verify.append((time.perf_counter() - t) * 1000)
    print(f"argon2id verify alone:      p50 {statistics.median(verify):6.1f} ms  p95 {pct(verify, 95):6.1f} ms")

    with throwaway_database(database_url()) as url:
        migrate.upgrade(url)
        n = args.samples * 2 + 1
        with psycopg.connect(url, autocommit=True) as conn:
            # Same hash for every account (hashing n passwords here would only slow the set-up down).
            conn.execute(
                "INSERT INTO users (name, role, source, password_hash) "
                "SELECT 'bench-' || i, 'planner', 'local', %s FROM generate_series(1, %s) i", (stored, n))
            _, key = create_key(conn, "bench-login", "viewer")
        with server(url) as base:
            login(base, "bench-1")  # warm-up: first connection, imports
            sequential = [login(base, f"bench-{i}") for i in range(2, args.samples + 2)]
            print(f"login, one at a time:       p50 {statistics.median(sequential):6.1f} ms  "
                  f"p95 {pct(sequential, 95):6.1f} ms  max {max(sequential):6.1f} ms  (n={len(sequential)})")
            names = [f"bench-{i}" for i in range(args.samples + 2, n + 1)]
            t = time.perf_counter()
            with ThreadPoolExecutor(args.concurrency) as pool:
                concurrent = list(pool.map(lambda name: login(base, name), names))
            wall = time.perf_counter() - t
            print(f"login, {args.concurrency} at once:          p50 {statistics.median(concurrent):6.1f} ms  "
                  f"p95 {pct(concurrent, 95):6.1f} ms  {len(names) / wall:5.1f} logins/s")

            with httpx.Client(base_url=base, timeout=30) as browser:
                browser.post("/api/auth/login", json={"username": "bench-1", "password": PASSWORD})
                for label, client, headers in (("session cookie", browser, {}),
                                               ("API key", httpx.Client(base_url=base), {"X-API-Key": key})):
                    times = []
                    for _ in range(200):
                        t = time.perf_counter()
                        assert client.get("/api/auth/whoami", headers=headers).status_code == 200
                        times.append((time.perf_counter() - t) * 1000)
                    print(f"whoami with {label + ':':16} p50 {statistics.median(times):6.2f} ms  "
                          f"p95 {pct(times, 95):6.2f} ms")
    print(f"goal: login p95 <= 300 ms; load average now {load_average()}")


if __name__ == "__main__":
    main()
