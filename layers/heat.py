"""Hexagon heat: H3 aggregates of a point source in a viewport, as GeoJSON.

One indexed aggregate per request: the viewport is covered by resolution-r hexagons (whole hexagons, so
a hexagon's figure does not depend on where the viewport edge cuts it), their resolution-15 descendants
are a few id ranges, and PostgreSQL scans those ranges of the covering `h3_cell` index and groups by the
parent expression (see layers.cells). Time, category and source filters are plain SQL conditions.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime
from typing import Any

import numpy as np
import psycopg
from h3.api import basic_int

from gis.errors import InvalidInput
from gis.params import BBox, parse_bbox, parse_list, parse_range
from gis.security.scope import Area

from . import cache, rollup
from . import cells as hcells
from .classify import breaks, classify, legend
from .query import HeatQuery
from .sources import HeatSource, get_source
from .style import class_colors, load


def build_query(
    conn: psycopg.Connection, *, source: str | None = None, bbox: str | BBox | None = None,
    start: str | datetime | None = None, stop: str | datetime | None = None, category: str | None = None,
    weight: str | None = None, area: Area | None = None,
) -> HeatQuery:
    """Validate the request parameters against the source's registry entry (`area`: the caller's, whose
    points alone count)."""
    src = get_source(source)
    box = (parse_bbox(bbox, need_area=True) if bbox else None) if isinstance(bbox, str) or bbox is None else bbox
    t0, t1 = parse_range(start, stop)
    if (t0 or t1) and not src.time_column:
        raise InvalidInput(f"source {src.id!r} has no time; from/to do not apply")
    cats = parse_list(category)
    if cats and not src.category:
        raise InvalidInput(f"source {src.id!r} has no category to filter on")
    if weight in (None, ""):
        wcol = src.weights.get(src.default_weight) if src.default_weight else None
    elif weight in ("1", "count", "none"):
        wcol = None
    elif weight in src.weights:
        wcol = src.weights[weight]
    else:
        known = ", ".join(["count", *src.weights]) or "count"
        raise InvalidInput(f"weight {weight!r} is not a weight of source {src.id!r}; use one of: {known}")
    return HeatQuery(src, box or default_bbox(conn, src), t0, t1, cats, wcol, area)


def default_bbox(conn: psycopg.Connection, src: HeatSource) -> BBox | None:
    """The district(s) loaded, else the extent of the source's points."""
    row = conn.execute(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
        "(SELECT ST_Extent(geom) AS e FROM admin_areas WHERE level = 'district') d"
    ).fetchone()
    if row and row[0] is not None:
        return tuple(row)  # type: ignore[return-value]
    table = f"({src.select}) AS {src.table}" if src.select else src.table
    row = conn.execute(f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                       f"(SELECT ST_Extent(geom) AS e FROM {table}) d").fetchone()
    if row and row[0] is not None:
        w, s, e, n = row
        pad = 1e-4
        return (w - pad, s - pad, e + pad, n + pad)
    return None


def aggregate(conn: psycopg.Connection, q: HeatQuery, res: int, cover: list[int]) -> tuple[np.ndarray, ...]:
    """(cells, counts, weights) of the points under the `cover` hexagons at resolution `res`.

    Coarse resolutions read the rollup for the whole months of the window (layers.rollup) and the points
    only for the partial months at its ends; everything else reads the points.
    """
    if not cover:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64)
    src = q.source
    if not src.indexed:
        conds, params = q.where("t")
        return _aggregate_computed(conn, q, res, cover, conds, params)
    hcells.ensure_cells(conn, src)
    p = rollup.plan(q, res)
    if p is None:
        return _aggregate_points(conn, q, res, cover)
    answers = [rollup.aggregate(conn, q, p, res, cover)]
    answers += [_aggregate_points(conn, replace(q, start=a, stop=b), res, cover) for a, b in p.edges]
    return rollup.merge(answers)


