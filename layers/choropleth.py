"""Choropleths: case counts, case density and evaluation grades per unit grid, evaluation grid, community or
street, with class breaks and a legend from styles/choropleth.json.

Cases are attributed to areas through `cases.unit_grid_code` (kept by the grid trigger of migration 0002),
whose 12- and 9-digit prefixes are the community and street codes: one grouped scan, no spatial join.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import orjson
import psycopg

from gis import catalog
from gis.errors import InvalidInput
from gis.security import scope
from gis.security.scope import Area

from .classify import breaks, classify, legend
from .heat import build_query
from .style import class_colors, load

#: level → (area table and condition, expression over cases `c` giving the area code)
LEVELS: dict[str, tuple[str, str, str]] = {
    "unit_grid": ("unit_grids a", "TRUE", "c.unit_grid_code"),
    "eval_grid": ("eval_grids a", "TRUE", "ug.eval_code"),
    "community": ("admin_areas a", "a.level = 'community'", "left(c.unit_grid_code, 12)"),
    "street": ("admin_areas a", "a.level = 'street'", "left(c.unit_grid_code, 9)"),
}
#: level → the catalog layer of its areas (whose scope says which areas a scoped caller sees)
AREA_LAYERS = {"unit_grid": "unit_grids", "eval_grid": "eval_grids", "community": "admin_areas",
               "street": "admin_areas"}
METRICS = ("cases", "case_rate", "eval_grade")
#: Grades by quartile of case density (lowest quarter best).
GRADES = ("优", "良", "中", "差")


def choropleth(conn: psycopg.Connection, *, level: str = "community", metric: str = "cases",
               source: str | None = "cases", start: str | datetime | None = None, stop: str | datetime | None = None,
               category: str | None = None, bbox: str | tuple | None = None, method: str = "quantiles",
               classes: int = 5, geometry: bool = True, area: Area | None = None) -> dict[str, Any]:
    """`area`: the caller's (gis/security/scope.py): only the areas inside it, counting only its cases."""
    if level not in LEVELS:
        raise InvalidInput(f"level must be one of {', '.join(LEVELS)}, got {level!r}")
    if metric not in METRICS:
        raise InvalidInput(f"metric must be one of {', '.join(METRICS)}, got {metric!r}")
    if source not in (None, "cases", "complaints"):
        raise InvalidInput(f"choropleth source must be cases or complaints, got {source!r}")
    q = build_query(conn, source=source or "cases", bbox=bbox or "", start=start, stop=stop, category=category,
                    area=area)
    table, cond, code_expr = LEVELS[level]
    conds, params = q.where("c")
    if area is not None:
        inside, values = scope.named(*scope.condition(catalog.get(AREA_LAYERS[level]), area, "a"), prefix="area")
        cond = f"{cond} AND {inside}"
        params.update(values)
    join = "JOIN unit_grids ug ON ug.code = c.unit_grid_code" if level == "eval_grid" else ""
    area_filter = ""
    if bbox:
        area_filter = "AND a.geom && ST_MakeEnvelope(%(w)s, %(s)s, %(e)s, %(n)s, 4490)"
        params.update(dict(zip("wsen", q.bbox or (), strict=True)))
    geom_sql = "ST_AsGeoJSON(a.geom, 7)" if geometry else "NULL"
    sql = f"""
        WITH n AS (
            SELECT {code_expr} AS code, count(*) AS n FROM cases c {join}
            WHERE c.unit_grid_code IS NOT NULL {''.join(' AND ' + x for x in conds)}
            GROUP BY 1
        )
        SELECT a.code, a.name, COALESCE(n.n, 0),
               COALESCE(a.area_m2, ST_Area(a.geom::geography)) / 1e6, {geom_sql}
        FROM {table} LEFT JOIN n ON n.code = a.code
        WHERE {cond} {area_filter}
        ORDER BY a.code
    """
    rows = conn.execute(sql, params).fetchall()
    counts = np.array([r[2] for r in rows], dtype=np.float64)
    area = np.array([r[3] or 0.0 for r in rows], dtype=np.float64)
    rate = np.divide(counts, area, out=np.zeros_like(counts), where=area > 0)
    style = load("choropleth")
    grades = _grades(rate)
    if metric == "eval_grade":
        colors_by_grade = style["metrics"]["eval_grade"]["grades"]
        leg = [{"grade": g, "color": colors_by_grade[g], "count": int(sum(1 for x in grades if x == g)),
                "label": g} for g in GRADES]
        klass = np.array([GRADES.index(g) for g in grades], dtype=np.int64)
        colors = [colors_by_grade[g] for g in GRADES]
        upper: list[float] = []
    else:
        values = counts if metric == "cases" else rate
        ramp = style["metrics"][metric]["ramp"]
        upper = breaks(values, method, classes)
        klass = classify(values, upper)
        colors = class_colors(ramp, max(1, len(upper)))
        leg = legend(values, upper, ramp, style["metrics"][metric]["unit"])
    feats = []
    for i, (code, name, n, km2, geo) in enumerate(rows):
        feats.append({
            "type": "Feature", "id": code,
            "geometry": orjson.Fragment(geo) if geo else None,
            "properties": {"code": code, "name": name, "level": level, "cases": int(n), "area_km2": float(km2 or 0),
                           "case_rate": float(rate[i]), "grade": grades[i], "class": int(klass[i]),
                           "color": colors[int(klass[i])] if colors else style["no_data"]},
        })
    return {
        "type": "FeatureCollection", "features": feats, "level": level, "metric": metric, "source": q.source.id,
        "method": None if metric == "eval_grade" else method, "breaks": upper, "legend": leg,
        "title": style["metrics"][metric]["title"], "unit": style["metrics"][metric]["unit"],
        "from": q.start.isoformat() if q.start else None, "to": q.stop.isoformat() if q.stop else None,
        "total_cases": int(counts.sum()),
    }


def _grades(rate: np.ndarray) -> list[str]:
    """优/良/中/差 by quartile of case density among the areas (ties share the better grade)."""
    if rate.size == 0:
        return []
    qs = np.quantile(rate, [0.25, 0.5, 0.75])
    idx = np.searchsorted(qs, rate, side="left")
    return [GRADES[int(i)] for i in idx]
