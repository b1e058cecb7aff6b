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

ALERTS = {"report": "cross_grid", "position": "off_post"}
KINDS = ("work", "responsibility", "sanitation_patrol", "greening_maintenance", "enforcement_patrol",
         "cityscape_responsibility")


def check_responsibility(conn: psycopg.Connection, x: float, y: float, crs: str | int | None = None, *,
                         person: str | None = None, team: str | None = None, purpose: str = "report",
                         kinds: tuple[str, ...] = ("responsibility",)) -> dict[str, Any]:
    """The verdict for one point: inside or not, distance in metres, and which alert applies."""
    if not person and not team:
        raise InvalidInput("name a person or a team")
    if purpose not in ALERTS:
        raise InvalidInput(f"purpose must be one of {', '.join(ALERTS)}, got {purpose!r}")
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        raise InvalidInput(f"unknown grid kind {', '.join(bad)}; kinds are {', '.join(KINDS)}")
    xs, ys = check_coordinates([x], [y], crs)
    sx, sy = gcrs.to_storage(xs, ys, crs)
    rows = conn.execute(
        """WITH p AS (SELECT ST_SetSRID(ST_MakePoint(%(x)s, %(y)s), 4490) AS g)
           SELECT w.code, w.name, w.kind, w.assignee, w.team, ST_Intersects(w.geom, p.g),
                  ST_Distance(w.geom::geography, p.g::geography)
           FROM work_grids w, p
           WHERE w.kind = ANY(%(kinds)s)
             AND ((%(person)s::text IS NOT NULL AND w.assignee = %(person)s)
                  OR (%(team)s::text IS NOT NULL AND w.team = %(team)s))
           ORDER BY 6 DESC, 7, w.kind, w.code""",
        {"x": float(sx[0]), "y": float(sy[0]), "kinds": list(kinds), "person": person, "team": team},
    ).fetchall()
    who = " / ".join(filter(None, [f"person {person}" if person else None, f"team {team}" if team else None]))
    if not rows:
        raise NotFound(f"no {' or '.join(kinds)} grid is assigned to {who}")
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