def _aggregate_points(conn: psycopg.Connection, q: HeatQuery, res: int, cover: list[int]) -> tuple[np.ndarray, ...]:
    """The points' own cells: one grouped scan of the time index or of the viewport's id ranges."""
    src = q.source
    conds, params = q.where("t")
    parent = hcells.parent_sql("t.h3_cell", res)
    where = f"{'AND ' + ' AND '.join(conds) if conds else ''}"
    if _time_first(conn, q):
        # Few rows in the window: index-only scan of the time index, cells filtered in it.
        params["cover"] = cover
        sql = (f"SELECT {parent} AS cell, count(*), sum({q.weight_sql('t')}) FROM {src.table} t "
               f"WHERE {parent} = ANY(%(cover)s::bigint[]) {where} GROUP BY 1")
    else:
        # The viewport's cells as id ranges of the covering h3_cell index.
        lo, hi = hcells.cover_ranges(cover)
        params.update(lo=lo, hi=hi)
        sql = (f"SELECT {parent} AS cell, count(*), sum({q.weight_sql('t')}) "
               f"FROM {src.table} t JOIN unnest(%(lo)s::bigint[], %(hi)s::bigint[]) AS rg(lo, hi) "
               f"ON t.h3_cell BETWEEN rg.lo AND rg.hi WHERE TRUE {where} GROUP BY 1")
    rows = conn.execute(sql, params).fetchall()
    if not rows:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64)
    return (np.array([r[0] for r in rows], np.int64), np.array([r[1] for r in rows], np.int64),
            np.array([r[2] or 0.0 for r in rows], np.float64))


#: Use the time index when the window holds less than this share of the source's rows.
TIME_FIRST_SHARE = 0.15


def _time_first(conn: psycopg.Connection, q: HeatQuery) -> bool:
    """Is the time window selective enough to scan it instead of the viewport? (planner estimates, ~1 ms)"""
    col = q.source.time_column
    if not col or not (q.start or q.stop):
        return False
    total = conn.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", (q.source.table,)).fetchone()
    if not total or total[0] <= 0:
        return False
    conds, params = [], {}
    if q.start:
        conds.append(f"{col} >= %(start)s")
        params["start"] = q.start
    if q.stop:
        conds.append(f"{col} < %(stop)s")
        params["stop"] = q.stop
    plan = conn.execute(f"EXPLAIN (FORMAT JSON) SELECT 1 FROM {q.source.table} WHERE {' AND '.join(conds)}",
                        params).fetchone()[0]
    return plan[0]["Plan"]["Plan Rows"] < TIME_FIRST_SHARE * total[0]


def _aggregate_computed(conn: psycopg.Connection, q: HeatQuery, res: int, cover: list[int], conds: list[str],
                        params: dict[str, Any]) -> tuple[np.ndarray, ...]:
    """Small sources without a stored cell (e.g. vehicles' last fixes): cells computed per point here."""
    src = q.source
    w, s, e, n = _cover_bounds(cover)
    params.update(w=w, s=s, e=e, n=n)
    conds = [*conds, "t.geom && ST_MakeEnvelope(%(w)s, %(s)s, %(e)s, %(n)s, 4490)"]
    rows = conn.execute(
        f"SELECT ST_X(t.geom), ST_Y(t.geom), {q.weight_sql('t')} FROM ({src.select}) AS t "
        f"WHERE {' AND '.join(conds)}", params,
    ).fetchall()
    if not rows:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64)
    arr = np.array(rows, dtype=np.float64)
    c = hcells.latlng_cells(arr[:, 1], arr[:, 0], res)
    keep = np.isin(c, np.array(cover, dtype=np.int64))
    uniq, inv = np.unique(c[keep], return_inverse=True)
    return uniq, np.bincount(inv, minlength=uniq.size).astype(np.int64), np.bincount(
        inv, weights=arr[keep, 2], minlength=uniq.size)


def _cover_bounds(cover: list[int]) -> BBox:
    pts = np.array([p for c in cover for p in basic_int.cell_to_boundary(c)])
    return float(pts[:, 1].min()), float(pts[:, 0].min()), float(pts[:, 1].max()), float(pts[:, 0].max())


