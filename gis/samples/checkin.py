"""定位打卡: did the inspector stand at the sample point? Inside its polygon when it has one, else within
its radius. The position comes in any CRS (phones send GCJ-02); it is judged and stored in EPSG:4490,
and the answer gives the distance in metres (0 inside a polygon) so the phone can say how far off it is.
"""

from __future__ import annotations

import math
from typing import Any

import psycopg
import shapely

from gis import crs as gcrs
from gis import metric
from gis.errors import InvalidInput, NotFound


def checkin(conn: psycopg.Connection, point: Any, lon: Any, lat: Any, crs: str | None,
            inspector: str | None) -> dict[str, Any]:
    """Judges and records one check-in."""
    for name, v in (("lon", lon), ("lat", lat)):
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise InvalidInput(f"{name}: expected a number, got {v!r}")
    ref = gcrs.resolve(crs)
    x, y = gcrs.transform([float(lon)], [float(lat)], ref, gcrs.STORAGE)
    if not (-180 <= x[0] <= 180 and -90 <= y[0] <= 90) or not math.isfinite(x[0]):
        raise InvalidInput(f"lon/lat {lon}, {lat} are not a position in {ref.name}")
    row = conn.execute(
        """SELECT id, code, name, radius_m, ST_AsBinary(geom), ST_AsBinary(area) FROM eval_sample_points
           WHERE code = %(p)s OR id::text = %(p)s""", {"p": str(point)}).fetchone()
    if row is None:
        raise NotFound(f"point: no sample point {point!r}")
    pid, code, name, radius, geom_wkb, area_wkb = row
    here = shapely.Point(float(x[0]), float(y[0]))
    if area_wkb is not None:
        area = shapely.from_wkb(area_wkb)
        inside = bool(area.covers(here))
        distance = 0.0 if inside else metric.distance_m(here, area)
        rule = "polygon"
    else:
        distance = metric.distance_m(here, shapely.from_wkb(geom_wkb))
        inside = distance <= radius
        rule = "radius"
    # who the point is assigned to (any draw; the latest assignment first): the answer names them, so a
    # check-in by someone else says whose point it was
    assigned_to = [r[0] for r in conn.execute(
        """SELECT inspector FROM eval_sample_assignments WHERE point_id = %s
           GROUP BY inspector ORDER BY max(assigned_at) DESC, max(id) DESC""", (pid,)).fetchall()]
    assigned = inspector in assigned_to
    cid, ts = conn.execute(
        """INSERT INTO eval_sample_checkins (point_id, inspector, inside, distance_m, crs, geom)
           VALUES (%s, %s, %s, %s, %s, ST_SetSRID(ST_MakePoint(%s, %s), 4490)) RETURNING id, ts""",
        (pid, inspector, inside, round(distance, 1), ref.name, here.x, here.y)).fetchone()
    return {"id": cid, "ts": ts.isoformat(), "point": code, "name": name, "inside": inside, "rule": rule,
            "radius_m": radius if rule == "radius" else None, "distance_m": round(distance, 1),
            "lon": round(here.x, 7), "lat": round(here.y, 7), "crs": ref.name, "inspector": inspector,
            "assigned": assigned, "assigned_to": assigned_to}
