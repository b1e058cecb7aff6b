"""Which durable broker carries the ingest: Redis Streams or NATS JetStream, measured the way ingest uses it.

Both are started on free loopback ports with fsync on every acknowledged write where the broker can (Redis: AOF
with `appendfsync always`; NATS: Debian's nats-server 2.9 has no `sync_interval` — added in 2.10 — so
JetStream file storage acknowledges before fsync, syncing every two minutes: measured anyway), then the same payload
(a partition's share of a 10,000-fix HTTP batch, ~40 KB of packed columns) is appended N times, each
append waiting for the broker's acknowledgement, and read back by a consumer group / durable pull
consumer with acknowledgement. Printed: appends/s and fixes/s for each, both directions.

    .venv/bin/python bench/bench_broker_choice.py [--n 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gis.stream.redis_server import RedisServer  # noqa: E402

FIXES_PER_ENTRY = 1250
PAYLOAD = os.urandom(40_000)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_run(n: int) -> tuple[float, float]:
    import redis

    with RedisServer() as srv:
        r = redis.Redis.from_url(srv.url)
        r.xgroup_create("bench", "g", id="0", mkstream=True)
        t = time.perf_counter()
        for _ in range(n):
            r.xadd("bench", {"d": PAYLOAD})
        put = n / (time.perf_counter() - t)
        t = time.perf_counter()
        got = 0
        while got < n:
            res = r.xreadgroup("g", "c", {"bench": ">"}, count=50)
            ids = [i for _, entries in res for i, _ in entries]
            r.xack("bench", "g", *ids)
            got += len(ids)
        get = n / (time.perf_counter() - t)
        r.close()
    return put, get


async def _quiet(exc: Exception) -> None:
    """nats-py logs every refused connection while the server starts; the loop below retries."""


def nats_run(n: int) -> tuple[float, float] | None:
    exe = shutil.which("nats-server")
    if exe is None:
        return None
    import nats

    port = free_port()
    store = tempfile.mkdtemp(prefix="citygrid-nats-")
    conf = Path(store) / "nats.conf"
    conf.write_text(f'listen: "127.0.0.1:{port}"\njetstream {{ store_dir: "{store}/js" }}\n')
    proc = subprocess.Popen([exe, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    async def go() -> tuple[float, float]:
        for _ in range(50):
            try:
                nc = await nats.connect(f"nats://127.0.0.1:{port}", allow_reconnect=False, error_cb=_quiet)
                break
            except Exception:
                await asyncio.sleep(0.1)
        else:
            raise RuntimeError("nats-server did not start")
        js = nc.jetstream()
        await js.add_stream(name="bench", subjects=["bench.*"])
        t = time.perf_counter()
        for _ in range(n):
            await js.publish("bench.0", PAYLOAD)
        put = n / (time.perf_counter() - t)
        sub = await js.pull_subscribe("bench.0", durable="g")
        t = time.perf_counter()
        got = 0
        while got < n:
            msgs = await sub.fetch(50, timeout=5)
            for m in msgs:
                await m.ack()
            got += len(msgs)
        get = n / (time.perf_counter() - t)
        await nc.close()
        return put, get

    try:
        return asyncio.run(go())
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(store, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    args = ap.parse_args()
    print(f"{os.cpu_count()} cores, load {Path('/proc/loadavg').read_text().split()[0]}; "
          f"{args.n} appends of {len(PAYLOAD) // 1000} KB ({FIXES_PER_ENTRY} fixes each), fsync per append")
    put, get = redis_run(args.n)
    print(f"redis streams : append {put:,.0f}/s = {put * FIXES_PER_ENTRY:,.0f} fixes/s; "
          f"consume+ack {get:,.0f}/s")
    res = nats_run(args.n)
    if res is None:
        print("nats jetstream: nats-server not installed")
    else:
        put, get = res
        print(f"nats jetstream: append {put:,.0f}/s = {put * FIXES_PER_ENTRY:,.0f} fixes/s; "
              f"consume+ack {get:,.0f}/s")


if __name__ == "__main__":
    main()
