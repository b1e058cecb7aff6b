"""Device readings in bulk, with the acknowledgement rules of GPS fixes (gis.tracks.ingest): a reading
is rejected with a reason and never half-stored; a reading is acknowledged only once stored, in the same
transaction that judged it against its thresholds; a repeat (same device, metric and ts) is stored and
judged once and reported as `duplicate`.

A reading is `{device_id, ts, metric, value}`, or `{device_id, ts, values: {metric: value, …}}` (one
object, several metrics; its reasons are reported per object index).

Thresholds (table `device_thresholds`, per device kind and metric): an alarm opens after `debounce_n`
readings in a row at or above `on_value` (its start is the first of them) and recovers after
`debounce_n` readings in a row below `off_value`; values between the two reset both runs (hysteresis, so a
value hovering at the threshold neither flaps nor recovers). A reading older than the last one judged for
its series is stored but not judged (a late reading cannot rewrite an alarm's history). 离线: a device
silent for longer than its `offline_after_s` (default 2 h) gets an offline alarm, closed by its next reading.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from gis import intake
from gis.catalog.vocab import DEVICE_ALARM_KINDS
from gis.errors import InvalidInput
from gis.fences import alarms as alarm_store
from gis.security import scope
from gis.security.scope import Area

MAX_READINGS = 50_000
FUTURE_SLACK_S = 300.0
MAX_AGE_S = 366 * 86400.0
DEFAULT_OFFLINE_S = 7200.0
MAX_ERRORS_LISTED = 1000

REASONS = {
    "invalid_reading": "not an object with device_id, ts and metric/value (or values) of the right types",
    "invalid_timestamp": "ts is not ISO 8601 with an offset or Z",
    "future_timestamp": "ts is in the future",
    "stale_timestamp": "ts is more than a year old",
    "unknown_device": "no device with this id",
    "device_not_allowed": "this key may not report for this device",
    "unknown_metric": "the device's kind has no such metric (see device_thresholds)",
    "duplicate": "same device, metric and ts as a reading already stored (stored and judged once)",
}


@dataclass
class Reading:
    index: int
    device_id: str
    metric: str
    ts: datetime
    value: float
    us: int = 0      # ts as microseconds since the epoch (stored as a binary int8 array)


def parse(body: bytes | list[Any], now: datetime) -> tuple[int, list[Reading], dict[int, tuple[str, str]]]:
    """(objects received, well-formed readings, {index: (reason, detail)}); a malformed body is a 400."""
    items = intake.json_array(body, "readings", MAX_READINGS)
    out: list[Reading] = []
    bad: dict[int, tuple[str, str]] = {}
    lo, hi = now - timedelta(seconds=MAX_AGE_S), now + timedelta(seconds=FUTURE_SLACK_S)
    for i, r in enumerate(items):
        if not isinstance(r, dict) or not isinstance(r.get("device_id"), str) or not r["device_id"]:
            bad[i] = ("invalid_reading", "device_id missing or not a string")
            continue
        ts = intake.instant(r.get("ts"))
        if ts is None:
            bad[i] = ("invalid_timestamp", f"ts {str(r.get('ts'))[:40]!r}")
            continue
        if ts > hi:
            bad[i] = ("future_timestamp", f"{ts.isoformat()} is after now")
            continue
        if ts < lo:
            bad[i] = ("stale_timestamp", f"{ts.isoformat()} is more than a year old")
            continue
        pairs = r.get("values") if isinstance(r.get("values"), dict) else {r.get("metric"): r.get("value")}
        vals = [(m, intake.number(v, finite=True)) for m, v in pairs.items()]
        if not vals or any(not isinstance(m, str) or not m or v is None for m, v in vals):
            bad[i] = ("invalid_reading", "metric must be a name and value a finite number")
            continue
        us = intake.epoch_us(ts)
        out += [Reading(i, r["device_id"], m, ts, v, us) for m, v in vals]
    return len(items), out, bad


def _record(row: tuple[Any, ...]) -> dict[str, Any]:
    aid, device_id, kind, metric, start, end, max_value, details, lon, lat, device_kind = row[:11]
    return {
        "id": aid, "source": "device", "kind": kind, "label": DEVICE_ALARM_KINDS.labels.get(kind, kind),
        "device_id": device_id, "device_kind": device_kind, "metric": metric or None, "vehicle_id": None,
        "start": start.isoformat(), "end": end.isoformat() if end else None,
        "state": "open" if end is None else "closed", "max_value": max_value, "details": details or {},
        "lon": lon, "lat": lat, "location": {"type": "Point", "coordinates": [lon, lat]} if lon is not None else None,
    }


RECORD = ("a.id, a.device_id, a.kind, a.metric, a.start, a.\"end\", a.max_value, a.details, ST_X(a.geom), "
          "ST_Y(a.geom), d.kind")


def _open(conn: psycopg.Connection, device_id: str, kind: str, metric: str, start: datetime, value: float | None,
          details: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    row = conn.execute(
        f"""WITH a AS (INSERT INTO device_alarms (device_id, kind, metric, start, max_value, details, geom)
                       SELECT id, %s, %s, %s, %s, %s, geom FROM devices WHERE id = %s
                       ON CONFLICT (device_id, kind, metric, start) DO UPDATE SET "end" = NULL
                       RETURNING *)
            SELECT {RECORD} FROM a JOIN devices d ON d.id = a.device_id""",
        (kind, metric, start, value, Jsonb(details), device_id)).fetchone()
    return row[0], _record(row)


def _close(conn: psycopg.Connection, alarm_id: int, end: datetime, max_value: float | None) -> dict[str, Any] | None:
    row = conn.execute(
        f"""WITH a AS (UPDATE device_alarms SET "end" = %s, max_value = greatest(max_value, %s)
                       WHERE id = %s AND "end" IS NULL RETURNING *)
            SELECT {RECORD} FROM a JOIN devices d ON d.id = a.device_id""", (end, max_value, alarm_id)).fetchone()
    return _record(row) if row else None


# Arrays travel binary (`%b`), times as int8 microseconds: dumping 10,000 datetimes costs more than storing them.
STORE = """INSERT INTO device_readings (device_id, metric, ts, value)
    SELECT d, m, timestamptz 'epoch' + t * interval '1 microsecond', v
    FROM unnest(%b::text[], %b::text[], %b::int8[], %b::float8[]) AS u(d, m, t, v) ON CONFLICT DO NOTHING"""

# Which readings were stored before this transaction (duplicates): only asked when the insert fell short.
PRE_EXISTING = """SELECT u.i - 1 FROM unnest(%b::text[], %b::text[], %b::int8[]) WITH ORDINALITY AS u(d, m, t, i)
    JOIN device_readings r ON r.device_id = u.d AND r.metric = u.m
                          AND r.ts = timestamptz 'epoch' + u.t * interval '1 microsecond'
    WHERE r.xmin <> pg_current_xact_id()::xid"""


def ingest(conn: psycopg.Connection, body: bytes | list[Any], *, allowed: set[str] | None = None,
           now: datetime | None = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Validates, stores and judges a batch in one transaction; returns (answer, alarm events) — the
    caller publishes the events after commit."""
    now = now or datetime.now(UTC)
    n, readings, bad = parse(body, now)
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        raise RuntimeError("readings ingest needs a connection outside any transaction (it tells new rows by xmin)")
    events: list[tuple[int, str, dict[str, Any]]] = []
    with conn.transaction():
        ids = sorted({r.device_id for r in readings})
        devices = {r[0]: (r[1], r[2]) for r in conn.execute(
            "SELECT id, kind, state FROM devices WHERE id = ANY(%s) FOR UPDATE", (ids,)).fetchall()}
        thresholds = {(k, m): (ak, on, off, dn) for k, m, ak, on, off, dn in conn.execute(
            "SELECT kind, metric, alarm_kind, on_value, off_value, debounce_n FROM device_thresholds").fetchall()}
        good: list[Reading] = []
        for r in readings:
            if r.index in bad:
                continue
            if r.device_id not in devices:
                bad[r.index] = ("unknown_device", f"device {r.device_id!r}")
            elif allowed is not None and r.device_id not in allowed:
                bad[r.index] = ("device_not_allowed", f"device {r.device_id!r}")
            elif (devices[r.device_id][0], r.metric) not in thresholds:
                bad[r.index] = ("unknown_metric", f"{r.metric!r} is not a metric of a {devices[r.device_id][0]} device")
            else:
                good.append(r)
        good = [r for r in good if r.index not in bad]   # one bad metric refuses its whole object
        # repeats within the batch first (the first one stands), then those stored before
        seen: set[tuple[str, str, int]] = set()
        unique: list[Reading] = []
        for r in good:
            key = (r.device_id, r.metric, r.us)
            if key not in seen:
                seen.add(key)
                unique.append(r)
        duplicates = len(good) - len(unique)
        fresh = unique
        if unique:
            cols = ([r.device_id for r in unique], [r.metric for r in unique], [r.us for r in unique])
            cur = conn.execute(STORE, (*cols, [r.value for r in unique]))
            if cur.rowcount < len(unique):
                old = {int(i[0]) for i in conn.execute(PRE_EXISTING, cols).fetchall()}
                fresh = [r for k, r in enumerate(unique) if k not in old]
                duplicates += len(old)
        events += _judge(conn, fresh, devices, thresholds)
        events += _touch(conn, fresh)
        events += sweep_offline(conn, now, log=False)
        published = alarm_store.log_events(conn, events) if events else []
    reasons = Counter(reason for reason, _ in bad.values())
    if duplicates:
        reasons["duplicate"] += duplicates
    errors = [{"index": i, "reason": reason, "detail": detail} for i, (reason, detail) in sorted(bad.items())]
    answer = {
        "received": n, "readings": len(readings), "accepted": len(fresh),
        "rejected": len(bad), "duplicates": duplicates, "reasons": dict(reasons),
        "errors": errors[:MAX_ERRORS_LISTED],
        "alarms": sum(1 for e in events if e[1] == "opened"), "event_ids": [e["event_id"] for e in published],
    }
    return answer, published


