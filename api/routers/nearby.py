"""What is near here: `GET /api/nearest` over any published point layer, and the camera coverage answer.

Nearest uses PostGIS KNN (`<->` on the layer's GiST index) in two steps, because `<->` on EPSG:4490 orders
by degrees and a degree of longitude is shorter than a degree of latitude: (1) the k nearest by `<->`
give an upper bound D on the k-th true distance in metres; (2) every point within D metres lies in the
box of D metres around the query point (degrees per metre bounded at the box's poleward edge), so the
box query (index) re-sorted by geodesic metres (`geography`) is exact. `radius_m` caps D. Chosen over an
in-memory index by bench/bench_nearby.py: both answer in a few ms, and the database stays the one truth
for filters (queryables, CQL2) and for freshly written rows.
"""

from __future__ import annotations

import math
import re
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.datastructures import QueryParams

from api.auth import read_scope
from api.models import GEOJSON
from api.ogc import crs as ocrs
from api.ogc import params as ogc_params
from api.ogc.collections import Collection, get_collection
from api.ogc.state import OgcState
from api.params import CRS_HELP
from api.services import Svc
from gis import crs as gcrs
from gis.errors import InvalidInput
from gis.security import scope
from gis.security.scope import Area

router = APIRouter(tags=["nearby"])

MAX_K = 1000
MAX_RADIUS_M = 50_000.0
#: Parameters of /api/nearest itself; every other parameter is an OGC items filter of the layer.
OWN = ("layer", "lon", "lat", "k", "radius_m", "crs", "category")
_M_PER_DEG_LAT_MIN = 110_574.0   # metres per degree of latitude at the equator (the fewest)
_M_PER_DEG_LON_EQ = 111_320.0


def _category(c: Collection, value: str) -> tuple[str, list]:
    """`category=`: a layer's class or kind, whichever it has (components/cases: 大类 `01` or 大类+小类
    `0101`; waste facilities, cameras, devices, vehicles: kind)."""
    names = {f.name for f in c.fields}
    if {"major", "minor"} <= names:
        if not value.isdigit() or len(value) not in (2, 4):
            raise InvalidInput(f"category: {value!r} is not a 2-digit 大类 or a 4-digit 大类+小类")
        if len(value) == 2:
            return "t.major = %s", [value]
        return "t.major = %s AND t.minor = %s", [value[:2], value[2:]]
    for col in ("kind", "category"):
        if col in names:
            return f"t.{col} = %s", [value]
    raise InvalidInput(f"category: layer {c.id} has no category; filter on its queryables instead")


def _filters(c: Collection, params: QueryParams, area: Area | None = None) -> tuple[str, list]:
    """The OGC items filters of the layer (queryables as parameters, bbox, datetime, filter=CQL2), and
    the caller's area (gis/security/scope.py)."""
    rest = QueryParams([(k, v) for k, v in params.multi_items() if k not in OWN])
    # `state` on layers that call it `status` (components, cases)
    if "state" in rest and c.prop("state") is None and c.prop("status") is not None:
        rest = QueryParams([("status" if k == "state" else k, v) for k, v in rest.multi_items()])
    items = ogc_params.items(c, rest)
    if area is not None:
        items.where.append(scope.condition(c, area))
    where, values = items.where_sql()
    if (cat := params.get("category")) is not None:
        text, more = _category(c, cat)
        where, values = f"{where} AND {text}", [*values, *more]
    return where, values


def _feature_sql(c: Collection, out: ocrs.OgcCrs) -> str:
    props = c.properties
    pairs = ", ".join(f"'{p.name}', {p.sql}" for p in props)
    obj = f"json_build_object({pairs})::jsonb" if props else "'{}'::jsonb"
    geom = out.geometry_sql(c.geom_sql)
    return (f"""'{{"type":"Feature","id":' || to_json({c.id_sql})::text || ',"geometry":' || """
            f"coalesce(ST_AsGeoJSON({geom}, {out.decimals}, 0), 'null') || "
            f"""',"properties":' || ({obj} || jsonb_build_object('distance_m', round(d::numeric, 2)))::text """
            f"""|| '}}'""")


