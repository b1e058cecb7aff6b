"""The durable fix stream: HTTP ingest appends validated fixes, fence workers consume them per partition.

Layout in Redis (prefix `citygrid` by default):

- `{prefix}:fixes:{p}` — one stream per vehicle partition p (crc32(vehicle id) mod `stream_partitions`),
  consumer group `fence`, consumer name `owner`: whichever worker holds the partition's lease reads as
  that one consumer, so entries a killed worker read but never acknowledged are simply its pending list,
  read again (id 0) by the next owner before any new entry — per-vehicle time order survives a takeover.
- An entry is a packed sub-batch: vehicle ids (JSON) and numpy columns (µs timestamps, storage lon/lat,
  speed, heading) as raw bytes, plus `at` (wall time of the append, for latency figures).
- `{prefix}:alarms:{p}` — alarm events of partition p, the stream id being `{event_id}-0`: ids increase
  per partition (one owner at a time, a database sequence), so a vehicle's alarms are in order on it, and a
  re-publication of the same event is refused by Redis (ids must grow): exactly once on the stream.
- `{prefix}:epoch` — a random identity of this stream store, so that offsets recorded in PostgreSQL for
  one Redis never apply to another (a fresh Redis restarts entry ids).

No FastAPI here: the positions router calls `enqueue` in broker mode.
"""

from __future__ import annotations

import threading
import time
import uuid
import zlib
from collections import Counter
from typing import Any

import numpy as np
import orjson
import psycopg
import redis

from gis.settings import get_settings
from gis.tracks import ingest
from gis.tracks.ingest import MAX_ERRORS_LISTED, Batch

GROUP = "fence"
CONSUMER = "owner"

_clients: dict[str, redis.Redis] = {}
_clients_lock = threading.Lock()


def client(url: str | None = None) -> redis.Redis:
    """One thread-safe client (connection pool) per Redis URL and process."""
    url = url or get_settings().redis_url
    if not url:
        raise RuntimeError("no redis_url configured (CITYGRID_REDIS_URL)")
    with _clients_lock:
        c = _clients.get(url)
        if c is None:
            c = _clients[url] = redis.Redis.from_url(url, health_check_interval=30)
        return c


def fixes_key(p: int, prefix: str | None = None) -> str:
    return f"{prefix or get_settings().stream_prefix}:fixes:{p}"


def alarms_key(p: int, prefix: str | None = None) -> str:
    return f"{prefix or get_settings().stream_prefix}:alarms:{p}"


def partition_of(vehicle_id: str, partitions: int) -> int:
    """Stable across processes and machines (unlike Python's hash): crc32 of the UTF-8 id."""
    return zlib.crc32(vehicle_id.encode()) % partitions


def epoch(r: redis.Redis, prefix: str | None = None) -> str:
    key = f"{prefix or get_settings().stream_prefix}:epoch"
    r.set(key, uuid.uuid4().hex, nx=True)
    return r.get(key).decode()


def pack(b: Batch, idx: np.ndarray) -> dict[str, bytes]:
    return {
        "v": orjson.dumps([b.vid[i] for i in idx.tolist()]),
        "t": b.ts_us[idx].astype("<i8").tobytes(),
        "x": b.lon[idx].astype("<f8").tobytes(),
        "y": b.lat[idx].astype("<f8").tobytes(),
        "s": b.speed[idx].astype("<f8").tobytes(),
        "h": b.heading[idx].astype("<f8").tobytes(),
        "at": repr(time.time()).encode(),
    }


def unpack(entries: list[dict[bytes, bytes]]) -> Batch:
    """Several entries of one partition as one batch (in stream order), ready for `ingest.ingest_batch`."""
    vid: list[str] = []
    for e in entries:
        vid.extend(orjson.loads(e[b"v"]))
    n = len(vid)
    b = Batch(n, reason=[None] * n, detail=[None] * n)
    b.vid = vid
    b.ts_us = np.concatenate([np.frombuffer(e[b"t"], dtype="<i8") for e in entries]) if entries else b.ts_us
    for name, key in (("lon", b"x"), ("lat", b"y"), ("speed", b"s"), ("heading", b"h")):
        if entries:
            setattr(b, name, np.concatenate([np.frombuffer(e[key], dtype="<f8") for e in entries]).copy())
    return b


def enqueue(conn: psycopg.Connection, body: bytes | list[Any], *, allowed: set[str] | None = None,
            default_crs: str | None = None, r: redis.Redis | None = None) -> dict[str, Any]:
    """Broker-mode ingest: validate what needs no stored fixes, append each partition's share to its
    stream, answer once Redis has acknowledged (fsynced, with the project's `appendfsync always`).

    The answer has the same fields as the direct mode's; `accepted` counts fixes queued (durable in the
    stream). Checks against stored fixes — a duplicate of an earlier request, an impossible speed — happen
    in the fence worker, in per-vehicle order; such fixes are then dropped there and counted in its log."""
    settings = get_settings()
    r = r or client()
    b = ingest.parse(body, default_crs)
    ingest.validate_static(conn, b, allowed)
    ok = np.fromiter((x is None for x in b.reason), dtype=bool, count=b.n)
    idx = np.nonzero(ok)[0]
    if idx.size:
        # per vehicle, not per fix (validate_static numbered the vehicles): 200 crc32 instead of 10,000
        of_vehicle = np.array([partition_of(v, settings.stream_partitions) for v in b.names], dtype=np.int64)
        parts = of_vehicle[b.code[idx]]
        pipe = r.pipeline(transaction=False)
        for p in np.unique(parts).tolist():
            pipe.xadd(fixes_key(p), pack(b, idx[parts == p]))
        pipe.execute()
    reasons = Counter(x for x in b.reason if x is not None)
    errors = [{"index": i, "vehicle_id": b.vid[i] or None, "reason": x, "detail": b.detail[i]}
              for i, x in enumerate(b.reason) if x is not None][:MAX_ERRORS_LISTED]
    return {
        "received": b.n, "accepted": int(idx.size), "rejected": b.n - int(idx.size),
        "duplicates": reasons.get("duplicate", 0), "reasons": dict(reasons), "errors": errors,
        "queued": int(idx.size), "alarms": 0, "event_ids": [],
    }