def _judge(conn: psycopg.Connection, fresh: list[Reading], devices: dict[str, tuple[str, str]],
           thresholds: dict[tuple[str, str], tuple[str, float, float, int]]) -> list[tuple[int, str, dict]]:
    """Runs the debouncing state machine over each series' new readings, in time order."""
    if not fresh:
        return []
    series: dict[tuple[str, str], list[Reading]] = {}
    for r in sorted(fresh, key=lambda r: (r.device_id, r.metric, r.us)):
        series.setdefault((r.device_id, r.metric), []).append(r)
    keys = list(series)
    state = {(d, m): [a, b, rs, rm, al, lt] for d, m, a, b, rs, rm, al, lt in conn.execute(
        """SELECT s.device_id, s.metric, s.above_n, s.below_n, s.run_start, s.run_max, s.alarm_id, s.last_ts
           FROM device_metric_state s JOIN unnest(%s::text[], %s::text[]) AS k(d, m)
             ON s.device_id = k.d AND s.metric = k.m""", ([k[0] for k in keys], [k[1] for k in keys])).fetchall()}
    events: list[tuple[int, str, dict]] = []
    for key, rs in series.items():
        dev_kind = devices[key[0]][0]
        alarm_kind, on, off, need = thresholds[(dev_kind, key[1])]
        st = state.setdefault(key, [0, 0, None, None, None, None])
        above, below, run_start, run_max, alarm_id, last_ts = st
        for r in rs:
            if last_ts is not None and r.ts <= last_ts:
                continue   # late: stored, not judged
            last_ts = r.ts
            if r.value >= on:
                if above == 0:
                    run_start, run_max = r.ts, r.value
                above, below = above + 1, 0
                run_max = max(run_max or r.value, r.value)
                if alarm_id is None and above >= need:
                    alarm_id, rec = _open(conn, key[0], alarm_kind, key[1], run_start, run_max,
                                          {"threshold": on, "recover_below": off, "debounce_n": need})
                    events.append((alarm_id, "opened", rec))
            elif r.value < off:
                above, below = 0, below + 1
                if alarm_id is not None and below >= need:
                    rec = _close(conn, alarm_id, r.ts, run_max)
                    if rec:
                        events.append((alarm_id, "closed", rec))
                    alarm_id, run_max = None, None
            else:
                above, below = 0, 0
            if alarm_id is not None:
                run_max = max(run_max or r.value, r.value)
        st[:] = [above, below, run_start, run_max, alarm_id, last_ts]
        if alarm_id is not None:   # the open alarm's peak so far
            conn.execute("UPDATE device_alarms SET max_value = %s WHERE id = %s AND max_value < %s",
                         (run_max, alarm_id, run_max))
    rows = [(k[0], k[1], *v) for k, v in state.items() if k in series]
    conn.execute(
        """INSERT INTO device_metric_state (device_id, metric, above_n, below_n, run_start, run_max, alarm_id, last_ts)
           SELECT * FROM unnest(%s::text[], %s::text[], %s::int[], %s::int[], %s::timestamptz[], %s::float8[],
                                %s::bigint[], %s::timestamptz[])
           ON CONFLICT (device_id, metric) DO UPDATE SET above_n = EXCLUDED.above_n, below_n = EXCLUDED.below_n,
               run_start = EXCLUDED.run_start, run_max = EXCLUDED.run_max, alarm_id = EXCLUDED.alarm_id,
               last_ts = EXCLUDED.last_ts""",
        tuple(list(col) for col in zip(*rows, strict=True)))
    return events


