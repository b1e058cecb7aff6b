"""Fences in the database: create, read, replace, delete, and the rows the engine loads.

Replacing or deleting a fence closes its open alarms (they were judged against a shape that no longer
exists); the engine notices the change through `version()` and drops its state for that fence.
"""

from __future__ import annotations

from typing import Any

import psycopg
import shapely
from psycopg.types.json import Jsonb

from gis.errors import Conflict, InvalidInput, NotFound
from gis.fences import geometry as fgeom
from gis.fences.spec import FenceSpec, parse_feature
from gis.security import scope
from gis.security.scope import Area

COLUMNS = ("id, name, kind, buffer_m, radius_m, speed_limit_kmh, dwell_limit_s, dwell_s, signal_timeout_s, "
           "vehicles, vehicle_groups, schedule, windows, debounce, route_id, alarm_kind, created_at, updated_at, "
           "ST_AsBinary(geom), ST_AsBinary(zone)")


def _values(spec: FenceSpec) -> dict[str, Any]:
    return {
        "name": spec.name, "kind": spec.kind, "buffer_m": spec.buffer_m, "radius_m": spec.radius_m,
        "speed_limit_kmh": spec.speed_limit_kmh, "dwell_limit_s": spec.dwell_limit_s, "dwell_s": spec.dwell_s,
        "signal_timeout_s": spec.signal_timeout_s, "vehicles": spec.vehicles, "vehicle_groups": spec.groups,
        "schedule": Jsonb(spec.schedule) if spec.schedule is not None else None,
        "windows": Jsonb(spec.windows) if spec.windows is not None else None,
        "debounce": Jsonb(spec.debounce) if spec.debounce is not None else None,
        "route_id": spec.route_id, "alarm_kind": spec.alarm_kind,
        "geom": shapely.to_wkb(spec.geom), "zone": shapely.to_wkb(spec.zone),
    }


def _check_route(conn: psycopg.Connection, spec: FenceSpec) -> None:
    if spec.route_id is not None and not conn.execute("SELECT 1 FROM routes WHERE id = %s",
                                                      (spec.route_id,)).fetchone():
        raise InvalidInput(f"route_id: no route {spec.route_id}")


def check_name(conn: psycopg.Connection, name: str | None, kind: str, fence_id: int | None = None) -> None:
    """Areas, forbidden areas and corridors are told apart by name in lists and alarms, so a name is
    refused when another fence (stop fences aside: every route has its 站点1) already carries it."""
    if not name or kind == "stop":
        return
    row = conn.execute("SELECT id FROM fences WHERE name = %s AND kind <> 'stop' AND id IS DISTINCT FROM %s "
                       "ORDER BY id LIMIT 1", (name, fence_id)).fetchone()
    if row is not None:
        raise Conflict(f"name: fence {row[0]} is already called {name!r}; choose another name")


def insert(conn: psycopg.Connection, spec: FenceSpec) -> int:
    _check_route(conn, spec)
    check_name(conn, spec.name, spec.kind)
    row = conn.execute(
        """INSERT INTO fences (name, kind, buffer_m, radius_m, speed_limit_kmh, dwell_limit_s, dwell_s,
                               signal_timeout_s, vehicles, vehicle_groups, schedule, windows, debounce, route_id,
                               alarm_kind, geom, zone)
           VALUES (%(name)s, %(kind)s, %(buffer_m)s, %(radius_m)s, %(speed_limit_kmh)s, %(dwell_limit_s)s,
                   %(dwell_s)s, %(signal_timeout_s)s, %(vehicles)s, %(vehicle_groups)s, %(schedule)s, %(windows)s,
                   %(debounce)s, %(route_id)s, %(alarm_kind)s, ST_GeomFromWKB(%(geom)s, 4490),
                   ST_GeomFromWKB(%(zone)s, 4490))
           RETURNING id""",
        _values(spec),
    ).fetchone()
    return int(row[0])


def create(conn: psycopg.Connection, feature: Any) -> dict[str, Any]:
    spec = parse_feature(feature)
    return get(conn, insert(conn, spec))


def replace(conn: psycopg.Connection, fence_id: int, feature: Any) -> dict[str, Any]:
    spec = parse_feature(feature)
    _check_route(conn, spec)
    check_name(conn, spec.name, spec.kind, fence_id)
    with conn.transaction():
        row = conn.execute(
            """UPDATE fences SET name = %(name)s, kind = %(kind)s, buffer_m = %(buffer_m)s, radius_m = %(radius_m)s,
                   speed_limit_kmh = %(speed_limit_kmh)s, dwell_limit_s = %(dwell_limit_s)s, dwell_s = %(dwell_s)s,
                   signal_timeout_s = %(signal_timeout_s)s, vehicles = %(vehicles)s,
                   vehicle_groups = %(vehicle_groups)s, schedule = %(schedule)s, windows = %(windows)s,
                   debounce = %(debounce)s, route_id = %(route_id)s, alarm_kind = %(alarm_kind)s,
                   geom = ST_GeomFromWKB(%(geom)s, 4490), zone = ST_GeomFromWKB(%(zone)s, 4490),
                   updated_at = clock_timestamp()
               WHERE id = %(id)s RETURNING id""",
            {**_values(spec), "id": fence_id},
        ).fetchone()
        if row is None:
            raise NotFound(f"no fence {fence_id}")
        close_open_alarms(conn, fence_id, "fence changed")
    return get(conn, fence_id)


