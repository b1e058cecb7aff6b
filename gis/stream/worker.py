"""`citygrid fence-worker`: consumes the fix stream's partitions it holds a lease on, evaluates with the
existing engine (`gis.tracks.ingest.ingest_batch` → `gis.fences.engine`), stores fixes and alarms in
PostGIS, publishes alarm events on the partition's alarm stream.

Why it is exactly-once, and in order:

- One owner per partition at a time: a lease key in Redis (`SET NX PX`, renewed at a third of its life;
  a killed worker's lease simply expires). The owner reads as the group's single consumer `owner`, so the
  entries a dead owner read but never acknowledged are the pending list the next owner reads first.
- Entry → one PostgreSQL transaction holding the fixes (idempotent insert), the alarms (upserts on the
  alarm identity), the engine's per-vehicle watermark, and the partition's offset (last entry id and its
  alarm event ids). Only then XACK — sent with the next request to Redis (the events' XADD or the next
  read), not on its own. A crash between commit and XACK re-delivers entries the offset shows as done:
  they are acknowledged without work. A crash before commit leaves nothing behind.
- Alarm events are XADDed with id `{event_id}-0`: Redis refuses an id not above the stream's top, so a
  re-publication (the next owner re-publishes the last committed entry's events) is a no-op.
- The lease is checked inside the transaction before commit: a worker that stalled past its lease rolls
  back instead of committing behind the new owner (the engine's per-vehicle advisory locks and
  sequence numbers already keep the fence state itself consistent across processes).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import signal
import socket
import threading
import time
import uuid
from collections import Counter
from typing import Any

import orjson
import psycopg
import redis

from gis.db.engine import database_url
from gis.settings import get_settings
from gis.stream import fixstream
from gis.tracks import ingest

log = logging.getLogger(__name__)

_RENEW = """if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0"""
_RELEASE = """if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"""


class LeaseLost(RuntimeError):
    """The partition's lease passed to another worker before this one committed."""


def parse_partitions(spec: str | None, total: int) -> list[int]:
    """`"0-3,6"` → [0, 1, 2, 3, 6]; None or "all" → every partition."""
    if not spec or spec == "all":
        return list(range(total))
    out: set[int] = set()
    for part in spec.split(","):
        a, _, b = part.strip().partition("-")
        lo, hi = int(a), int(b or a)
        if not (0 <= lo <= hi < total):
            raise ValueError(f"partitions {part!r}: outside 0–{total - 1}")
        out.update(range(lo, hi + 1))
    return sorted(out)


def _sid(entry_id: bytes | str) -> tuple[int, int]:
    s = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    ms, _, seq = s.partition("-")
    return int(ms), int(seq or 0)