def _touch(conn: psycopg.Connection, fresh: list[Reading]) -> list[tuple[int, str, dict]]:
    """Latest values and state per device; a reading ends the device's offline alarm."""
    if not fresh:
        return []
    latest: dict[str, dict[str, Any]] = {}
    last: dict[str, datetime] = {}
    for r in sorted(fresh, key=lambda r: r.us):
        latest.setdefault(r.device_id, {})[r.metric] = r.value
        last[r.device_id] = r.ts
    ids = list(latest)
    events: list[tuple[int, str, dict]] = []
    for aid, _dev, ts in conn.execute(
            """SELECT a.id, a.device_id, k.t FROM device_alarms a
               JOIN unnest(%s::text[], %s::timestamptz[]) AS k(d, t) ON a.device_id = k.d
               WHERE a.kind = 'offline' AND a."end" IS NULL""", (ids, [last[i] for i in ids])).fetchall():
        rec = _close(conn, aid, ts, None)
        if rec:
            events.append((aid, "closed", rec))
    conn.execute(
        """UPDATE devices d SET last_ts = greatest(d.last_ts, k.t),
                  last_values = CASE WHEN d.last_ts IS NULL OR k.t >= d.last_ts THEN d.last_values || k.v
                                     ELSE k.v || d.last_values END,
                  state = CASE WHEN EXISTS (SELECT 1 FROM device_alarms a WHERE a.device_id = d.id
                                            AND a."end" IS NULL AND a.kind <> 'offline') THEN 'alarm' ELSE 'normal' END
           FROM unnest(%s::text[], %s::timestamptz[], %s::jsonb[]) AS k(id, t, v) WHERE d.id = k.id""",
        (ids, [last[i] for i in ids], [Jsonb(latest[i]) for i in ids]))
    return events