def nearest_sql(c: Collection, out: ocrs.OgcCrs, where: str) -> str:
    """Step 1 (KNN by degrees) bounds the radius; step 2 (box + geodesic metres) is exact.

    Placeholders: x, y, k, r (radius cap) as %(name)s, then the filter's positional values (`:where`)."""
    if c.geometry_type != "Point":
        raise InvalidInput(f"layer: {c.id} is not a point layer (its geometry is {c.geometry_type})")
    g = c.geom_sql
    return f"""
        WITH p AS (SELECT ST_SetSRID(ST_MakePoint(%(x)s, %(y)s), 4490) AS g),
        knn AS (SELECT ST_Distance({g}::geography, (SELECT g FROM p)::geography) AS d
                FROM {c.from_sql} WHERE {where} AND {g} IS NOT NULL
                ORDER BY {g} <-> (SELECT g FROM p) LIMIT %(k)s),
        bound AS (SELECT least(CASE WHEN (SELECT count(*) FROM knn) >= %(k)s THEN (SELECT max(d) FROM knn)
                                    ELSE %(r)s END, %(r)s) * 1.0001 + 0.01 AS r),
        box AS (SELECT ST_Expand((SELECT g FROM p),
                                 b.r / ({_M_PER_DEG_LON_EQ}
                                        * cos(radians(least(89.0, abs(%(y)s) + b.r / {_M_PER_DEG_LAT_MIN})))),
                                 b.r / {_M_PER_DEG_LAT_MIN}) AS b FROM bound b),
        best AS (SELECT t.*, ST_Distance({g}::geography, (SELECT g FROM p)::geography) AS d
                 FROM {c.from_sql} WHERE {where} AND {g} && (SELECT b FROM box)
                   AND ST_Distance({g}::geography, (SELECT g FROM p)::geography) <= least((SELECT r FROM bound), %(r)s)
                 ORDER BY d, {c.id_sql} LIMIT %(k)s)
        SELECT coalesce(string_agg(f, ',' ORDER BY d, k), ''), count(*)::int FROM (
            SELECT {_feature_sql(c, out)} AS f, t.d, {c.id_sql} AS k FROM best AS t{c.joins_sql}) s"""


async def nearest(st: OgcState, layer: str, x: float, y: float, crs: str | None, k: int, radius_m: float | None,
                  params: QueryParams, request: Request | None = None) -> tuple[bytes, int, ocrs.OgcCrs]:
    """The k features of `layer` nearest (x, y) given in `crs`, within `radius_m` metres; GeoJSON text."""
    c = get_collection(layer)
    ref = gcrs.resolve(crs)
    xs, ys = gcrs.to_storage([x], [y], ref)
    lon, lat = float(xs[0]), float(ys[0])
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise InvalidInput(f"lon/lat: ({x}, {y}) is not a position in {ref.name}")
    try:
        out = ocrs.lookup(crs)
    except InvalidInput:
        out = ocrs.lookup(None)   # GCJ02/BD09 in: answers in CRS84 (Content-Crs says so)
    where, values = _filters(c, params, read_scope(request, c) if request is not None else None)
    # the filter SQL is positional: the named values go where they stand in the text
    sql = nearest_sql(c, out, where.replace("%s", "%(__pos__)s"))
    named = {"x": lon, "y": lat, "k": k, "r": radius_m if radius_m is not None else MAX_RADIUS_M}
    order: list[Any] = []
    used = 0
    for m in re.finditer(r"%\((\w+)\)s", sql):
        if m.group(1) == "__pos__":   # the filter appears twice (knn and best): its values each time
            order.append(values[used % len(values)])
            used += 1
        else:
            order.append(named[m.group(1)])
    text = re.sub(r"%\((\w+)\)s", "%s", sql)
    feats, n = await st.fetchone(text, order)
    return (feats.encode() if isinstance(feats, str) else feats), n, out


@router.get("/api/nearest", responses=GEOJSON, summary="The nearest features of a point layer (KNN, metres)")
async def get_nearest(request: Request, svc: Svc,
                      layer: str = Query(..., description="an OGC collection id of a point layer"),
                      lon: float = Query(..., description="x of the point in `crs`"),
                      lat: float = Query(..., description="y of the point in `crs`"),
                      k: int = Query(10, ge=1, le=MAX_K, description=f"at most this many (1–{MAX_K})"),
                      radius_m: float | None = Query(None, gt=0, le=MAX_RADIUS_M,
                                                     description="only features within this many metres"),
                      crs: str | None = Query(None, description=CRS_HELP),
                      category: str | None = Query(None, description="大类/大类+小类 or kind")) -> Response:
    """A GeoJSON FeatureCollection, nearest first; each feature has its `id` as in the OGC API and
    `distance_m` (geodesic metres) among its properties. Any other parameter is an OGC items filter
    of the layer: its queryables (`state=online`), `bbox`, `datetime`, `filter` (CQL2 text or JSON)."""
    feats, n, out = await nearest(svc.ogc, layer, lon, lat, crs, k, radius_m, request.query_params, request)
    body = b'{"type":"FeatureCollection","layer":"' + layer.encode() + b'","numberReturned":' + str(n).encode() \
        + b',"features":[' + feats + b"]}"
    return Response(body, media_type="application/geo+json", headers={"Content-Crs": f"<{out.uri}>"})