def delete(conn: psycopg.Connection, fence_id: int) -> None:
    with conn.transaction():
        close_open_alarms(conn, fence_id, "fence deleted")
        if conn.execute("DELETE FROM fences WHERE id = %s RETURNING id", (fence_id,)).fetchone() is None:
            raise NotFound(f"no fence {fence_id}")


def close_open_alarms(conn: psycopg.Connection, fence_id: int, why: str) -> None:
    conn.execute(
        """UPDATE alarms SET "end" = greatest(start, now()),
                  details = details || jsonb_build_object('closed_by', %s::text)
           WHERE fence_id = %s AND "end" IS NULL""",
        (why, fence_id),
    )


def get(conn: psycopg.Connection, fence_id: int, area: Area | None = None) -> dict[str, Any]:
    """One fence (NotFound also when it lies outside `area`)."""
    scoped, values = _scoped(area)
    row = conn.execute(f"SELECT {COLUMNS} FROM fences WHERE id = %(id)s {scoped}",
                       {"id": fence_id, **values}).fetchone()
    if row is None:
        raise NotFound(f"no fence {fence_id}")
    return to_feature(row)


def list_all(conn: psycopg.Connection, kind: str | None = None, vehicle_id: str | None = None,
             limit: int = 1000, area: Area | None = None) -> list[dict[str, Any]]:
    """Fences by id (`area`: only those inside it, the catalog's scope of fences)."""
    scoped, values = _scoped(area)
    rows = conn.execute(
        f"""SELECT {COLUMNS} FROM fences
            WHERE (%(kind)s::text IS NULL OR kind = %(kind)s)
              AND (%(vehicle)s::text IS NULL OR %(vehicle)s = ANY(vehicles)) {scoped}
            ORDER BY id LIMIT %(limit)s""",
        {"kind": kind, "vehicle": vehicle_id, "limit": limit, **values},
    ).fetchall()
    return [to_feature(r) for r in rows]


def _scoped(area: Area | None) -> tuple[str, dict[str, Any]]:
    if area is None:
        return "", {}
    from gis import catalog

    cond, values = scope.named(*scope.condition(catalog.get("fences"), area, "fences"))
    return f"AND {cond}", values


def to_feature(row: tuple[Any, ...]) -> dict[str, Any]:
    (fid, name, kind, buffer_m, radius_m, speed, dwell_limit, dwell_s, signal, vehicles, groups, schedule, windows,
     debounce, route_id, alarm_kind, created, updated, geom_wkb, zone_wkb) = row
    zone = shapely.from_wkb(zone_wkb) if zone_wkb else None
    props: dict[str, Any] = {
        "kind": kind, "name": name, "vehicles": list(vehicles), "groups": list(groups),
        "buffer_m": buffer_m, "radius_m": radius_m, "speed_limit_kmh": speed, "dwell_limit_s": dwell_limit,
        "dwell_s": dwell_s, "signal_timeout_s": signal, "schedule": schedule, "windows": windows,
        "debounce": debounce, "route_id": route_id, "alarm_kind": alarm_kind,
        "area_m2": round(fgeom.area_m2(zone), 1) if zone is not None else None,
        "created_at": created.isoformat(), "updated_at": updated.isoformat(),
        "zone": fgeom.to_geojson(zone),
    }
    if kind != "stop":
        for key in ("radius_m", "windows", "dwell_s"):
            props.pop(key)
    else:
        props.pop("buffer_m")
    if kind == "stop":
        props.pop("alarm_kind")
    return {"type": "Feature", "id": fid, "geometry": fgeom.to_geojson(shapely.from_wkb(geom_wkb)),
            "properties": props}


def version(conn: psycopg.Connection) -> tuple[Any, ...]:
    """Changes whenever any fence is created, replaced or deleted. Read on every evaluation, so it reads
    the fences' change counter (`ogc_changes`, bumped by a statement trigger in the writing transaction:
    visible exactly when the change is; the latest bump's time tells a truncated counter's restart
    apart), not an aggregate over the fences: that one scanned 25,000 fences for every stream entry,
    ~7 µs of PostgreSQL a fix. A database without the counter (no trigger yet) falls back to it."""
    row = conn.execute(
        "SELECT sum(version), max(changed_at) FROM ogc_changes WHERE table_name = 'fences'").fetchone()
    if row is not None and row[1] is not None:
        return ("changes", int(row[0]), row[1])
    return tuple(conn.execute(
        "SELECT count(*), coalesce(sum(id), 0), max(updated_at), max(created_at) FROM fences").fetchone())


def load_rows(conn: psycopg.Connection) -> list[tuple[Any, ...]]:
    return conn.execute(
        """SELECT id, kind, buffer_m, radius_m, speed_limit_kmh, dwell_limit_s, dwell_s, signal_timeout_s,
                  vehicles, vehicle_groups, schedule, windows, debounce, alarm_kind, updated_at,
                  ST_AsBinary(geom), ST_AsBinary(zone)
           FROM fences WHERE zone IS NOT NULL ORDER BY id"""
    ).fetchall()
