"""Alarms in the database: idempotent upserts from the engine, the event feed, and queries.

Every change the engine makes to an alarm is recorded in `alarm_events` (opened, updated, closed,
retracted); an event's id is what Server-Sent Events carry, so a client reconnecting with Last-Event-ID
misses nothing. `pg_notify('citygrid_alarms', …)` tells other workers that events are waiting.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg
from psycopg.types.json import Jsonb

from gis.errors import InvalidInput
from gis.fences.kinds import ALARM_KINDS, label
from gis.fences.state import AlarmRec
from gis.security import scope
from gis.security.scope import Area

CHANNEL = "citygrid_alarms"
RECORD = ("id, kind, vehicle_id, fence_id, start, \"end\", max_value, details, ST_X(geom), ST_Y(geom)")


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def record(row: tuple[Any, ...]) -> dict[str, Any]:
    """The public shape of one alarm (what /api/alarms lists and the stream pushes)."""
    aid, kind, vehicle_id, fence_id, start, end, max_value, details, lon, lat = row[:10]
    start_s = start.isoformat() if hasattr(start, "isoformat") else start
    end_s = end.isoformat() if hasattr(end, "isoformat") else end
    return {
        "id": aid, "kind": kind, "label": label(kind), "vehicle_id": vehicle_id, "fence_id": fence_id,
        "start": start_s, "end": end_s, "state": "open" if end is None else "closed",
        "max_value": max_value, "details": details or {},
        "lon": lon, "lat": lat,
        "location": {"type": "Point", "coordinates": [lon, lat]} if lon is not None else None,
    }


def write(conn: psycopg.Connection, touched: dict[str, dict[Any, AlarmRec]]) -> list[dict[str, Any]]:
    """Upserts the alarms the engine touched; records and returns the events of those that changed.

    Whether a row was inserted or updated is told by the identities that existed before the statement
    (`existing`), not by `xmax = 0`: alarms is partitioned (0017), and PostgreSQL 15 refuses system
    columns in RETURNING of a partitioned table. Writers of one vehicle are serialised by the engine's
    advisory lock, so no other transaction adds one of these identities meanwhile."""
    rows = [(vid, rec) for vid, recs in touched.items() for rec in recs.values()]
    if not rows:
        return []
    cols: dict[str, list[Any]] = {k: [] for k in ("v", "k", "f", "s", "e", "m", "d", "x", "y")}
    for vid, rec in rows:
        cols["v"].append(vid)
        cols["k"].append(rec.kind)
        cols["f"].append(rec.fence_id)
        cols["s"].append(rec.start)
        cols["e"].append(rec.end)
        cols["m"].append(rec.max_value)
        cols["d"].append(orjson.dumps(rec.details).decode())
        cols["x"].append(rec.lon)
        cols["y"].append(rec.lat)
    changed = conn.execute(
        f"""WITH input AS (
                SELECT * FROM unnest(%(v)s::text[], %(k)s::text[], %(f)s::bigint[], %(s)s::float8[], %(e)s::float8[],
                                     %(m)s::float8[], %(d)s::jsonb[], %(x)s::float8[], %(y)s::float8[])
                       AS t(vehicle_id, kind, fence_id, s, e, max_value, details, lon, lat)),
            existing AS (
                SELECT a.id FROM alarms a JOIN input i
                  ON a.vehicle_id = i.vehicle_id AND a.kind = i.kind
                 AND coalesce(a.fence_id, 0) = coalesce(i.fence_id, 0) AND a.start = to_timestamp(i.s))
            INSERT INTO alarms AS a (kind, vehicle_id, fence_id, start, "end", max_value, details, geom)
            SELECT kind, vehicle_id, fence_id, to_timestamp(s), to_timestamp(e), max_value, details,
                   ST_SetSRID(ST_MakePoint(lon, lat), 4490)
            FROM input
            ON CONFLICT (vehicle_id, kind, (coalesce(fence_id, 0)), start) DO UPDATE
               SET "end" = EXCLUDED."end", max_value = EXCLUDED.max_value, details = a.details || EXCLUDED.details
               WHERE a."end" IS DISTINCT FROM EXCLUDED."end" OR a.max_value IS DISTINCT FROM EXCLUDED.max_value
            RETURNING {RECORD}, NOT EXISTS (SELECT 1 FROM existing x WHERE x.id = a.id) AS inserted""",
        cols,
    ).fetchall()
    events = []
    for row in changed:
        rec = record(row)
        op = "opened" if row[10] else ("closed" if rec["end"] is not None else "updated")
        events.append((rec["id"], op, rec))
    return _log_events(conn, events)


def retract(conn: psycopg.Connection, vehicle_id: str, since: float, keep: set[tuple[str, int | None, float]]
            ) -> list[dict[str, Any]]:
    """Deletes the vehicle's alarms starting at or after `since` that a re-evaluation no longer produced."""
    rows = conn.execute(
        f"""SELECT {RECORD}, extract(epoch FROM start)::float8 FROM alarms
            WHERE vehicle_id = %s AND start >= to_timestamp(%s)""",
        (vehicle_id, since),
    ).fetchall()
    gone = [r for r in rows if (r[1], r[3], r[10]) not in keep]
    if not gone:
        return []
    conn.execute("DELETE FROM alarms WHERE id = ANY(%s)", ([r[0] for r in gone],))
    return _log_events(conn, [(r[0], "retracted", {**record(r), "state": "retracted"}) for r in gone])


