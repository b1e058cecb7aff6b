"""What the benchmarks share: free ports, a real uvicorn server in a subprocess, throwaway databases.

Benchmarks print figures; they are not tests. Each leaves the main database as it found it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load_average() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


@contextmanager
def server(database_url: str, workers: int = 1, env: dict[str, str] | None = None) -> Iterator[str]:
    """`citygrid serve` equivalent on a free port; yields the base URL once /healthz answers."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--workers", str(workers), "--log-level", "warning", "--no-access-log"],
        cwd=ROOT, env={**os.environ, "DATABASE_URL": database_url, **(env or {})},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
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
                fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError):
            continue
    return total


def create_database(server_url: str, template: str | None = None, prefix: str = "citygrid_bench") -> tuple[str, str]:
    """A fresh database on the same server (optionally a copy of `template`): (admin URL, its URL)."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = make_url(server_url).set(database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        clause = f' TEMPLATE "{template}"' if template else ""
        conn.execute(f'CREATE DATABASE "{name}"{clause}')
    return admin, make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_database(admin: str, url: str) -> None:
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


@contextmanager
def throwaway_database(server_url: str, template: str | None = None) -> Iterator[str]:
    """A fresh database on the same server (optionally a copy of `template`), dropped afterwards."""
    admin, url = create_database(server_url, template)
    try:
        yield url
    finally:
        drop_database(admin, url)
