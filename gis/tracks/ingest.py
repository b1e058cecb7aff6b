"""GPS ingest: validate a batch of fixes, store them (one INSERT from unnested arrays, idempotent), evaluate them.

Each fix is `{vehicle_id, ts, lon, lat, speed_kmh?, heading?, crs?}`; `ts` is ISO 8601 with an offset
or `Z`. A fix is rejected with a reason (below) and never half-stored; the answer counts accepted and
rejected fixes with their reasons. A fix is acknowledged only once stored, in the same transaction
that evaluates it: an answer means stored and judged. A duplicate (same vehicle and timestamp as a
stored fix, or repeated in the batch) is stored and evaluated once and reported as `duplicate`.

Impossible speed compares a fix with its predecessor in time (the stored one before the batch, or the
previous accepted fix of the batch): the straight-line speed, after allowing for GPS error, above
`max_speed_kmh`. Fixes hours apart are therefore never an impossible speed unless hundreds of km apart.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import psycopg

from gis import crs as gcrs
from gis import intake
from gis.errors import InvalidInput
from gis.fences.engine import engine
from gis.fences.evaluator import Fixes
from gis.tracks import pgarrays

MAX_FIXES = 10_000
MAX_SPEED_KMH = 250.0        # faster than any city vehicle
GPS_SLACK_M = 50.0           # two fixes' worth of GPS error, not counted as travel
FUTURE_SLACK_S = 300.0       # device clocks run a little fast
MAX_AGE_S = 366 * 86400.0    # "years old": older than a year is refused
MAX_ERRORS_LISTED = 1000

REASONS = {
    "invalid_fix": "not an object with vehicle_id, ts, lon and lat of the right types",
    "invalid_timestamp": "ts is not ISO 8601 with an offset or Z",
    "unknown_crs": "crs is not a supported coordinate system",
    "invalid_coordinates": "coordinates impossible in the declared CRS",
    "future_timestamp": "ts is in the future",
    "stale_timestamp": "ts is more than a year old",
    "unknown_vehicle": "no vehicle with this id",
    "vehicle_not_allowed": "this key may not report for this vehicle",
    "duplicate": "same vehicle and ts as a fix already stored (stored and evaluated once)",
    "impossible_speed": "implies a speed no vehicle reaches since its previous fix",
}


@dataclass
class Batch:
    n: int
    vid: list[str] = field(default_factory=list)
    ts_us: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    lon: np.ndarray = field(default_factory=lambda: np.zeros(0))
    lat: np.ndarray = field(default_factory=lambda: np.zeros(0))
    speed: np.ndarray = field(default_factory=lambda: np.zeros(0))
    heading: np.ndarray = field(default_factory=lambda: np.zeros(0))
    reason: list[str | None] = field(default_factory=list)
    code: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))   # vehicle as an int
    names: list[str] = field(default_factory=list)                                   # code -> vehicle id
    detail: list[str | None] = field(default_factory=list)

    def reject(self, i: int, reason: str, detail: str | None = None) -> None:
        if self.reason[i] is None:
            self.reason[i] = reason
            self.detail[i] = detail


def _ts_us(value: Any) -> int | None:
    dt = intake.instant(value)
    return None if dt is None else intake.epoch_us(dt)


_ONE_US = timedelta(microseconds=1)


def _ts_us_all(values: list[Any]) -> list[int] | None:
    """µs since 1970 of every `ts`, or None if any is not an instant (`intake.instant`). First one pass of
    `fromisoformat` and exact timedelta division (~0.5 µs a fix, the per-fix function layers cost ~2 µs:
    half of what a broker-mode append costs the server); anything it does not take as it stands (not a
    string, no offset, whitespace, a lowercase z) goes through `intake.instant`, which decides."""
    try:
        return [(_fromiso(v) - intake.EPOCH) // _ONE_US for v in values]
    except (TypeError, ValueError):
        ts = [_ts_us(v) for v in values]
        return None if None in ts else ts


_fromiso = datetime.fromisoformat


def parse(body: bytes | list[Any], default_crs: str | None = None) -> Batch:
    """Parses the JSON array; per-fix problems become reasons, a malformed body an InvalidInput."""
    fixes = intake.json_array(body, "fixes", MAX_FIXES)
    n = len(fixes)
    fast = _parse_fast(fixes, default_crs)
    if fast is not None:
        return fast
    b = Batch(n, reason=[None] * n, detail=[None] * n)
    vid: list[str] = [""] * n
    ts = np.zeros(n, dtype=np.int64)
    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    speed = np.full(n, np.nan)
    heading = np.full(n, np.nan)
    crs_of: list[str | None] = [None] * n
    for i, f in enumerate(fixes):
        if not isinstance(f, dict):
            b.reject(i, "invalid_fix", "not an object")
            continue
        v = f.get("vehicle_id")
        x, y = intake.number(f.get("lon")), intake.number(f.get("lat"))
        if not isinstance(v, str | int) or isinstance(v, bool) or x is None or y is None:
            missing = [k for k in ("vehicle_id", "ts", "lon", "lat") if f.get(k) is None]
            b.reject(i, "invalid_fix",
                     f"missing {', '.join(missing)}" if missing else "wrong type of vehicle_id/lon/lat")
            continue
        t = _ts_us(f.get("ts"))
        if t is None:
            b.reject(i, "invalid_timestamp", f"ts {f.get('ts')!r} is not ISO 8601 with an offset or Z")
            continue
        vid[i], ts[i], lon[i], lat[i] = str(v), t, x, y
        s = f.get("speed_kmh")
        if s is not None:
            s = intake.number(s)
            if s is None or s < 0 or not math.isfinite(s):
                b.reject(i, "invalid_fix", f"speed_kmh {f.get('speed_kmh')!r} is not a speed")
                continue
            speed[i] = s
        h = intake.number(f.get("heading"))
        if h is not None:
            heading[i] = h
        crs_of[i] = f.get("crs") or default_crs
    b.vid, b.ts_us, b.speed, b.heading = vid, ts, speed, heading
    b.lon, b.lat = _to_storage(b, crs_of, lon, lat)
    return b


_NUM = {float, int}
_OPT_NUM = {float, int, type(None)}


def _parse_fast(fixes: list[Any], default_crs: str | None) -> Batch | None:
    """Column-wise parsing for the common case (every fix well-formed, one CRS); None → per-fix path."""
    try:
        vid = [f["vehicle_id"] for f in fixes]
        lon_l = [f["lon"] for f in fixes]
        lat_l = [f["lat"] for f in fixes]
        ts_l = [f["ts"] for f in fixes]
        speed_l = [f.get("speed_kmh") for f in fixes]
        heading_l = [f.get("heading") for f in fixes]
        crs_set = {f.get("crs") for f in fixes}
    except (TypeError, KeyError, AttributeError):
        return None
    if (set(map(type, vid)) != {str} or not set(map(type, lon_l)) <= _NUM or not set(map(type, lat_l)) <= _NUM
            or not set(map(type, speed_l)) <= _OPT_NUM or not set(map(type, heading_l)) <= _OPT_NUM
            or len(crs_set) != 1):
        return None
    ts = _ts_us_all(ts_l)
    if ts is None:
        return None
    speed = np.array(speed_l, dtype=np.float64)   # None → NaN
    if (speed < 0).any() or np.isinf(speed).any():
        return None
    n = len(fixes)
    b = Batch(n, reason=[None] * n, detail=[None] * n)
    b.vid, b.ts_us, b.speed = vid, np.array(ts, dtype=np.int64), speed
    b.heading = np.array(heading_l, dtype=np.float64)
    crs = crs_set.pop() or default_crs
    b.lon, b.lat = _to_storage(b, [crs] * n, np.array(lon_l, dtype=np.float64), np.array(lat_l, dtype=np.float64))
    return b


def _to_storage(b: Batch, crs_of: list[str | None], lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    out_x, out_y = np.full(b.n, np.nan), np.full(b.n, np.nan)
    groups: dict[str | None, list[int]] = {}
    if b.n and crs_of.count(crs_of[0]) == b.n and all(r is None for r in b.reason):
        groups[crs_of[0]] = list(range(b.n))   # the common case: one CRS, every fix well-formed
    else:
        for i, c in enumerate(crs_of):
            if b.reason[i] is None:
                groups.setdefault(c, []).append(i)
    for c, idx_list in groups.items():
        idx = np.array(idx_list, dtype=np.int64)
        try:
            ref = gcrs.resolve(c)
        except InvalidInput as exc:
            for i in idx_list:
                b.reject(i, "unknown_crs", exc.detail)
            continue
        ok = gcrs.plausible(lon[idx], lat[idx], ref)
        x, y = gcrs.to_storage(lon[idx], lat[idx], ref)
        ok &= np.isfinite(x) & np.isfinite(y) & (np.abs(x) <= 180) & (np.abs(y) <= 90)
        ok &= ~((np.abs(x) < 1e-6) & (np.abs(y) < 1e-6))   # (0, 0): a receiver without a fix
        out_x[idx], out_y[idx] = x, y
        for i in idx[~ok]:
            b.reject(int(i), "invalid_coordinates", f"({lon[i]}, {lat[i]}) is not a position in {ref.name}")
    return out_x, out_y


def validate(conn: psycopg.Connection, b: Batch, allowed: set[str] | None, now: float | None = None) -> None:
    """Timestamps, vehicles, in-batch duplicates and impossible speeds (the database-aware checks)."""
    validate_static(conn, b, allowed, now)
    _speed_check(conn, b)


def validate_static(conn: psycopg.Connection, b: Batch, allowed: set[str] | None, now: float | None = None) -> None:
    """The checks that need no stored fixes: timestamps, vehicles, in-batch duplicates. The broker-mode HTTP
    ingest runs only these before appending to the stream; the fence worker then runs `validate` in full
    (the speed check compares with the vehicle's stored predecessor, which only the worker knows in order)."""
    now = datetime.now(UTC).timestamp() if now is None else now
    t = b.ts_us / 1e6
    for i in np.nonzero(t > now + FUTURE_SLACK_S)[0]:
        b.reject(int(i), "future_timestamp", f"ts is {t[i] - now:.0f} s in the future")
    for i in np.nonzero(t < now - MAX_AGE_S)[0]:
        b.reject(int(i), "stale_timestamp", f"ts is {(now - t[i]) / 86400:.0f} days old")
    names: dict[str, int] = {}
    b.code = np.array([names.setdefault(v, len(names)) for v in b.vid], dtype=np.int64)
    b.names = list(names)
    ok = _ok(b)
    ids = sorted({b.names[c] for c in np.unique(b.code[ok]).tolist()})
    known = {r[0] for r in conn.execute("SELECT id FROM vehicles WHERE id = ANY(%s)", (ids,)).fetchall()}
    for v in ids:   # per vehicle, not per fix
        if v not in known or (allowed is not None and v not in allowed):
            for i in np.nonzero(ok & (b.code == names[v]))[0].tolist():
                if v not in known:
                    b.reject(i, "unknown_vehicle", f"no vehicle {v!r}")
                else:
                    b.reject(i, "vehicle_not_allowed", f"this key may not report for vehicle {v!r}")
    idx = np.nonzero(_ok(b))[0]
    order = idx[np.lexsort((b.ts_us[idx], b.code[idx]))]   # stable: the first of equal fixes stays
    same = (b.code[order][1:] == b.code[order][:-1]) & (b.ts_us[order][1:] == b.ts_us[order][:-1])
    for i in order[1:][same].tolist():
        b.reject(i, "duplicate", "repeated in this batch")


def _ok(b: Batch) -> np.ndarray:
    return np.fromiter((r is None for r in b.reason), dtype=bool, count=b.n)


def _speed_check(conn: psycopg.Connection, b: Batch) -> None:
    ok = _ok(b)
    if not ok.any():
        return
    idx = np.nonzero(ok)[0]
    order = np.lexsort((b.ts_us[idx], b.code[idx]))
    idx, vids = idx[order], b.code[idx[order]]
    starts = np.nonzero(np.r_[True, vids[1:] != vids[:-1]])[0]
    first = {b.names[c]: int(k) for c, k in zip(vids[starts].tolist(), starts.tolist(), strict=True)}
    prev_rows = conn.execute(
        """SELECT u.v, extract(epoch FROM p.ts)::float8, ST_X(p.geom), ST_Y(p.geom)
           FROM unnest(%s::text[], %s::float8[]) AS u(v, t)
           CROSS JOIN LATERAL (SELECT ts, geom FROM positions
                               WHERE vehicle_id = u.v AND ts < to_timestamp(u.t) ORDER BY ts DESC LIMIT 1) p""",
        (list(first), [float(b.ts_us[idx[k]]) / 1e6 for k in first.values()]),
    ).fetchall()
    prev = {r[0]: (r[1], r[2], r[3]) for r in prev_rows}
    t = b.ts_us[idx] / 1e6
    x, y = b.lon[idx], b.lat[idx]
    alive = np.ones(idx.size, dtype=bool)
    for _ in range(4):   # a rejected fix is skipped and its successor compared with the fix before it
        live = np.nonzero(alive)[0]
        if live.size == 0:
            break
        lv, lt, lx, ly = vids[live], t[live], x[live], y[live]
        pt, px, py = np.roll(lt, 1), np.roll(lx, 1), np.roll(ly, 1)
        starts = np.ones(live.size, dtype=bool)
        starts[1:] = lv[1:] != lv[:-1]
        has_prev = ~starts
        for k in np.nonzero(starts)[0]:
            p = prev.get(b.names[lv[k]])
            if p is not None:
                pt[k], px[k], py[k] = p
                has_prev[k] = True
        dist = _metres(px, py, lx, ly)
        dt = np.maximum(lt - pt, 1.0)
        kmh = np.maximum(dist - GPS_SLACK_M, 0.0) / dt * 3.6
        bad = has_prev & (kmh > MAX_SPEED_KMH)
        if not bad.any():
            break
        # Reject only the first bad fix per vehicle this round (its successor is then compared afresh).
        bad_idx = np.nonzero(bad)[0]
        firsts = bad_idx[np.r_[True, lv[bad_idx][1:] != lv[bad_idx][:-1]]]
        for k in firsts:
            i = int(idx[live[k]])
            b.reject(i, "impossible_speed", f"{kmh[k]:.0f} km/h since the previous fix")
            alive[live[k]] = False


def _metres(x0: np.ndarray, y0: np.ndarray, x1: np.ndarray, y1: np.ndarray) -> np.ndarray:
    """Ground distance between lon/lat pairs (equirectangular: exact enough at city scale)."""
    lat = np.radians((y0 + y1) / 2.0)
    dx = np.radians(x1 - x0) * np.cos(lat) * 6371008.8
    dy = np.radians(y1 - y0) * 6371008.8
    return np.hypot(dx, dy)


_INSERT = """INSERT INTO positions (vehicle_id, ts, geom, speed_kmh, heading)
    SELECT (%b::text[])[c], timestamptz 'epoch' + t * interval '1 microsecond',
           ST_SetSRID(ST_MakePoint(x, y), 4490), nullif(s, 'NaN'), nullif(h, 'NaN')
    FROM unnest(%b::int4[], %b::int8[], %b::float8[], %b::float8[], %b::float4[], %b::float4[])
         AS u(c, t, x, y, s, h)"""
INSERT_FIXES = _INSERT + "\n    ON CONFLICT DO NOTHING"

# Which of the batch's fixes were NOT inserted by this transaction (stored before: duplicates). A row of
# another transaction has another xmin; a row moved by positions_ensure_partition (the demo loader) in
# this transaction kept its received_at.
PRE_EXISTING = """SELECT u.i - 1 FROM unnest(%b::text[], %b::int8[]) WITH ORDINALITY AS u(v, t, i)
    JOIN positions p ON p.vehicle_id = u.v AND p.ts = timestamptz 'epoch' + u.t * interval '1 microsecond'
    WHERE p.xmin <> pg_current_xact_id()::xid OR p.received_at <> now()"""


def store(conn: psycopg.Connection, b: Batch) -> np.ndarray:
    """Inserts the valid fixes idempotently (arrays as binary parameters, unnested); returns the batch
    indices newly stored (ascending). Must run in a top-level transaction.

    The common case (nothing stored before) is a plain INSERT in a savepoint, rows ordered by vehicle and
    time (neighbours in the primary key): `ON CONFLICT DO NOTHING` cost PostgreSQL ~30 % more per row (a
    speculative insertion per row), for duplicates that are rare (a device re-sending). Only when the
    plain INSERT meets one is it rolled back and the batch inserted with ON CONFLICT at the top level,
    and the fixes already there looked up: rows of this batch whose stored version another transaction
    wrote (xmin; the rows of that second INSERT carry the top-level transaction's id)."""
    idx = np.nonzero(_ok(b))[0]
    if idx.size == 0:
        return idx
    if b.code.size != b.n:   # not validated (validate_static numbers the vehicles)
        names_of: dict[str, int] = {}
        b.code = np.array([names_of.setdefault(v, len(names_of)) for v in b.vid], dtype=np.int64)
        b.names = list(names_of)
    idx = idx[np.lexsort((b.ts_us[idx], b.code[idx]))]
    # Vehicle ids as a number into the batch's few distinct ids, every column as a binary array encoded
    # by numpy (gis.tracks.pgarrays): no Python object per fix on the way to the server.
    pgarrays.register(conn)
    args = (b.names, pgarrays.encode(b.code[idx] + 1, "int4"), pgarrays.encode(b.ts_us[idx], "int8"),
            pgarrays.encode(b.lon[idx], "float8"), pgarrays.encode(b.lat[idx], "float8"),
            pgarrays.encode(b.speed[idx], "float4"), pgarrays.encode(b.heading[idx], "float4"))
    try:
        with conn.transaction():
            conn.execute(_INSERT, args)
        return np.sort(idx)
    except psycopg.errors.UniqueViolation:
        pass
    cur = conn.execute(INSERT_FIXES, args)
    if cur.rowcount == idx.size:   # the other one's rows were rolled back meanwhile
        return np.sort(idx)
    vids = [b.vid[i] for i in idx.tolist()]
    ts = b.ts_us[idx].tolist()
    old = np.array([r[0] for r in conn.execute(PRE_EXISTING, (vids, ts)).fetchall()], dtype=np.int64)
    for i in idx[old]:
        b.reject(int(i), "duplicate", "already stored")
    keep = np.ones(idx.size, dtype=bool)
    keep[old] = False
    return np.sort(idx[keep])


def by_vehicle(b: Batch, new: np.ndarray) -> dict[str, Fixes]:
    if new.size == 0:
        return {}
    order = np.lexsort((b.ts_us[new], b.code[new]))
    new = new[order]
    vids = b.code[new]
    cuts = np.nonzero(vids[1:] != vids[:-1])[0] + 1
    t, x, y, s = b.ts_us[new] / 1e6, b.lon[new], b.lat[new], b.speed[new]
    out = {}
    for a, e in zip(np.r_[0, cuts].tolist(), np.r_[cuts, new.size].tolist(), strict=True):
        out[b.names[int(vids[a])]] = Fixes(t[a:e], x[a:e], y[a:e], s[a:e])
    return out


def ingest(conn: psycopg.Connection, body: bytes | list[Any], *, allowed: set[str] | None = None,
           default_crs: str | None = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Validates, stores and evaluates a batch in one transaction. Returns (answer, alarm events); the
    caller publishes the events after this returns (i.e. after commit)."""
    return ingest_batch(conn, parse(body, default_crs), allowed=allowed)


def ingest_batch(conn: psycopg.Connection, b: Batch, *, allowed: set[str] | None = None,
                 before_commit: Callable[[psycopg.Connection, list[dict[str, Any]]], None] | None = None,
                 ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """`ingest` of a parsed batch. `before_commit(conn, events)` runs inside the transaction after the
    evaluation: the fence worker records its stream offset there, so that offset, fixes and alarms commit
    together (exactly-once processing of a re-delivered stream entry)."""
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        raise RuntimeError("ingest needs a connection outside any transaction (it tells new rows by xmin)")
    with conn.transaction():
        validate(conn, b, allowed)
        valid = np.nonzero(_ok(b))[0]
        stored: dict[str, np.ndarray] = {}

        def store_new() -> dict[str, Fixes] | None:
            """Runs in a worker thread while the engine evaluates (this thread does not use conn meanwhile)."""
            stored["new"] = store(conn, b)
            return None if stored["new"].size == valid.size else by_vehicle(b, stored["new"])

        events = engine.evaluate_stored(conn, by_vehicle(b, valid), store=store_new)
        new = stored["new"]
        if before_commit is not None:
            before_commit(conn, events)
    reasons = Counter(r for r in b.reason if r is not None)
    errors = [{"index": i, "vehicle_id": b.vid[i] or None, "reason": r, "detail": b.detail[i]}
              for i, r in enumerate(b.reason) if r is not None][:MAX_ERRORS_LISTED]
    answer = {
        "received": b.n,
        "accepted": int(new.size),
        "rejected": b.n - int(new.size),
        "duplicates": reasons.get("duplicate", 0),
        "reasons": dict(reasons),
        "errors": errors,
        "alarms": len([e for e in events if e["op"] == "opened"]),
        "event_ids": [e["event_id"] for e in events],
    }
    return answer, events
