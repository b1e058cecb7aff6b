"""普查成果: per district, street or community — surveyed area, unit-grid count and area,
responsibility-grid count and area, component count and density per km² by 大类, supervisor count.

One set-based query per call. Areas are geodesic (the stored `area_m2` when present, else PostGIS
geography area). Unit grids and components belong to an area by code prefix (a unit grid's code starts
with its community's; a component by its derived unit grid); a responsibility grid belongs to the area
holding its point-on-surface, since its code follows no region prefix. Supervisors are the distinct
assignees of those responsibility grids (one supervisor each, standards.md §2).
"""

from __future__ import annotations

from typing import Any

import psycopg

from gis.codes import COMPONENT_MAJORS
from gis.errors import InvalidInput
from gis.security import scope
from gis.security.scope import Area

LEVELS = {"district": 6, "street": 9, "community": 12}


#: The tables a census reads (its answers are cached against their change counters).
TABLES = ("admin_areas", "unit_grids", "work_grids", "components")


def census(conn: psycopg.Connection, level: str = "district", code: str | None = None,
           area: Area | None = None) -> list[dict[str, Any]]:
    """One row per area of `level` (within `code` when given, and inside the caller's `area`: the
    admin_areas layer's scope), ordered by code. An area inside a street holds only that street's unit
    grids and components (by code), so its figures are the scoped caller's own."""
    if level not in LEVELS:
        raise InvalidInput(f"level must be one of {', '.join(LEVELS)}, got {level!r}")
    if code is not None and not (code.isdigit() and len(code) in (6, 9, 12) and len(code) <= LEVELS[level]):
        raise InvalidInput(f"code {code!r} is not a region code at or above the {level} level")
    n = LEVELS[level]
    inside, values = scope.named(*scope.clause("admin_areas", area, "t"))
    rows = conn.execute(
        f"""WITH a AS (
               SELECT code, name, parent_code, coalesce(area_m2, ST_Area(geom::geography)) AS area_m2, geom
               FROM admin_areas t WHERE level = %(level)s AND (%(code)s::text IS NULL OR left(code, %(cl)s) = %(code)s)
                    AND {inside}),
           ug AS (
               SELECT left(code, %(n)s) AS k, count(*) AS n, sum(coalesce(area_m2, ST_Area(geom::geography))) AS m2
               FROM unit_grids GROUP BY 1),
           rg AS (
               SELECT a.code AS k, count(*) AS n, sum(ST_Area(w.geom::geography)) AS m2,
                      count(DISTINCT w.assignee) AS sup
               FROM work_grids w JOIN a ON ST_Intersects(a.geom, ST_PointOnSurface(w.geom))
               WHERE w.kind = 'responsibility' GROUP BY a.code),
           cm AS (
               SELECT k, jsonb_object_agg(major, n ORDER BY major) AS by_major, sum(n) AS total
               FROM (SELECT left(unit_grid_code, %(n)s) AS k, major, count(*) AS n FROM components
                     WHERE unit_grid_code IS NOT NULL GROUP BY 1, 2) x GROUP BY k)
           SELECT a.code, a.name, a.parent_code, a.area_m2, coalesce(ug.n, 0), coalesce(ug.m2, 0),
                  coalesce(rg.n, 0), coalesce(rg.m2, 0), coalesce(rg.sup, 0), coalesce(cm.total, 0),
                  coalesce(cm.by_major, '{{}}'::jsonb)
           FROM a LEFT JOIN ug ON ug.k = a.code LEFT JOIN rg ON rg.k = a.code LEFT JOIN cm ON cm.k = a.code
           ORDER BY a.code""",
        {"level": level, "code": code, "cl": len(code) if code else 0, "n": n, **values},
    ).fetchall()
    out = []
    for r in rows:
        area_m2 = float(r[3] or 0.0)
        km2 = area_m2 / 1e6

        def density(count: float, km2: float = km2) -> float | None:
            return round(count / km2, 3) if km2 > 0 else None

        out.append({
            "code": r[0], "name": r[1], "level": level, "parent_code": r[2],
            "area_m2": round(area_m2, 1), "area_km2": round(km2, 4),
            "unit_grids": {"count": r[4], "area_m2": round(float(r[5]), 1)},
            "responsibility_grids": {"count": r[6], "area_m2": round(float(r[7]), 1)},
            "supervisors": r[8],
            "components": {
                "count": int(r[9]), "density_per_km2": density(float(r[9])),
                "by_major": {m: {"name": COMPONENT_MAJORS.get(m, m), "count": int(c), "density_per_km2": density(c)}
                             for m, c in r[10].items()},
            },
        })
    return out
