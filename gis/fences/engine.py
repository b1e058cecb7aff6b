"""The fence engine of this process: fences in memory, per-vehicle state, evaluation inside the ingest
transaction, alarm writes.

Concurrency and restarts: evaluation is serialised per process (a lock) and per vehicle across
processes (a transaction-scoped advisory lock). Each vehicle's state is valid only while the sequence
number in `fence_vehicle_state` is the one this process wrote; otherwise (restart, another worker, a
reset of the data) the state is rebuilt by replaying recent stored fixes, seeded with the alarms that
were open then. A late fix (older than the vehicle's last evaluated one) triggers the same replay from
before its time, so fixes are always judged in time order; alarm writes are idempotent upserts and a
replay retracts the alarms it no longer produces.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import psycopg

from gis.fences import alarms as alarm_store
from gis.fences import store
from gis.fences.evaluator import Fixes, VehicleInfo, evaluate, seed
from gis.fences.fenceset import FenceSet
from gis.fences.state import VehicleState

MIN_LOOKBACK_S = 2 * 3600.0
# Runs the positions INSERT while this thread evaluates (one evaluation at a time per process: the lock).
_STORE_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="fence-store")


class Engine:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.fences = FenceSet()
        self.states: dict[str, VehicleState] = {}
        self._db: str | None = None

    def reset(self) -> None:
        with self._lock:
            self.fences = FenceSet()
            self.states.clear()

    def _refresh(self, conn: psycopg.Connection) -> None:
        db = conn.info.dbname
        if db != self._db:  # another database (tests): nothing in memory applies
            self.fences, self.states, self._db = FenceSet(), {}, db
        version = store.version(conn)
        if version != self.fences.version:
            self.fences = FenceSet.build(store.load_rows(conn), version)

    def lookback_s(self) -> float:
        """How far back a rebuild replays: long enough for debounce, stays and the longest stop window."""
        longest = MIN_LOOKBACK_S
        for f in self.fences.fences:
            if f.dwell_limit_s:
                longest = max(longest, 1.5 * f.dwell_limit_s)
            for a, b in f.windows:
                longest = max(longest, ((b - a) % 1440 or 1440) * 60.0 + 600.0)
        return longest

    def evaluate_stored(self, conn: psycopg.Connection, fixes: dict[str, Fixes],
                        store: Callable[[], dict[str, Fixes] | None] | None = None) -> list[dict[str, Any]]:
        """Evaluates fixes stored in the caller's open transaction; returns the alarm events.

        `store`, when given, stores the fixes and returns None when every one of them was new, else the
        fixes actually new. It runs here, once the vehicles' locks are held, so that the evaluation can
        overlap it: while the database inserts (a worker thread waiting on the socket), the fixes are
        evaluated against the in-memory states, provided no vehicle needs a replay from stored fixes. If
        some fixes turn out to have been stored already, that speculative work is thrown away (the
        vehicles' states are dropped, so they are rebuilt from the database) and the fixes actually new
        are evaluated the ordinary way. The outcome is the same as storing first, then evaluating."""
        if not fixes:
            if store is not None:
                store()
            return []
        vids = sorted(fixes)
        with self._lock:
            self._refresh(conn)
            conn.execute(
                "SELECT pg_advisory_xact_lock(h) FROM (SELECT DISTINCT hashtext('citygrid.fence:' || v) AS h "
                "FROM unnest(%s::text[]) v) s ORDER BY h", (vids,))
            info = {r[0]: r[1:] for r in conn.execute(
                """SELECT v.id, v.vehicle_group, v.signal_timeout_s, coalesce(s.seq, 0),
                          extract(epoch FROM s.last_ts)::float8
                   FROM vehicles v LEFT JOIN fence_vehicle_state s ON s.vehicle_id = v.id
                   WHERE v.id = ANY(%s)""", (vids,)).fetchall()}
            try:
                if store is not None:
                    planned = self._plan(conn, fixes, info, replay=False)
                    if planned is not None:
                        pending = _STORE_POOL.submit(store)
                        try:
                            touched = evaluate(self.fences, planned[0])
                        finally:
                            actual = pending.result()
                        if actual is None:
                            return self._finish(conn, info, planned[0], {}, touched)
                        for vid in vids:   # some were stored before: redo from the database
                            self.states.pop(vid, None)
                    else:
                        actual = store()
                    if actual is not None:
                        fixes = actual
                    if not fixes:
                        return []
                items, replays = self._plan(conn, fixes, info, replay=True)
                touched = evaluate(self.fences, items)
                return self._finish(conn, info, items, replays, touched)
            except BaseException:
                for vid in vids:   # states may be half-advanced: rebuild them next time
                    self.states.pop(vid, None)
                raise

    def _plan(self, conn: psycopg.Connection, fixes: dict[str, Fixes], info: dict[str, tuple[Any, ...]],
              replay: bool) -> tuple[list[tuple[VehicleState, VehicleInfo, Fixes]], dict[str, float]] | None:
        """What to evaluate per vehicle: its in-memory state and the new fixes, or (a restart, another
        worker, a late fix) a state rebuilt from stored fixes. Without `replay`: None if any needs one."""
        items: list[tuple[VehicleState, VehicleInfo, Fixes]] = []
        replays: dict[str, float] = {}
        lookback = None
        for vid in sorted(fixes):
            if vid not in info:
                continue
            group, signal, db_seq, db_last = info[vid]
            vinfo = VehicleInfo(group, signal)
            fx = fixes[vid]
            st = self.states.get(vid)
            if st is not None and st.seq != db_seq:
                st = None
            if st is None and db_seq == 0:
                st = VehicleState(vid)
            if st is not None and (st.last_ts is None or fx.ts[0] > st.last_ts):
                items.append((st, vinfo, fx))
                continue
            if not replay:
                return None
            lookback = self.lookback_s() if lookback is None else lookback
            since = min(float(fx.ts[0]), db_last if db_last is not None else float(fx.ts[0])) - lookback
            st = VehicleState(vid)
            seed(st, alarm_store.open_at(conn, vid, since))
            replays[vid] = since
            items.append((st, vinfo, load_fixes(conn, vid, since)))
        return items, replays

    def _finish(self, conn: psycopg.Connection, info: dict[str, tuple[Any, ...]],
                items: list[tuple[VehicleState, VehicleInfo, Fixes]], replays: dict[str, float],
                touched: dict[str, Any]) -> list[dict[str, Any]]:
        """Writes the alarms touched, retracts what a replay no longer produces, records the states."""
        for st, _, _ in items:
            if st.vehicle_id in replays:
                recs = touched.setdefault(st.vehicle_id, {})
                for rec in st.open_alarms():
                    recs[rec.key] = rec
        events = alarm_store.write(conn, touched)
        for vid, since in replays.items():
            events += alarm_store.retract(conn, vid, since, set(touched.get(vid, {})))
        seqs = []
        for st, _, _ in items:
            st.seq = int(info[st.vehicle_id][2]) + 1
            seqs.append((st.vehicle_id, st.seq, st.last_ts))
            self.states[st.vehicle_id] = st
        if seqs:
            conn.execute(
                """INSERT INTO fence_vehicle_state (vehicle_id, seq, last_ts, updated_at)
                   SELECT v, s, to_timestamp(t), now()
                   FROM unnest(%s::text[], %s::bigint[], %s::float8[]) AS u(v, s, t)
                   ON CONFLICT (vehicle_id) DO UPDATE
                   SET seq = EXCLUDED.seq, last_ts = EXCLUDED.last_ts, updated_at = now()""",
                ([s[0] for s in seqs], [s[1] for s in seqs], [s[2] for s in seqs]),
            )
        return events


def load_fixes(conn: psycopg.Connection, vehicle_id: str, since: float) -> Fixes:
    rows = conn.execute(
        """SELECT extract(epoch FROM ts)::float8, ST_X(geom), ST_Y(geom), speed_kmh
           FROM positions WHERE vehicle_id = %s AND ts >= to_timestamp(%s) ORDER BY ts""",
        (vehicle_id, since),
    ).fetchall()
    if not rows:
        z = np.zeros(0)
        return Fixes(z, z, z, z)
    arr = np.array([(r[0], r[1], r[2], np.nan if r[3] is None else r[3]) for r in rows], dtype=np.float64)
    return Fixes(arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3])


engine = Engine()