class FenceWorker:
    """One worker process's loop. `candidates` limits the partitions it may take (`--partitions`); among
    them it takes at most its fair share (partitions ÷ live workers) so that starting a second worker
    moves half the partitions to it, and a dead worker's share is taken over once its leases expire."""

    def __init__(self, *, redis_url: str | None = None, db_url: str | None = None,
                 candidates: list[int] | None = None, name: str | None = None) -> None:
        s = get_settings()
        self.total = s.stream_partitions
        self.prefix = s.stream_prefix
        self.lease_ms = int(s.worker_lease_s * 1000)
        self.batch_entries = s.worker_batch_entries
        self.r = redis.Redis.from_url(redis_url or s.redis_url or "")
        self.db_url = db_url or database_url()
        self.candidates = candidates if candidates is not None else list(range(self.total))
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.owned: set[int] = set()
        self.lost: set[int] = set()
        self._owned_lock = threading.Lock()
        self.recovering: set[int] = set()
        self.offsets: dict[int, tuple[int, int] | None] = {}
        self.stats: Counter[str] = Counter()
        self.epoch = fixstream.epoch(self.r, self.prefix)
        self._renew = self.r.register_script(_RENEW)
        self._release = self.r.register_script(_RELEASE)
        self._conn: psycopg.Connection | None = None
        self._next_maintain = 0.0
        #: (stream key, entry ids) committed but not yet acknowledged: sent with the next request to Redis
        #: (the alarm events' XADD or the next XREADGROUP), not in a round trip of their own.
        self._acks: list[tuple[str, list[bytes]]] = []

    # -- leases ---------------------------------------------------------------------------------
    def _lease_key(self, p: int) -> str:
        return f"{self.prefix}:lease:{p}"

    def keep_alive(self) -> None:
        """Heartbeat and renewal of the held leases. Runs in its own thread (`run`) as well as here, so that
        a batch that takes longer than a lease (a cold engine, 25,000 fences, a busy machine) does not lose
        its partitions — which would make the workers hand partitions back and forth, each rebuilding the
        vehicles' states from the database."""
        now = time.time()
        members = f"{self.prefix}:workers"
        self.r.zadd(members, {self.name: now + self.lease_ms / 1000})
        self.r.zremrangebyscore(members, "-inf", now)
        with self._owned_lock:
            held = sorted(self.owned)
        for p in held:
            if not self._renew(keys=[self._lease_key(p)], args=[self.name, self.lease_ms]):
                log.warning("fence worker %s: lost partition %d", self.name, p)
                self.lost.add(p)

    def maintain(self) -> None:
        """Heartbeat, renew held leases, release beyond the fair share, acquire free ones up to it."""
        self.keep_alive()
        for p in list(self.lost):
            self.lost.discard(p)
            self._drop(p)
        live = max(1, int(self.r.zcard(f"{self.prefix}:workers")))
        target = min(len(self.candidates), math.ceil(self.total / live))
        while len(self.owned) > target:
            p = max(self.owned)
            self._release(keys=[self._lease_key(p)], args=[self.name])
            self._drop(p)
        for p in self.candidates:
            if len(self.owned) >= target:
                break
            if p not in self.owned and self.r.set(self._lease_key(p), self.name, nx=True, px=self.lease_ms):
                self._acquire(p)
        self._next_maintain = time.monotonic() + self.lease_ms / 3000

    def _drop(self, p: int) -> None:
        with self._owned_lock:
            self.owned.discard(p)
        self.recovering.discard(p)
        self.offsets.pop(p, None)

    def _acquire(self, p: int) -> None:
        key = fixstream.fixes_key(p, self.prefix)
        try:
            self.r.xgroup_create(key, fixstream.GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        row = self.conn().execute(
            "SELECT entry_id, event_ids FROM fence_stream_offsets WHERE epoch = %s AND stream = %s",
            (self.epoch, key)).fetchone()
        self.offsets[p] = _sid(row[0]) if row else None
        if row and row[1]:   # the previous owner may have died between commit and publishing
            events = self.conn().execute(
                "SELECT id, op, payload FROM alarm_events WHERE id = ANY(%s) ORDER BY id", (row[1],)).fetchall()
            self.publish(p, [{"event_id": int(e[0]), "op": e[1], **e[2]} for e in events])
        with self._owned_lock:
            self.owned.add(p)
        self.recovering.add(p)
        log.info("fence worker %s: took partition %d (offset %s)", self.name, p, row[0] if row else None)

    def release_all(self) -> None:
        for p in sorted(self.owned):
            self._release(keys=[self._lease_key(p)], args=[self.name])
            self._drop(p)
        self.r.zrem(f"{self.prefix}:workers", self.name)

    def still_owner(self, p: int) -> bool:
        v = self.r.get(self._lease_key(p))
        return v is not None and v.decode() == self.name

    # -- processing -----------------------------------------------------------------------------
    def conn(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self.db_url, autocommit=True)
        return self._conn

    def step(self, block_ms: int = 200) -> int:
        """One read-and-process round; returns the number of entries handled."""
        if time.monotonic() >= self._next_maintain:
            self.maintain()
        if not self.owned:
            self.flush_acks()
            time.sleep(block_ms / 1000)
            return 0
        handled = 0
        for p in sorted(self.recovering):   # pending entries of a dead owner first, in stream order
            res = self._read({fixstream.fixes_key(p, self.prefix): "0"}, None)
            entries = res[0][1] if res else []
            if not entries:
                self.recovering.discard(p)
                continue
            handled += self.process(p, entries)
        live = [p for p in sorted(self.owned) if p not in self.recovering]
        if not live:
            return handled
        res = self._read({fixstream.fixes_key(p, self.prefix): ">" for p in live}, None if handled else block_ms)
        for key, entries in res or []:
            p = int(key.decode().rsplit(":", 1)[1])
            if p in self.owned and entries:
                handled += self.process(p, entries)
        return handled

    def _queue_acks(self, pipe: Any) -> int:
        """Adds XACK + XDEL of the committed entries to `pipe`; returns how many batches it added (they are
        dropped from the queue once the pipeline succeeded: on an error they are sent again later, which
        is harmless — acknowledging or deleting an entry twice does nothing)."""
        for key, ids in self._acks:
            pipe.xack(key, fixstream.GROUP, *ids)
            pipe.xdel(key, *ids)
        return len(self._acks)

    def _read(self, streams: dict[str, str], block: int | None) -> Any:
        """XREADGROUP, preceded in the same round trip by the queued acknowledgements. Redis fsyncs every
        write before replying (`appendfsync always`), XREADGROUP included (it moves entries to the pending
        list): one request instead of two saves the worker a wait for the disk per transaction."""
        pipe = self.r.pipeline(transaction=False)
        n = self._queue_acks(pipe)
        pipe.xreadgroup(fixstream.GROUP, fixstream.CONSUMER, streams, count=self.batch_entries, block=block)
        res = pipe.execute()[-1]
        del self._acks[:n]
        return res

    def flush_acks(self) -> None:
        if self._acks:
            pipe = self.r.pipeline(transaction=False)
            n = self._queue_acks(pipe)
            pipe.execute()
            del self._acks[:n]

    def process(self, p: int, entries: list[tuple[bytes, dict[bytes, bytes]]]) -> int:
        """Stores and evaluates the entries in one transaction with the offset; then queues their
        acknowledgement (sent with the alarm events, if any, else with the next read)."""
        key = fixstream.fixes_key(p, self.prefix)
        done = self.offsets.get(p)
        fresh = [(i, f) for i, f in entries if done is None or _sid(i) > done]
        self.stats["skipped"] += len(entries) - len(fresh)
        if fresh:
            last = fresh[-1][0].decode()
            batch = fixstream.unpack([f for _, f in fresh])

            def before_commit(conn: psycopg.Connection, events: list[dict[str, Any]]) -> None:
                conn.execute(
                    """INSERT INTO fence_stream_offsets (epoch, stream, entry_id, event_ids)
                       VALUES (%s, %s, %s, %s) ON CONFLICT (epoch, stream) DO UPDATE
                       SET entry_id = EXCLUDED.entry_id, event_ids = EXCLUDED.event_ids, updated_at = now()""",
                    (self.epoch, key, last, [e["event_id"] for e in events]))
                if not self.still_owner(p):
                    raise LeaseLost(f"partition {p}")

            try:
                answer, events = ingest.ingest_batch(self.conn(), batch, before_commit=before_commit)
            except LeaseLost:
                log.warning("fence worker %s: lease of partition %d lost before commit; rolled back", self.name, p)
                self._drop(p)
                return 0
            self.offsets[p] = _sid(last)
            self.stats["fixes"] += answer["accepted"]
            for reason, n in answer["reasons"].items():
                self.stats[f"rejected:{reason}"] += n
            self._acks.append((key, [i for i, _ in entries]))
            self.publish(p, events, at=min(float(f.get(b"at", b"0")) for _, f in fresh))
        else:
            self._acks.append((key, [i for i, _ in entries]))
        self.stats["entries"] += len(entries)
        return len(entries)

    def publish(self, p: int, events: list[dict[str, Any]], at: float | None = None) -> None:
        """XADD with the event id as stream id: in order, and a repeat is refused (exactly once). `at`: when
        the oldest fix of the transaction was appended to the fix stream (for end-to-end latency)."""
        if not events:
            return
        key = fixstream.alarms_key(p, self.prefix)
        pipe = self.r.pipeline(transaction=False)
        for e in sorted(events, key=lambda e: e["event_id"]):
            fields = {"e": orjson.dumps(e)} if at is None else {"e": orjson.dumps(e), "at": repr(at)}
            pipe.xadd(key, fields, id=f"{e['event_id']}-0", maxlen=100_000, approximate=True)
        n = self._queue_acks(pipe)   # after the events: one round trip, one fsync
        results = pipe.execute(raise_on_error=False)
        for res in results[:len(events)]:
            if isinstance(res, redis.ResponseError) and "equal or smaller" not in str(res):
                raise res
            self.stats["published" if not isinstance(res, Exception) else "republish_refused"] += 1
        for res in results[len(events):]:
            if isinstance(res, Exception):
                raise res
        del self._acks[:n]

    def run(self, stop: threading.Event) -> None:
        """Until `stop`: process; on a database or Redis error, back off and go on (entries stay pending)."""
        def beat() -> None:
            while not stop.wait(self.lease_ms / 3000):
                try:
                    self.keep_alive()
                except redis.RedisError as exc:
                    log.warning("fence worker %s: keep-alive: %s", self.name, exc)

        beater = threading.Thread(target=beat, daemon=True, name="fence-worker-lease")
        beater.start()
        try:
            while not stop.is_set():
                try:
                    self.step()
                except (psycopg.Error, redis.ConnectionError, redis.TimeoutError) as exc:
                    log.warning("fence worker %s: %s; retrying", self.name, exc)
                    if self._conn is not None:
                        self._conn.close()
                    self.recovering |= self.owned   # re-read what is pending
                    stop.wait(1.0)
        finally:
            with contextlib.suppress(redis.RedisError):
                self.flush_acks()
                self.release_all()
            if self._conn is not None:
                self._conn.close()


def main(partitions: str | None = None, name: str | None = None) -> None:
    """The CLI entry: runs until SIGTERM/SIGINT, then releases its leases for a quick hand-over."""
    s = get_settings()
    if not s.redis_url:
        raise SystemExit("fence-worker needs CITYGRID_REDIS_URL (the broker)")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    worker = FenceWorker(candidates=parse_partitions(partitions, s.stream_partitions), name=name)
    log.info("fence worker %s: partitions %s of %d", worker.name, partitions or "all", worker.total)
    worker.run(stop)
    log.info("fence worker %s: stopped %s", worker.name, dict(worker.stats))