def _log_events(conn: psycopg.Connection, events: list[tuple[int, str, dict[str, Any]]]) -> list[dict[str, Any]]:
    if not events:
        return []
    ids = conn.execute(
        """INSERT INTO alarm_events (alarm_id, op, payload)
           SELECT * FROM unnest(%s::bigint[], %s::text[], %s::jsonb[]) RETURNING id""",
        ([e[0] for e in events], [e[1] for e in events], [Jsonb(e[2]) for e in events]),
    ).fetchall()
    out = [{"event_id": int(i[0]), "op": op, **payload} for i, (_, op, payload) in zip(ids, events, strict=True)]
    conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, str(out[-1]["event_id"])))
    return out


def log_events(conn: psycopg.Connection, events: list[tuple[int, str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Records events of alarms kept elsewhere (device alarms) in the one feed; returns them with ids."""
    return _log_events(conn, events)


def events_after(conn: psycopg.Connection, last_id: int, limit: int = 1000) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT id, op, payload FROM alarm_events WHERE id > %s ORDER BY id LIMIT %s", (last_id, limit)
    ).fetchall()
    return [{"event_id": int(r[0]), "op": r[1], **r[2]} for r in rows]


def last_event_id(conn: psycopg.Connection) -> int:
    return int(conn.execute("SELECT coalesce(max(id), 0) FROM alarm_events").fetchone()[0])


def query(conn: psycopg.Connection, *, vehicle_id: str | None = None, kind: str | None = None,
          since: datetime | None = None, until: datetime | None = None, fence_id: int | None = None,
          state: str | None = None, after_id: int | None = None, limit: int = 100,
          area: Area | None = None) -> list[dict[str, Any]]:
    """Alarms filtered by vehicle, kind, start ≥ since (and < until), fence, open/closed; ordered by
    (start, id) and paged by keyset: `after_id` is the last id of the previous page. `area`: only the
    alarms of vehicles whose fleets belong to it (the catalog's scope of alarms)."""
    if kind is not None and kind not in ALARM_KINDS:
        raise InvalidInput(f"kind: unknown alarm kind {kind!r} (use {', '.join(ALARM_KINDS)})")
    if state not in (None, "open", "closed"):
        raise InvalidInput(f"state: {state!r} is not open or closed")
    scoped, values = _scoped(area)
    cursor = None
    if after_id is not None:
        cursor = conn.execute("SELECT start, id FROM alarms WHERE id = %s", (after_id,)).fetchone()
        if cursor is None:
            raise InvalidInput(f"next: alarm {after_id} no longer exists; start again without it")
    rows = conn.execute(
        f"""SELECT {RECORD} FROM alarms
            WHERE (%(v)s::text IS NULL OR vehicle_id = %(v)s)
              AND (%(k)s::text IS NULL OR kind = %(k)s)
              AND (%(since)s::timestamptz IS NULL OR start >= %(since)s)
              AND (%(until)s::timestamptz IS NULL OR start < %(until)s)
              AND (%(f)s::bigint IS NULL OR fence_id = %(f)s)
              AND (%(state)s::text IS NULL OR ("end" IS NULL) = (%(state)s = 'open'))
              AND (%(cs)s::timestamptz IS NULL OR (start, id) > (%(cs)s, %(ci)s)) {scoped}
            ORDER BY start, id LIMIT %(limit)s""",
        {"v": vehicle_id, "k": kind, "since": since, "until": until, "f": fence_id, "state": state,
         "cs": cursor[0] if cursor else None, "ci": cursor[1] if cursor else None, "limit": limit, **values},
    ).fetchall()
    return [record(r) for r in rows]


def get(conn: psycopg.Connection, alarm_id: int, area: Area | None = None) -> dict[str, Any] | None:
    """One alarm (None also when it lies outside `area`)."""
    scoped, values = _scoped(area)
    row = conn.execute(f"SELECT {RECORD} FROM alarms WHERE id = %(id)s {scoped}",
                       {"id": alarm_id, **values}).fetchone()
    return record(row) if row else None


def _scoped(area: Area | None) -> tuple[str, dict[str, Any]]:
    if area is None:
        return "", {}
    from gis import catalog

    cond, values = scope.named(*scope.condition(catalog.get("alarms"), area, "alarms"))
    return f"AND {cond}", values


def open_at(conn: psycopg.Connection, vehicle_id: str, at: float) -> list[tuple[Any, ...]]:
    """Alarms of a vehicle open at time `at` (started before, not ended before): seeds a replay."""
    return conn.execute(
        """SELECT kind, fence_id, extract(epoch FROM start)::float8, max_value, ST_X(geom), ST_Y(geom), details
           FROM alarms WHERE vehicle_id = %s AND start < to_timestamp(%s)
             AND ("end" IS NULL OR "end" >= to_timestamp(%s))
             AND kind IN ('out_of_area', 'cross_district', 'forbidden', 'off_route', 'overspeed', 'illegal_stay',
                          'illegal_dumping', 'unapproved_route', 'restricted_hours')""",
        (vehicle_id, at, at),
    ).fetchall()
