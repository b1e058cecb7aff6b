"""Camera coverage (监控覆盖率): which drop points, compounds and road lengths fall inside some online
camera's viewed sector, counted per community and street, as figures and as a choropleth.

One statement, set-based: the online sectors (`cameras.sector`, a stored generated column with a
partial GiST index) are unioned per community (only those touching it), then
- a drop point (waste facility of kind drop_point) is covered when a sector covers it;
- a compound (zone) is covered when a sector touches it (a gate camera sees its entrance: watching the
  way in is what 小区出入口监控 means, not filming every courtyard);
- road length is the geodesic length of streets clipped to the community, and of that clipped part
  inside the community's sector union.
Points and compounds belong to the community that covers them (a compound by its point on surface);
streets add up their communities (communities tile streets, so sums are exact).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
import psycopg

from gis.errors import InvalidInput
from gis.security import scope
from gis.security.scope import Area

from .classify import breaks, classify, legend
from .style import class_colors, load

LEVELS = ("community", "street")
MEASURES = ("drop_points", "compounds", "roads", "overall")

COMMUNITY_SQL = """
    WITH comm AS (SELECT code, name, parent_code, geom FROM admin_areas t WHERE level = 'community' AND {inside}),
    cov AS (SELECT a.code, ST_Union(c.sector) AS g
            FROM comm a JOIN cameras c ON c.state = 'online' AND c.sector && a.geom
                                          AND ST_Intersects(c.sector, a.geom)
            GROUP BY a.code),
    dp AS (SELECT a.code, count(*) AS n,
                  count(*) FILTER (WHERE EXISTS (SELECT 1 FROM cameras c WHERE c.state = 'online'
                                                 AND ST_Covers(c.sector, w.geom))) AS covered
           FROM waste_facilities w JOIN comm a ON ST_Covers(a.geom, w.geom)
           WHERE w.kind = 'drop_point' GROUP BY a.code),
    zn AS (SELECT a.code, count(*) AS n,
                  count(*) FILTER (WHERE EXISTS (SELECT 1 FROM cameras c WHERE c.state = 'online'
                                                 AND ST_Intersects(c.sector, z.geom))) AS covered
           FROM zones z JOIN comm a ON ST_Covers(a.geom, ST_PointOnSurface(z.geom)) GROUP BY a.code),
    rd AS (SELECT r.code, sum(ST_Length(r.g::geography)) AS total,
                  sum(coalesce(ST_Length(ST_Intersection(r.g, cov.g)::geography), 0)) AS covered
           FROM (SELECT a.code, ST_Intersection(s.geom, a.geom) AS g
                 FROM streets s JOIN comm a ON ST_Intersects(s.geom, a.geom)) r
           LEFT JOIN cov ON cov.code = r.code GROUP BY r.code)
    SELECT a.code, a.name, a.parent_code, coalesce(dp.n, 0), coalesce(dp.covered, 0), coalesce(zn.n, 0),
           coalesce(zn.covered, 0), coalesce(rd.total, 0), coalesce(rd.covered, 0)
    FROM comm a LEFT JOIN dp USING (code) LEFT JOIN zn USING (code) LEFT JOIN rd USING (code)
    ORDER BY a.code"""


def _share(covered: float, total: float) -> float | None:
    return round(covered / total, 4) if total else None


def _figures(dp_n: int, dp_c: int, zn_n: int, zn_c: int, road_m: float, road_c: float) -> dict[str, Any]:
    shares = [s for s in (_share(dp_c, dp_n), _share(zn_c, zn_n), _share(road_c, road_m)) if s is not None]
    return {
        "drop_points": {"total": int(dp_n), "covered": int(dp_c), "share": _share(dp_c, dp_n)},
        "compounds": {"total": int(zn_n), "covered": int(zn_c), "share": _share(zn_c, zn_n)},
        "roads": {"total_m": round(float(road_m), 1), "covered_m": round(float(road_c), 1),
                  "share": _share(road_c, road_m)},
        # the mean of the three shares the area has (what the choropleth colours by default)
        "overall": round(sum(shares) / len(shares), 4) if shares else None,
    }


def coverage(conn: psycopg.Connection, *, level: str = "community", measure: str = "overall",
             geometry: bool = True, classes: int = 5, method: str = "equal_interval",
             area: Area | None = None) -> dict[str, Any]:
    """Coverage per area of `level` as a GeoJSON FeatureCollection (choropleth of `measure`'s share) with
    the district's totals. A caller limited to an `area` gets the communities and streets inside it (the
    admin_areas layer's scope), totals summed over those, and the online cameras inside it."""
    if level not in LEVELS:
        raise InvalidInput(f"level must be one of {', '.join(LEVELS)}, got {level!r}")
    if measure not in MEASURES:
        raise InvalidInput(f"measure must be one of {', '.join(MEASURES)}, got {measure!r}")
    inside, values = scope.clause("admin_areas", area, "t")
    rows = conn.execute(COMMUNITY_SQL.format(inside=inside), values).fetchall()
    per: dict[str, list] = {}
    names: dict[str, str] = {}
    if level == "community":
        for code, name, _parent, *nums in rows:
            per[code] = list(nums)
            names[code] = name
    else:
        for _code, _name, parent, *nums in rows:
            acc = per.setdefault(parent, [0, 0, 0, 0, 0.0, 0.0])
            for i, v in enumerate(nums):
                acc[i] += v
        streets = conn.execute(f"SELECT code, name FROM admin_areas t WHERE level = 'street' AND {inside}",
                               values).fetchall()
        kept = {code for code, _ in streets}
        per = {code: nums for code, nums in per.items() if code in kept}
        for code, name in streets:
            per.setdefault(code, [0, 0, 0, 0, 0.0, 0.0])
            names[code] = name
    geoms: dict[str, str] = {}
    if geometry and per:
        geoms = dict(conn.execute("SELECT code, ST_AsGeoJSON(geom, 7) FROM admin_areas WHERE code = ANY(%s)",
                                  (list(per),)).fetchall())
    codes = sorted(per)
    figs = [_figures(*per[c]) for c in codes]
    value = np.array([(f["overall"] if measure == "overall" else f[measure]["share"]) for f in figs],
                     dtype=object)
    pct = np.array([np.nan if v is None else 100.0 * v for v in value], dtype=np.float64)
    style = load("choropleth")
    ramp = style["metrics"]["camera_coverage"]["ramp"]
    have = ~np.isnan(pct)
    upper = breaks(pct[have], method, classes) if have.any() else []
    klass = classify(np.nan_to_num(pct, nan=0.0), upper)
    colors = class_colors(ramp, max(1, len(upper)))
    feats = []
    for i, code in enumerate(codes):
        props = {"code": code, "name": names.get(code), "level": level, **figs[i],
                 "value_pct": None if not have[i] else round(float(pct[i]), 2),
                 "class": int(klass[i]) if have[i] else None,
                 "color": colors[int(klass[i])] if have[i] and colors else style["no_data"]}
        feats.append({"type": "Feature", "id": code,
                      "geometry": orjson.Fragment(geoms[code]) if code in geoms else None, "properties": props})
    cams, cam_values = scope.clause("cameras", area, "t")
    totals = np.array([per[c] for c in codes], dtype=np.float64).sum(axis=0) if codes else np.zeros(6)
    return {
        "type": "FeatureCollection", "features": feats, "level": level, "measure": measure,
        "district": _figures(*totals.tolist()), "breaks": upper,
        "legend": legend(pct[have], upper, ramp, "%") if have.any() else [],
        "title": style["metrics"]["camera_coverage"]["title"], "unit": "%",
        "online_cameras": conn.execute(f"SELECT count(*) FROM cameras t WHERE state = 'online' AND {cams}",
                                       cam_values).fetchone()[0],
    }
