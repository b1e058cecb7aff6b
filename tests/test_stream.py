"""Broker mode (issue 18): fixes through the durable Redis stream, fence workers partitioned by vehicle.

The same replay (12 vehicles, an area with a speed limit, a forbidden square, trips that leave and enter
both) is evaluated in direct mode and through the broker; the alarms must be the same. A fence worker
killed with SIGKILL mid-replay loses and duplicates nothing: every fix stored once, the same alarms, every
alarm event once on the alarm streams. A worker that dies between commit and acknowledgement leaves
entries the next owner recognises as done.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest
import redis
from fence_kit import add_vehicles, base_time, fence, fix, ll, square

from gis.fences.engine import engine
from gis.stream import fixstream
from gis.stream.redis_server import RedisServer
from gis.stream.worker import FenceWorker
from gis.tracks import ingest

ROOT = Path(__file__).resolve().parent.parent
VEHICLES = [f"s{i:02d}" for i in range(12)]
RESET = "TRUNCATE positions, alarms, alarm_events, fence_vehicle_state, fence_stream_offsets"


def replay(fixes_per_vehicle: int, batch: int, seed: int = 18) -> list[list[dict[str, Any]]]:
    """Vehicles drive east-west through the area (±300 m) well beyond it (to ±600 m), now and then linger
    in the forbidden square at 110–190 m, and every third one speeds (58 km/h, limit 45) on some legs."""
    rnd = random.Random(seed)
    t0 = base_time(hours_ago=4)
    rows = []
    for k, v in enumerate(VEHICLES):
        x, direction, linger, fast = rnd.uniform(-550, 550), rnd.choice((-1, 1)), 0, k % 3 == 0
        for i in range(fixes_per_vehicle):
            if linger:
                step, linger = rnd.uniform(0, 3), linger - 1
            else:
                step = 80.0 if fast else rnd.uniform(25, 40)
                if 110 < x < 190 and rnd.random() < 0.3:
                    linger = 10
            if abs(x + direction * step) > 600:
                direction, fast = -direction, k % 3 == 0 and rnd.random() < 0.5
            x += direction * step
            t = t0 + timedelta(seconds=5 * i + k * 0.1)
            rows.append((t, fix(v, t, x, rnd.uniform(-8, 8), speed_kmh=round(step / 5 * 3.6, 1))))
    rows.sort(key=lambda r: r[0])
    fixes = [r[1] for r in rows]
    return [fixes[a:a + batch] for a in range(0, len(fixes), batch)]


def alarm_set(db: psycopg.Connection) -> set[tuple[Any, ...]]:
    return set(db.execute(
        """SELECT vehicle_id, kind, fence_id, start, "end", round(max_value::numeric, 3) FROM alarms""").fetchall())


@pytest.fixture(scope="module")
def broker() -> Iterator[RedisServer]:
    with RedisServer() as srv:
        yield srv


@pytest.fixture
def world(clean_db: str, db: psycopg.Connection, http: Any, api_keys: dict[str, str],
          broker: RedisServer) -> Iterator[redis.Redis]:
    add_vehicles(db, *VEHICLES)
    fence(http, api_keys["planner"], square(300), kind="area", vehicles=VEHICLES, speed_limit_kmh=45)
    ring = [ll(110, -40), ll(190, -40), ll(190, 40), ll(110, 40), ll(110, -40)]
    fence(http, api_keys["planner"], {"type": "Polygon", "coordinates": [ring]}, kind="forbidden", vehicles=VEHICLES)
    db.execute(RESET)
    engine.reset()
    r = redis.Redis.from_url(broker.url)
    r.flushall()
    yield r
    r.close()


def _direct(db: psycopg.Connection, url: str, batches: list[list[dict[str, Any]]]) -> set[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        for body in batches:
            answer, _ = ingest.ingest(conn, body)
            assert answer["rejected"] == 0, answer["errors"][:3]
    got = alarm_set(db)
    db.execute(RESET)
    engine.reset()
    return got


def _enqueue(url: str, r: redis.Redis, batches: list[list[dict[str, Any]]], pause: float = 0.0) -> int:
    n = 0
    with psycopg.connect(url, autocommit=True) as conn:
        for body in batches:
            n += fixstream.enqueue(conn, body, r=r)["queued"]
            time.sleep(pause)
    return n


def _drained(r: redis.Redis, db: psycopg.Connection, expected: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stored = db.execute("SELECT count(*) FROM positions").fetchone()[0]
        left = sum(r.xlen(k) for k in r.scan_iter("citygrid:fixes:*"))
        if stored == expected and left == 0:
            return
        time.sleep(0.2)
    raise AssertionError(f"not drained: {stored} of {expected} stored, {left} entries left")


def _stream_events(r: redis.Redis) -> list[dict[str, Any]]:
    out = []
    for key in sorted(r.scan_iter("citygrid:alarms:*")):
        out.extend(orjson.loads(f[b"e"]) for _, f in r.xrange(key))
    return out


def test_broker_mode_gives_the_same_alarms_as_direct_mode(world, db, database_url, broker):
    batches = replay(120, 100)
    expected = _direct(db, database_url, batches)
    assert {a[1] for a in expected} >= {"out_of_area", "forbidden", "overspeed"}   # the replay raises all three
    n = _enqueue(database_url, world, batches)
    assert n == sum(len(b) for b in batches)
    stop = threading.Event()
    w = FenceWorker(redis_url=broker.url, db_url=database_url)
    th = threading.Thread(target=w.run, args=(stop,), daemon=True)
    th.start()
    try:
        _drained(world, db, n, timeout=60)
    finally:
        stop.set()
        th.join(10)
    assert alarm_set(db) == expected
    events = _stream_events(world)
    db_events = [r[0] for r in db.execute("SELECT id FROM alarm_events ORDER BY id").fetchall()]
    assert sorted(e["event_id"] for e in events) == db_events


def test_commit_without_ack_is_recognised_and_not_redone(world, db, database_url, broker):
    """A worker dies after its transaction committed but before XACK: the next owner finds the entries
    pending, sees them in its committed offset, acknowledges them without work and re-publishes nothing twice."""
    batches = replay(40, 60)
    n = _enqueue(database_url, world, batches)
    w1 = FenceWorker(redis_url=broker.url, db_url=database_url, name="dies")
    w1.maintain()
    real_pipeline = w1.r.pipeline

    class Crash(Exception):
        pass

    def xack(*args: Any, **kw: Any) -> Any:
        raise Crash

    def crashing_pipeline(*a: Any, **k: Any) -> Any:
        p = real_pipeline(*a, **k)
        p.xack = xack
        return p

    w1.r.pipeline = crashing_pipeline   # acknowledging "crashes" (with the events sent along, if any)
    with pytest.raises(Crash):
        while True:
            w1.step(block_ms=50)
    stored = db.execute("SELECT count(*) FROM positions").fetchone()[0]
    assert stored > 0
    events_before = _stream_events(world)
    w1.r.pipeline = real_pipeline
    for p in list(w1.owned):             # its leases expire (simulated: released without acknowledging)
        w1.r.delete(f"citygrid:lease:{p}")
    w1.r.zrem("citygrid:workers", "dies")
    stop = threading.Event()
    w2 = FenceWorker(redis_url=broker.url, db_url=database_url, name="heir")
    th = threading.Thread(target=w2.run, args=(stop,), daemon=True)
    th.start()
    try:
        _drained(world, db, n, timeout=60)
    finally:
        stop.set()
        th.join(10)
    assert w2.stats["skipped"] >= 1                    # the committed entry was not evaluated again
    assert w2.stats.get("rejected:duplicate", 0) == 0
    events = _stream_events(world)
    ids = [e["event_id"] for e in events]
    assert len(ids) == len(set(ids))
    assert {e["event_id"] for e in events_before} <= set(ids)
    assert sorted(ids) == [r[0] for r in db.execute("SELECT id FROM alarm_events ORDER BY id").fetchall()]


def _worker_proc(database_url: str, redis_url: str, name: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": database_url, "CITYGRID_REDIS_URL": redis_url,
           "CITYGRID_WORKER_LEASE_S": "1.5", "CITYGRID_WORKER_BATCH_ENTRIES": "2"}
    return subprocess.Popen([str(Path(sys.executable).with_name("citygrid")), "fence-worker", "--name", name],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_kill_9_of_a_worker_mid_replay_loses_and_duplicates_nothing(world, db, database_url, broker):
    batches = replay(150, 40)
    expected = _direct(db, database_url, batches)
    procs = [_worker_proc(database_url, broker.url, name) for name in ("wa", "wb")]
    try:
        deadline = time.monotonic() + 60
        while {(world.get(f"citygrid:lease:{p}") or b"").decode() for p in range(8)} != {"wa", "wb"}:
            assert time.monotonic() < deadline, "workers did not share the partitions"
            time.sleep(0.2)
        half = len(batches) // 2
        n = _enqueue(database_url, world, batches[:half], pause=0.02)
        while db.execute("SELECT count(*) FROM positions").fetchone()[0] < n // 4:
            assert time.monotonic() < deadline, "workers process nothing"
            time.sleep(0.05)
        os.kill(procs[0].pid, signal.SIGKILL)         # mid-replay: entries of its partitions are in flight
        procs[0].wait(10)
        n += _enqueue(database_url, world, batches[half:])
        _drained(world, db, n, timeout=90)
        owners = {(world.get(f"citygrid:lease:{p}") or b"").decode() for p in range(8)}
        assert owners == {"wb"}                          # the survivor took the dead worker's partitions
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                p.wait(20)
    assert n == sum(len(b) for b in batches)
    assert db.execute("SELECT count(*), count(DISTINCT (vehicle_id, ts)) FROM positions").fetchone() == (n, n)
    assert alarm_set(db) == expected
    events = _stream_events(world)
    ids = [e["event_id"] for e in events]
    assert len(ids) == len(set(ids))                     # no event twice on the stream
    assert sorted(ids) == [r[0] for r in db.execute("SELECT id FROM alarm_events ORDER BY id").fetchall()]
    per_vehicle: dict[str, list[int]] = {}
    for e in events:
        per_vehicle.setdefault(e["vehicle_id"], []).append(e["event_id"])
    assert all(v == sorted(v) for v in per_vehicle.values())   # in order per vehicle


def test_lock_out_and_rate_limit_are_shared_by_server_processes(database_url, api_keys, broker, clean_db, db):
    """Two server processes on one Redis (as two machines would be): failures counted by one lock the client
    out of the other; a key's token bucket is one for both. The broker-mode ingest answers `queued`."""
    from servers import uvicorn_subprocess

    r = redis.Redis.from_url(broker.url)
    r.flushall()
    add_vehicles(db, "s00")
    env = {"CITYGRID_REDIS_URL": broker.url, "CITYGRID_AUTH_MAX_FAILURES": "3", "CITYGRID_RATE_LIMIT_PER_KEY": "1",
           "CITYGRID_INGEST_MODE": "broker", "CITYGRID_WARM_INDEXES": "false"}
    good = {"X-API-Key": api_keys["inspector"]}
    with uvicorn_subprocess(database_url, env) as a, uvicorn_subprocess(database_url, env) as b:
        import httpx

        ans = httpx.post(a + "/api/positions", json=replay(3, 100)[0][:3], headers=good, timeout=30)
        assert ans.status_code == 200 and ans.json()["queued"] == ans.json()["accepted"] > 0, ans.text
        assert sum(r.xlen(k) for k in r.scan_iter("citygrid:fixes:*")) >= 1
        # One token left of the burst of 2 (the ingest spent one): the other process spends it, then refuses.
        assert httpx.get(b + "/api/auth/whoami", headers=good).status_code == 200
        assert httpx.get(a + "/api/auth/whoami", headers=good).status_code == 429
        for _ in range(3):
            assert httpx.get(a + "/api/auth/whoami", headers={"X-API-Key": "cg_wrong"}).status_code == 401
        r.delete(*r.scan_iter("citygrid:bucket:*"))
        locked = httpx.get(b + "/api/auth/whoami", headers={"X-API-Key": api_keys["viewer"]})
        assert locked.status_code == 429 and "too many failed attempts" in locked.json()["detail"]
    r.flushall()
    r.close()