def sweep_offline(conn: psycopg.Connection, now: datetime | None = None, *, log: bool = True
                  ) -> list[Any]:
    """Opens 离线 for devices silent longer than their limit (start = last reading + limit)."""
    now = now or datetime.now(UTC)
    rows = conn.execute(
        """UPDATE devices d SET state = 'offline'
           WHERE d.state <> 'offline' AND d.last_ts IS NOT NULL
             AND d.last_ts + make_interval(secs => coalesce(d.offline_after_s, %s)) < %s
           RETURNING d.id, d.last_ts + make_interval(secs => coalesce(d.offline_after_s, %s))""",
        (DEFAULT_OFFLINE_S, now, DEFAULT_OFFLINE_S)).fetchall()
    events: list[tuple[int, str, dict]] = []
    for device_id, start in rows:
        aid, rec = _open(conn, device_id, "offline", "", start, None, {"silent_since": start.isoformat()})
        events.append((aid, "opened", rec))
    return alarm_store.log_events(conn, events) if log and events else events


def latest(conn: psycopg.Connection, device_id: str) -> dict[str, Any] | None:
    """A device's latest state: values, time, state and open alarms."""
    row = conn.execute("SELECT id, kind, state, last_ts, last_values, ST_X(geom), ST_Y(geom) FROM devices "
                       "WHERE id = %s", (device_id,)).fetchone()
    if row is None:
        return None
    alarms = conn.execute(f"""SELECT {RECORD} FROM device_alarms a JOIN devices d ON d.id = a.device_id
                              WHERE a.device_id = %s AND a."end" IS NULL ORDER BY a.start""",
                          (device_id,)).fetchall()
    return {"id": row[0], "kind": row[1], "state": row[2], "last_ts": row[3].isoformat() if row[3] else None,
            "last_values": row[4], "lon": row[5], "lat": row[6], "open_alarms": [_record(a) for a in alarms]}


def alarms(conn: psycopg.Connection, *, device_id: str | None = None, kind: str | None = None,
           state: str | None = None, limit: int = 100, area: Area | None = None) -> list[dict[str, Any]]:
    """The newest device alarms; for a caller limited to an `area`, those of devices inside it (the
    devices layer's scope, in the query: the `limit` counts only those)."""
    if kind is not None and kind not in DEVICE_ALARM_KINDS.labels:
        raise InvalidInput(f"kind: unknown device alarm kind {kind!r} (use {', '.join(DEVICE_ALARM_KINDS.labels)})")
    if state not in (None, "open", "closed"):
        raise InvalidInput(f"state: {state!r} is not open or closed")
    inside, values = scope.named(*scope.clause("devices", area, "d"))
    rows = conn.execute(
        f"""SELECT {RECORD} FROM device_alarms a JOIN devices d ON d.id = a.device_id
            WHERE (%(d)s::text IS NULL OR a.device_id = %(d)s) AND (%(k)s::text IS NULL OR a.kind = %(k)s)
              AND (%(s)s::text IS NULL OR (a."end" IS NULL) = (%(s)s = 'open')) AND {inside}
            ORDER BY a.start DESC, a.id DESC LIMIT %(l)s""",
        {"d": device_id, "k": kind, "s": state, "l": limit, **values}).fetchall()
    return [_record(r) for r in rows]
