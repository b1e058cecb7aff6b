"""The muck-truck alarms as fences of the existing engine, kept in step with sites and permits.

- 偷倒/乱倒 (`illegal_dumping`): one area fence whose zone is every registered site (its polygon, or
  its point grown by SITE_RADIUS_M) grown by the site's `gate_m`, applying to every muck truck with a
  permit valid today (the 核准 fleet the muck system manages; other trucks' depots are unknown). The
  engine's stay detection (the one 违规停留 uses: within 30 m, debounced by the fence's margin) raises
  the alarm when a truck stays longer than DUMP_STOP_S *outside* that zone. Traffic lights (< 2 min)
  never reach the limit; a queue at a site gate is inside the zone.
- 未按核准路线 (`unapproved_route`): per permit valid today, a corridor fence along its registered route
  (half-width `corridor_m`) for its truck, debounced like every corridor.
- 夜间/限时禁行 (`restricted_hours`): forbidden fences with a schedule, drawn by the operators through
  `POST /api/fences` (`kind: forbidden, alarm_kind: restricted_hours, schedule: {hours: ["22:00-06:00"]}`).

Why fences and not a second engine: the debounce, hysteresis, open/close, one record per alarm, replay
and the alarm feed all come with the engine; only the "stay outside" rule is new there.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import psycopg
import shapely
import shapely.geometry
from shapely.geometry import mapping

from gis import metric
from gis.fences import store

SITES_FENCE_NAME = "渣土车登记场所（偷倒/乱倒）"
#: A site drawn as a point counts as this far around it (m), before its gate allowance.
SITE_RADIUS_M = 60.0
#: 偷倒/乱倒: a muck truck stopped longer than this outside every registered site (s).
DUMP_STOP_S = 600.0


def _feature(geom: Any, **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": mapping(geom), "properties": props}


def sites_zone(conn: psycopg.Connection) -> shapely.Geometry | None:
    """Every registered site with its gate allowance, as one (Multi)Polygon in storage degrees."""
    rows = conn.execute("SELECT ST_AsBinary(coalesce(area, geom)), area IS NOT NULL, gate_m FROM cw_sites").fetchall()
    if not rows:
        return None
    parts = [metric.buffer_m(shapely.from_wkb(wkb), gate + (0.0 if has_area else SITE_RADIUS_M))
             for wkb, has_area, gate in rows]
    zone = shapely.union_all(parts)
    return zone if isinstance(zone, shapely.MultiPolygon) else shapely.MultiPolygon([zone])


def _same(conn: psycopg.Connection, fence_id: int, feat: dict[str, Any]) -> bool:
    """The stored fence already says what `feat` says (replacing it would close its open alarms)."""
    old = store.get(conn, fence_id)
    props = old["properties"]
    for key, value in feat["properties"].items():
        if key in ("kind", "name"):
            continue
        if props.get(key) != value and not (isinstance(value, list) and sorted(props.get(key) or []) == sorted(value)):
            return False
    geom = shapely.geometry.shape(old["geometry"])
    new = shapely.geometry.shape(feat["geometry"])
    return bool(shapely.equals_exact(shapely.normalize(geom), shapely.normalize(new), tolerance=1e-7))


def _put(conn: psycopg.Connection, fence_id: int | None, feat: dict[str, Any]) -> int:
    """Creates the fence, or replaces `fence_id` when it differs; its id."""
    if fence_id is not None and conn.execute("SELECT 1 FROM fences WHERE id = %s", (fence_id,)).fetchone():
        if not _same(conn, fence_id, feat):
            store.replace(conn, fence_id, feat)
        return fence_id
    return int(store.create(conn, feat)["id"])


def sync(conn: psycopg.Connection, today: date | None = None, dump_stop_s: float = DUMP_STOP_S) -> dict[str, int]:
    """Creates, replaces or deletes the muck fences so they match the sites, the muck trucks and the
    permits valid `today`. Idempotent; returns what it did."""
    today = today or date.today()
    done = {"sites_fence": 0, "route_fences": 0, "removed": 0}
    trucks = [r[0] for r in conn.execute(
        """SELECT DISTINCT v.id FROM vehicles v JOIN muck_permits p ON p.vehicle_id = v.id
           WHERE v.kind = 'muck' AND p.valid_from <= %(d)s AND p.valid_to >= %(d)s ORDER BY v.id""", {"d": today})]
    zone = sites_zone(conn)
    old = conn.execute("SELECT id FROM fences WHERE alarm_kind = 'illegal_dumping' AND name = %s",
                       (SITES_FENCE_NAME,)).fetchone()
    if zone is None or not trucks:
        if old:
            store.delete(conn, old[0])
            done["removed"] += 1
    else:
        feat = _feature(zone, kind="area", alarm_kind="illegal_dumping", name=SITES_FENCE_NAME, vehicles=trucks,
                        dwell_limit_s=dump_stop_s)
        _put(conn, old[0] if old else None, feat)
        done["sites_fence"] = 1
    permits = conn.execute(
        """SELECT id, code, vehicle_id, corridor_m, fence_id, ST_AsBinary(route),
                  valid_from <= %(d)s AND valid_to >= %(d)s
           FROM muck_permits ORDER BY id""", {"d": today}).fetchall()
    for pid, code, vehicle, corridor, fence_id, wkb, valid in permits:
        if not valid:
            if fence_id is not None:
                store.delete(conn, fence_id)
                conn.execute("UPDATE muck_permits SET fence_id = NULL WHERE id = %s", (pid,))
                done["removed"] += 1
            continue
        feat = _feature(shapely.from_wkb(wkb), kind="corridor", alarm_kind="unapproved_route",
                        name=f"核准路线 {code}", vehicles=[vehicle], buffer_m=corridor)
        new = _put(conn, fence_id, feat)
        if new != fence_id:
            conn.execute("UPDATE muck_permits SET fence_id = %s WHERE id = %s", (new, pid))
        done["route_fences"] += 1
    return done
