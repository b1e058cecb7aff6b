"""OGC API – Moving Features Part 1 (22-003r3) over the vehicle tracks: the collection `vehicle_tracks`,
whose items are the vehicles, each with its temporal geometry (`…/tgsequence`, MF-JSON MovingPoint)
and temporal properties (`…/tproperties`: speed, heading), read from the month-partitioned `positions`.

Why no MobilityDB: a track is exactly the rows of `positions` for one vehicle in time order, and the
primary key (vehicle_id, ts) of each monthly partition is the index a time window of one vehicle
needs; the MF-JSON arrays are built in the database (`json_agg` in ts order) and spliced, as the
feature pages are. Interpolated positions (`leaf`, the ends of a `subTrajectory`) are linear between
the two fixes around the instant — MF-JSON's "Linear" interpolation of a MovingPoint.

Paging: `limit` counts instants; the `next` link carries `after` (the last instant returned), so a
day of fixes pages at the cost of its first page.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import QueryParams

from api.auth import read_scope
from api.ogc import crs as ocrs
from api.ogc import openapi
from api.ogc.features import base, link
from api.ogc.state import ogc
from api.params import ogc_bbox, ogc_datetime, ogc_int
from gis import catalog
from gis.errors import InvalidInput, NotFound
from gis.params import parse_instant, parse_list
from gis.security import scope
from gis.settings import STORAGE_SRID

VEHICLES = catalog.get("vehicles")
router = APIRouter(prefix="/ogc", tags=["OGC API – Moving Features"])

ID = "vehicle_tracks"
TITLE = "车辆轨迹（移动要素）"
JSON = "application/json"
GEOJSON = "application/geo+json"
TRS = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
CRS = {"type": "Name", "properties": {"name": ocrs.CRS84}}
TRS_OBJ = {"type": "Link", "properties": {"type": "OGCDEF", "href": TRS}}
#: name -> (column, MF-JSON form (UCUM), interpolation, description)
TPROPERTIES = {
    "speed": ("speed_kmh", "km/h", "Linear", "速度（公里/小时）"),
    "heading": ("heading", "deg", "Discrete", "方向（度，正北顺时针）"),
}
DEFAULT_LIMIT = 10_000
MAX_LIMIT = 100_000

_ISO = """to_char({c} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""


def conformance() -> list[str]:
    return ["http://www.opengis.net/spec/ogcapi-movingfeatures-1/1.0/conf/common",
            "http://www.opengis.net/spec/ogcapi-movingfeatures-1/1.0/conf/mf-collection",
            "http://www.opengis.net/spec/ogcapi-movingfeatures-1/1.0/conf/movingfeatures"]


def _iso(value: datetime | None) -> str | None:
    """UTC with microseconds: the very form the SQL builds (`_ISO`), so instants compare as strings."""
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _text(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


def _known(qp: QueryParams, allowed: set[str]) -> None:
    unknown = [k for k in qp if k not in allowed]
    if unknown:
        raise InvalidInput(f"unknown query parameter(s) {', '.join(unknown)}; this resource takes "
                           f"{', '.join(sorted(allowed))}")


def _interval(qp: QueryParams) -> tuple[datetime | None, datetime | None]:
    raw = qp.get("datetime")
    if raw is None:
        return None, None
    interval = ogc_datetime(raw)
    return interval if interval is not None else (None, None)


def _bool(qp: QueryParams, name: str) -> bool:
    raw = (qp.get(name) or "false").lower()
    if raw not in ("true", "false"):
        raise InvalidInput(f"{name}: {qp.get(name)!r} must be true or false")
    return raw == "true"


def _bbox(qp: QueryParams) -> list[float] | None:
    raw = qp.get("bbox")
    if raw is None:
        return None
    return list(ogc_bbox(raw, False, True))


def collection_doc(request: Request) -> dict:
    b = f"{base(request)}/collections/{ID}"
    return {
        "id": ID, "title": TITLE, "itemType": "movingfeature",
        "description": "每辆车一个移动要素：时间几何序列（tgsequence，MF-JSON MovingPoint）与时间属性（速度、方向），"
                       "来自按月分区的定位表。",
        "keywords": ["车辆", "轨迹", "移动要素"], "crs": [ocrs.CRS84], "storageCrs": ocrs.STORAGE_URI,
        "links": [link(b, "self", JSON, TITLE), link(f"{b}/items", "items", GEOJSON, "移动要素")],
        "extent": {"temporal": {"trs": TRS}},
    }


def _scoped(request: Request) -> tuple[str, tuple]:
    """The caller's area as a condition over `v` (the vehicles layer's scope: its fleets), or TRUE."""
    area = read_scope(request, VEHICLES)
    return ("TRUE", ()) if area is None else scope.condition(VEHICLES, area, "v")


async def _vehicle(request: Request, vid: str) -> tuple:
    """The vehicle (NotFound also when it belongs to another area than the caller's): every per-vehicle
    path goes through here."""
    cond, cond_params = _scoped(request)
    row = await ogc(request).fetchone(
        "SELECT v.id, v.plate, v.kind, v.vehicle_group, "
        f"(SELECT {_ISO.format(c='min(p.ts)')} FROM positions p WHERE p.vehicle_id = v.id), "
        f"(SELECT {_ISO.format(c='max(p.ts)')} FROM positions p WHERE p.vehicle_id = v.id) "
        f"FROM vehicles v WHERE v.id = %s AND {cond}", [vid, *cond_params])
    if row is None:
        raise NotFound(f"collection {ID} has no moving feature {vid!r}")
    return row


def _feature(request: Request, row: tuple, geometry: dict | None = None) -> dict:
    vid, plate, kind, group, t0, t1 = (_text(v) for v in row[:6])
    b = f"{base(request)}/collections/{ID}/items/{vid}"
    out = {
        "type": "Feature", "id": vid, "geometry": None, "crs": CRS, "trs": TRS_OBJ,
        "time": [t0, t1] if t0 else None,
        "properties": {"plate": plate, "kind": kind, "vehicle_group": group},
        "links": [link(b, "self", GEOJSON), link(f"{b}/tgsequence", "related", JSON, "时间几何序列"),
                  link(f"{b}/tproperties", "related", JSON, "时间属性")],
    }
    if geometry is not None:
        out["temporalGeometry"] = geometry
    return out


def _page_url(request: Request, **changes: object) -> str:
    items = [(k, v) for k, v in request.query_params.multi_items() if k not in changes]
    items += [(k, str(v)) for k, v in changes.items() if v is not None]
    q = urlencode(items)
    return f"{base(request)}{request.url.path.split('/ogc', 1)[1]}" + (f"?{q}" if q else "")


# -- collection and items ------------------------------------------------------------------------


@router.get(f"/collections/{ID}", summary="The moving-features collection of vehicle tracks",
            openapi_extra=openapi.F_ONLY)
async def collection(request: Request) -> Response:
    return Response(orjson.dumps(collection_doc(request)), media_type=JSON)


@router.get(f"/collections/{ID}/items", summary="Vehicles as moving features (bbox, datetime, subTrajectory)",
            openapi_extra=openapi.MF_ITEMS)
async def items(request: Request) -> Response:
    """Vehicles with a fix in `bbox` during `datetime`; `subTrajectory=true` (with a bounded `datetime`)
    adds each one's fixes of that window as its temporalGeometry, in one statement for all of them."""
    qp = request.query_params
    _known(qp, {"f", "limit", "offset", "bbox", "datetime", "subTrajectory"})
    limit = ogc_int(qp, "limit", 10, 1, 1000)
    offset = ogc_int(qp, "offset", 0, 0)
    lo, hi = _interval(qp)
    box = _bbox(qp)
    sub = _bool(qp, "subTrajectory")
    if sub and (lo is None or hi is None):
        raise InvalidInput("subTrajectory: needs a datetime interval bounded at both ends")
    where = ["p.vehicle_id = v.id", "p.ts >= coalesce(%(lo)s::timestamptz, '-infinity')",
             "p.ts <= coalesce(%(hi)s::timestamptz, 'infinity')"]
    params: dict = {"lo": lo, "hi": hi, "limit": limit, "offset": offset}
    if box is not None:
        where.append(f"p.geom && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, {STORAGE_SRID})")
        params.update(x0=box[0], y0=box[1], x1=box[2], y1=box[3])
    cond = " AND ".join(where)
    scoped, scoped_params = scope.named(*_scoped(request))
    params.update(scoped_params)
    track = "NULL::text"
    if sub:
        track = (f"(SELECT json_build_object('type', 'MovingPoint', 'interpolation', 'Linear', "
                 f"'datetimes', json_agg({_ISO.format(c='q.ts')} ORDER BY q.ts), "
                 f"'coordinates', json_agg(json_build_array(ST_X(q.geom), ST_Y(q.geom)) ORDER BY q.ts))::text "
                 f"FROM positions q WHERE q.vehicle_id = v.id AND q.ts >= %(lo)s AND q.ts <= %(hi)s)")
    sql = (f"SELECT v.id, v.plate, v.kind, v.vehicle_group, {_ISO.format(c='s.t0')}, {_ISO.format(c='s.t1')}, "
           f"{track}, count(*) OVER () FROM vehicles v "
           f"CROSS JOIN LATERAL (SELECT min(p.ts) AS t0, max(p.ts) AS t1 FROM positions p WHERE {cond}) s "
           f"WHERE s.t0 IS NOT NULL AND {scoped} ORDER BY v.id LIMIT %(limit)s OFFSET %(offset)s")
    rows = await ogc(request).fetchall(sql, params)
    matched = rows[0][7] if rows else 0
    feats = [_feature(request, r, orjson.loads(r[6]) if r[6] else None) for r in rows]
    links = [link(_page_url(request), "self", GEOJSON)]
    if offset + len(rows) < matched:
        links.append(link(_page_url(request, offset=offset + limit), "next", GEOJSON))
    doc = {"type": "FeatureCollection", "features": feats, "numberMatched": matched, "numberReturned": len(rows),
           "timeStamp": _iso(datetime.now(UTC)), "links": links, "crs": CRS, "trs": TRS_OBJ}
    return Response(orjson.dumps(doc), media_type=GEOJSON)


@router.get(f"/collections/{ID}/items/{{feature_id}}", summary="One vehicle as a moving feature",
            openapi_extra=openapi.F_ONLY)
async def item(request: Request, feature_id: str) -> Response:
    _known(request.query_params, {"f"})
    return Response(orjson.dumps(_feature(request, await _vehicle(request, feature_id))), media_type=GEOJSON)


# -- temporal geometry ---------------------------------------------------------------------------


_INTERP = """SELECT t, CASE WHEN b.ts = a.ts THEN ST_X(a.geom)
                          ELSE ST_X(a.geom) + (ST_X(b.geom) - ST_X(a.geom)) * extract(epoch FROM t - a.ts)
                               / extract(epoch FROM b.ts - a.ts) END,
                     CASE WHEN b.ts = a.ts THEN ST_Y(a.geom)
                          ELSE ST_Y(a.geom) + (ST_Y(b.geom) - ST_Y(a.geom)) * extract(epoch FROM t - a.ts)
                               / extract(epoch FROM b.ts - a.ts) END
             FROM unnest(%s::timestamptz[]) AS t
             CROSS JOIN LATERAL (SELECT ts, geom FROM positions WHERE vehicle_id = %s AND ts <= t
                                 ORDER BY ts DESC LIMIT 1) a
             CROSS JOIN LATERAL (SELECT ts, geom FROM positions WHERE vehicle_id = %s AND ts >= t
                                 ORDER BY ts LIMIT 1) b
             ORDER BY t"""


async def _interpolated(request: Request, vid: str, instants: list[datetime]) -> list[tuple[str, list[float]]]:
    """Linear positions at `instants` (those within the track's time span; others are left out)."""
    if not instants:
        return []
    rows = await ogc(request).fetchall(_INTERP, [instants, vid, vid])
    return [(_iso(t), [x, y]) for t, x, y in rows]


_SEQ = (f"WITH p AS (SELECT ts, geom FROM positions WHERE vehicle_id = %(v)s "
        "AND ts >= coalesce(%(lo)s::timestamptz, '-infinity') AND ts <= coalesce(%(hi)s::timestamptz, 'infinity') "
        "AND ts > coalesce(%(after)s::timestamptz, '-infinity') ORDER BY ts LIMIT %(n)s) "
        f"SELECT count(*)::int, coalesce(json_agg({_ISO.format(c='ts')} ORDER BY ts), '[]')::text, "
        "coalesce(json_agg(json_build_array(ST_X(geom), ST_Y(geom)) ORDER BY ts), '[]')::text FROM p")


@router.get(f"/collections/{ID}/items/{{feature_id}}/tgsequence",
            summary="The temporal geometry of one vehicle (MF-JSON MovingPoint)", openapi_extra=openapi.TGSEQUENCE)
async def tgsequence(request: Request, feature_id: str) -> Response:
    """`datetime` selects the fixes of a window; `subTrajectory=true` also interpolates its two ends;
    `leaf` (instants) answers the positions at those instants only."""
    qp = request.query_params
    _known(qp, {"f", "limit", "datetime", "leaf", "subTrajectory", "after"})
    await _vehicle(request, feature_id)
    limit = ogc_int(qp, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    lo, hi = _interval(qp)
    sub = _bool(qp, "subTrajectory")
    leaf = qp.get("leaf")
    if leaf is not None and sub:
        raise InvalidInput("leaf and subTrajectory cannot be combined")
    if sub and (lo is None or hi is None):
        raise InvalidInput("subTrajectory: needs a datetime interval bounded at both ends")
    after_raw = qp.get("after")
    after = parse_instant(after_raw, "after") if after_raw else None
    links = [link(_page_url(request), "self", JSON)]
    if leaf is not None:
        instants = sorted({parse_instant(v, "leaf") for v in parse_list(leaf)})
        if not instants:
            raise InvalidInput("leaf: give one or more instants, comma-separated")
        if len(instants) > 1000:
            raise InvalidInput("leaf: at most 1000 instants")
        points = await _interpolated(request, feature_id, instants)
        datetimes, coords = [p[0] for p in points], [p[1] for p in points]
        matched = returned = len(points)
    else:
        n, dts, cs = await ogc(request).fetchone(_SEQ, {"v": feature_id, "lo": lo, "hi": hi, "after": after,
                                                        "n": limit})
        datetimes, coords = orjson.loads(dts), orjson.loads(cs)
        returned = matched = n
        if sub:  # the window's ends, interpolated: the first page starts at lo, the last ends at hi
            ends = dict(await _interpolated(request, feature_id, [lo, hi]))
            start, stop = _iso(lo), _iso(hi)
            if after is None and start in ends and (not datetimes or datetimes[0] != start):
                datetimes.insert(0, start)
                coords.insert(0, ends[start])
            if n < limit and stop in ends and (not datetimes or datetimes[-1] != stop):
                datetimes.append(stop)
                coords.append(ends[stop])
            returned = len(datetimes)
        if n == limit:
            links.append(link(_page_url(request, after=datetimes[-1]), "next", JSON, "下一页"))
    geometry = {"type": "MovingPoint", "id": f"{feature_id}-track", "datetimes": datetimes, "coordinates": coords,
                "interpolation": "Linear", "crs": CRS, "trs": TRS_OBJ}
    doc = {"type": "TemporalGeometrySequence", "geometrySequence": [geometry] if datetimes else [],
           "numberMatched": 1 if datetimes else 0, "numberReturned": 1 if datetimes else 0,
           "numberInstants": returned, "instantsMatched": matched,
           "timeStamp": _iso(datetime.now(UTC)), "links": links}
    return Response(orjson.dumps(doc), media_type=JSON)


# -- temporal properties -------------------------------------------------------------------------


@router.get(f"/collections/{ID}/items/{{feature_id}}/tproperties", summary="Temporal properties of one vehicle",
            openapi_extra=openapi.F_ONLY)
async def tproperties(request: Request, feature_id: str) -> Response:
    _known(request.query_params, {"f", "limit"})
    await _vehicle(request, feature_id)
    b = f"{base(request)}/collections/{ID}/items/{feature_id}/tproperties"
    props = [{"name": name, "type": "TReal", "form": form, "description": desc,
              "links": [link(f"{b}/{name}", "self", JSON)]}
             for name, (_, form, _, desc) in TPROPERTIES.items()]
    doc = {"temporalProperties": props, "numberMatched": len(props), "numberReturned": len(props),
           "timeStamp": _iso(datetime.now(UTC)), "links": [link(b, "self", JSON)]}
    return Response(orjson.dumps(doc), media_type=JSON)


@router.get(f"/collections/{ID}/items/{{feature_id}}/tproperties/{{name}}",
            summary="The values of one temporal property (speed or heading)", openapi_extra=openapi.TPROPERTY)
async def tproperty(request: Request, feature_id: str, name: str) -> Response:
    qp = request.query_params
    _known(qp, {"f", "limit", "datetime", "after"})
    if name not in TPROPERTIES:
        raise NotFound(f"moving feature {feature_id!r} has no temporal property {name!r}; it has "
                       f"{', '.join(TPROPERTIES)}")
    await _vehicle(request, feature_id)
    column, form, interpolation, desc = TPROPERTIES[name]
    lo, hi = _interval(qp)
    limit = ogc_int(qp, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    after_raw = qp.get("after")
    after = parse_instant(after_raw, "after") if after_raw else None
    sql = (f"WITH p AS (SELECT ts, {column} AS v FROM positions WHERE vehicle_id = %(v)s AND {column} IS NOT NULL "
           "AND ts >= coalesce(%(lo)s::timestamptz, '-infinity') AND ts <= coalesce(%(hi)s::timestamptz, 'infinity') "
           "AND ts > coalesce(%(after)s::timestamptz, '-infinity') ORDER BY ts LIMIT %(n)s) "
           f"SELECT count(*)::int, coalesce(json_agg({_ISO.format(c='ts')} ORDER BY ts), '[]')::text, "
           "coalesce(json_agg(v ORDER BY ts), '[]')::text FROM p")
    n, dts, vals = await ogc(request).fetchone(sql, {"v": feature_id, "lo": lo, "hi": hi, "after": after, "n": limit})
    datetimes = orjson.loads(dts)
    links = [link(_page_url(request), "self", JSON)]
    if n == limit:
        links.append(link(_page_url(request, after=datetimes[-1]), "next", JSON, "下一页"))
    doc = {"name": name, "type": "TReal", "form": form, "description": desc,
           "valueSequence": [{"datetimes": datetimes, "values": orjson.loads(vals), "interpolation": interpolation}]
           if n else [],
           "numberReturned": n, "timeStamp": _iso(datetime.now(UTC)), "links": links}
    return Response(orjson.dumps(doc), media_type=JSON)