def choose_resolution(bbox: BBox, zoom: float | None, resolution: int | None, width_px: int = 1024) -> int:
    """Resolution from the map zoom (about 12-px hexagon edges), or from the viewport width; overridable."""
    if resolution is not None:
        if not hcells.MIN_RES <= resolution <= hcells.MAX_RES:
            raise InvalidInput(f"resolution must be {hcells.MIN_RES}–{hcells.MAX_RES}, got {resolution}")
        return resolution
    lat = (bbox[1] + bbox[3]) / 2
    if zoom is not None:
        if not 0 <= zoom <= 24:
            raise InvalidInput(f"zoom must be 0–24, got {zoom}")
        mpp = hcells.meters_per_pixel_at_zoom(zoom, lat)
    else:
        mpp = (bbox[2] - bbox[0]) * 111_320 * math.cos(math.radians(lat)) / width_px
    return hcells.resolution_for(mpp)


def hexagons(conn: psycopg.Connection, q: HeatQuery, *, zoom: float | None = None,
             resolution: int | None = None, answers: cache.LayerCache | None = None) -> dict[str, Any]:
    """GeoJSON FeatureCollection of hexagons with count, weight and the styled value/colour, plus a legend."""
    if q.bbox is None:
        return _collection(q, [], resolution or hcells.MIN_RES, np.zeros(0), [])
    res = choose_resolution(q.bbox, zoom, resolution)
    if not q.cacheable:
        return _hexagons(conn, q, res)
    hcells.ensure_cells(conn, q.source)  # a back-fill bumps the change counter: read it after
    return cache.get_or_compute(answers, conn, (q.source.table,), ("hexagons", res, q.key()),
                                lambda: _hexagons(conn, q, res))


def _hexagons(conn: psycopg.Connection, q: HeatQuery, res: int) -> dict[str, Any]:
    cover = _cover(q, res)
    cell_ids, counts, weights = aggregate(conn, q, res, cover)
    values = weights if q.weight else counts.astype(np.float64)
    style = load("heat")["hexagon"]
    upper = breaks(values, style.get("method", "quantiles"), int(style.get("classes", 5)))
    klass = classify(values, upper)
    colors = class_colors(style["ramp"], max(1, len(upper)))
    feats = []
    for i, c in enumerate(cell_ids.tolist()):
        ring = [[lng, lat] for lat, lng in basic_int.cell_to_boundary(c)]
        ring.append(ring[0])
        hid = basic_int.int_to_str(c)
        feats.append({
            "type": "Feature", "id": hid,
            "geometry": {"type": "Polygon", "coordinates": [ring]},
            "properties": {"h3": hid, "count": int(counts[i]), "weight": float(weights[i]),
                           "value": float(values[i]), "class": int(klass[i]), "color": colors[int(klass[i])]},
        })
    return _collection(q, feats, res, values, legend(values, upper, style["ramp"]),
                       total_count=int(counts.sum()), total_weight=float(weights.sum()))


def _cover(q: HeatQuery, res: int) -> list[int]:
    """The viewport's hexagons; for a scoped caller only those that also overlap the area's box (a
    hexagon holding a point of the area overlaps the box that holds the point), so a street user's
    district-wide map costs a street's worth of cells and the answer is the same."""
    assert q.bbox is not None
    cells = hcells.cover(q.bbox, res)
    if q.area is None or q.area.bbox is None or hcells.estimate_cells(q.area.bbox, res) > len(cells):
        return cells
    around = set(hcells.cover(q.area.bbox, res))
    return [c for c in cells if c in around]


def _collection(q: HeatQuery, feats: list[dict[str, Any]], res: int, values: np.ndarray, leg: list[Any],
                total_count: int = 0, total_weight: float = 0.0) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "features": feats,
        "source": q.source.id,
        "resolution": res,
        "bbox": list(q.bbox) if q.bbox else None,
        "weighted_by": q.weight,
        "from": q.start.isoformat() if q.start else None,
        "to": q.stop.isoformat() if q.stop else None,
        "total": {"count": total_count, "weight": total_weight, "hexagons": len(feats)},
        "max": float(values.max()) if values.size else 0.0,
        "legend": leg,
    }
