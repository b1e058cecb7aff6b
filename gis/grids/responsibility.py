"""Is a point inside the responsibility grid of a person or team, and how far is it from it?

Reports from outside the reporter's grid raise 跨网格提醒 (`cross_grid`); staff positions outside their
grid raise 脱岗提醒 (`off_post`). Distances are geodesic metres (PostGIS geography) to the nearest of the
person's grids, 0 inside. Only `responsibility` grids count unless other kinds are asked for.
"""

from __future__ import annotations

from typing import Any

import psycopg

from gis import crs as gcrs
from gis.errors import InvalidInput, NotFound
from gis.grids.locate import check_coordinates
from gis.security import scope
from gis.security.scope import Area

ALERTS = {"report": "cross_grid", "position": "off_post"}
KINDS = ("work", "responsibility", "sanitation_patrol", "greening_maintenance", "enforcement_patrol",
         "cityscape_responsibility")


def check_responsibility(conn: psycopg.Connection, x: float, y: float, crs: str | int | None = None, *,
                         person: str | None = None, team: str | None = None, purpose: str = "report",
                         kinds: tuple[str, ...] = ("responsibility",), area: Area | None = None) -> dict[str, Any]:
    """The verdict for one point: inside or not, distance in metres, and which alert applies. A caller
    limited to an `area` is judged against the person's grids inside it only (the work_grids layer's
    scope): grids elsewhere do not exist for it."""
    if not person and not team:
        raise InvalidInput("name a person or a team")
    if purpose not in ALERTS:
        raise InvalidInput(f"purpose must be one of {', '.join(ALERTS)}, got {purpose!r}")
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        raise InvalidInput(f"unknown grid kind {', '.join(bad)}; kinds are {', '.join(KINDS)}")
    xs, ys = check_coordinates([x], [y], crs)
    sx, sy = gcrs.to_storage(xs, ys, crs)
    inside, values = scope.named(*scope.clause("work_grids", area, "w"))
    rows = conn.execute(
        f"""WITH p AS (SELECT ST_SetSRID(ST_MakePoint(%(x)s, %(y)s), 4490) AS g)
           SELECT w.code, w.name, w.kind, w.assignee, w.team, ST_Intersects(w.geom, p.g),
                  ST_Distance(w.geom::geography, p.g::geography)
           FROM work_grids w, p
           WHERE w.kind = ANY(%(kinds)s)
             AND ((%(person)s::text IS NOT NULL AND w.assignee = %(person)s)
                  OR (%(team)s::text IS NOT NULL AND w.team = %(team)s))
             AND {inside}
           ORDER BY 6 DESC, 7, w.kind, w.code""",
        {"x": float(sx[0]), "y": float(sy[0]), "kinds": list(kinds), "person": person, "team": team, **values},
    ).fetchall()
    who = " / ".join(filter(None, [f"person {person}" if person else None, f"team {team}" if team else None]))
    if not rows:
        raise NotFound(f"no {' or '.join(kinds)} grid is assigned to {who}"
                       + (f" inside the area {area.label}" if area is not None else ""))
    grids = [{"code": r[0], "name": r[1], "kind": r[2], "assignee": r[3], "team": r[4], "inside": r[5],
              "distance_m": 0.0 if r[5] else round(float(r[6]), 2)} for r in rows]
    inside = any(g["inside"] for g in grids)
    return {
        "person": person, "team": team, "purpose": purpose, "inside": inside,
        "distance_m": 0.0 if inside else grids[0]["distance_m"],
        "nearest_grid": grids[0]["code"],
        "alert": None if inside else ALERTS[purpose],
        "grids": grids,
    }


#: A person's status over a window: present inside their grids, seen outside them, or not seen at all.
STATUSES = ("on_post", "off_post", "absent")


def on_post(conn: psycopg.Connection, start: Any, end: Any, kinds: tuple[str, ...] = ("responsibility",),
            limit: int = 2000, area: Area | None = None) -> dict[str, Any]:
    """跨网格/脱岗 for everyone with a grid, over [start, end) (a shift): the fixes of each vehicle or device
    whose `operator` is a grid's `assignee` (or whose `vehicle_group` is its `team`) against the union of
    those grids. `absent`: no fix in the window (脱岗: not on duty); `off_post`: fixes outside the grids
    (跨网格) — with how many, the share, the first time outside and the farthest distance; else `on_post`.
    One statement, set-based: the grids are unioned per device once, each fix tested once. A caller
    limited to an `area` sees the vehicles of that area (the vehicles layer's scope: their fleets'
    areas), filtered before the limit, so the counts are those of the rows returned."""
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        raise InvalidInput(f"unknown grid kind {', '.join(bad)}; kinds are {', '.join(KINDS)}")
    inside, values = scope.named(*scope.clause("vehicles", area, "v"))
    rows = conn.execute(
        f"""WITH staff AS (
               SELECT v.id, v.plate, v.kind, coalesce(v.operator, v.vehicle_group) AS who,
                      array_agg(DISTINCT w.code ORDER BY w.code) AS codes,
                      array_agg(DISTINCT w.name ORDER BY w.name) AS names, ST_Union(w.geom) AS g
               FROM vehicles v JOIN work_grids w ON w.kind = ANY(%(kinds)s)
                    AND (w.assignee = v.operator OR w.team = v.vehicle_group)
               WHERE {inside}
               GROUP BY v.id),
           fx AS (
               SELECT p.vehicle_id, p.ts, p.geom, ST_Intersects(s.g, p.geom) AS inside
               FROM staff s JOIN positions p ON p.vehicle_id = s.id AND p.ts >= %(a)s AND p.ts < %(b)s),
           agg AS (
               SELECT vehicle_id, count(*) AS n, count(*) FILTER (WHERE NOT inside) AS outside,
                      min(ts) FILTER (WHERE NOT inside) AS first_out, max(ts) AS last_ts,
                      (array_agg(inside ORDER BY ts DESC))[1] AS last_inside,
                      (array_agg(geom ORDER BY ts DESC))[1] AS last_geom
               FROM fx GROUP BY vehicle_id),
           far AS (
               SELECT fx.vehicle_id, max(ST_Distance(s.g::geography, fx.geom::geography)) AS far_m
               FROM fx JOIN staff s ON s.id = fx.vehicle_id WHERE NOT fx.inside GROUP BY fx.vehicle_id)
           SELECT s.id, s.plate, s.kind, s.who, s.codes, s.names, coalesce(a.n, 0), coalesce(a.outside, 0),
                  a.first_out, a.last_ts, a.last_inside, ST_X(a.last_geom), ST_Y(a.last_geom), far.far_m
           FROM staff s LEFT JOIN agg a ON a.vehicle_id = s.id LEFT JOIN far ON far.vehicle_id = s.id
           ORDER BY coalesce(a.outside, 0) DESC, coalesce(a.n, 0), s.id LIMIT %(limit)s""",
        {"kinds": list(kinds), "a": start, "b": end, "limit": limit, **values},
    ).fetchall()
    staff = []
    for (vid, plate, kind, who, codes, names, n, outside, first_out, last_ts, last_inside, lon, lat,
         far_m) in rows:
        status = "absent" if n == 0 else "off_post" if outside else "on_post"
        staff.append({
            "vehicle_id": vid, "plate": plate, "kind": kind, "person": who, "grids": codes, "grid_names": names,
            "status": status, "alert": {"off_post": "cross_grid", "absent": "off_post"}.get(status),
            "fixes": n, "fixes_outside": outside, "outside_share": round(outside / n, 4) if n else None,
            "first_outside": first_out.isoformat() if first_out else None,
            "farthest_m": round(float(far_m), 1) if far_m is not None else 0.0,
            "last": {"ts": last_ts.isoformat(), "lon": lon, "lat": lat, "inside": last_inside} if last_ts else None,
        })
    counts = {s: sum(1 for x in staff if x["status"] == s) for s in STATUSES}
    return {"from": start.isoformat(), "to": end.isoformat(), "kinds": list(kinds), "counts": counts,
            "staff": staff}
