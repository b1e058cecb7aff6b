"""Query parameters of the items endpoint -> a validated `query.Items` (or a 400 naming the problem)."""

from __future__ import annotations

from starlette.datastructures import QueryParams

from api.ogc import cql
from api.ogc import crs as ocrs
from api.ogc.collections import Collection, Prop
from api.ogc.query import Items
from api.params import ogc_datetime, ogc_int
from gis.errors import InvalidInput
from gis.settings import get_settings

RESERVED = {
    "f", "limit", "offset", "bbox", "bbox-crs", "datetime", "crs", "filter", "filter-lang", "filter-crs",
    "sortby", "properties", "after", "before",
}
DEFAULT_LIMIT = 10


def wants_html(params: QueryParams, accept: str | None) -> bool:
    """`f=html`, or a browser's Accept header (text/html before any JSON type) when `f` is absent."""
    f = params.get("f")
    if f is not None:
        f = f.lower()
        if f in ("html", "text/html"):
            return True
        if f in ("json", "geojson", "application/json", "application/geo+json"):
            return False
        raise InvalidInput(f"f: {f!r} is not offered; use json or html")
    if not accept:
        return False
    html = accept.find("text/html")
    if html < 0:
        return False
    json = min((i for i in (accept.find("json"),) if i >= 0), default=-1)
    return json < 0 or html < json


def parse_int(params: QueryParams, name: str, default: int, low: int, high: int | None = None) -> int:
    return ogc_int(params, name, default, low, high)


def cluster_below(c: Collection, params: QueryParams) -> int | None:
    """`cluster=Z` on a tile: clusters instead of points below zoom Z, for layers that offer them."""
    if "cluster" not in params:
        return None
    if not c.tile_cluster_by:
        raise InvalidInput(f"cluster: collection {c.id} has no clustered tiles; it is not a dense point layer")
    return ogc_int(params, "cluster", 0, 1, 30)


def output_props(c: Collection, params: QueryParams) -> tuple[Prop, ...]:
    raw = params.get("properties")
    if raw is None:
        return c.properties
    names = [n.strip() for n in raw.split(",") if n.strip()]
    unknown = [n for n in names if c.prop(n) is None]
    if unknown:
        raise InvalidInput(f"properties: unknown {', '.join(unknown)}; the collection has "
                           f"{', '.join(p.name for p in c.properties)}")
    return tuple(c.prop(n) for n in names)


def datetime_filter(c: Collection, raw: str) -> tuple[str, list] | None:
    """`datetime` (an instant, or `start/end` with `..` or empty for an open end; read by the one time
    rule of api.params) over the collection's temporal columns. Collections without time ignore a
    well-formed value (17-069r4 Req 25); a malformed one is a 400 everywhere."""
    interval = ogc_datetime(raw)
    if not c.temporal or interval is None:
        return None
    lo, hi = interval
    start_col, end_col = c.temporal
    s = f"t.{start_col}"
    e = f"coalesce(t.{end_col}, 'infinity')" if end_col else s
    parts, params = [], []
    if hi is not None:
        parts.append(f"{s} <= %s")
        params.append(hi)
    if lo is not None:
        parts.append(f"{e} >= %s")
        params.append(lo)
    return " AND ".join(parts), params


def sort_keys(c: Collection, raw: str) -> list[tuple[str, bool]]:
    keys = []
    for item in raw.split(","):
        item = item.strip()
        if not item:
            continue
        desc = item.startswith("-")
        name = item.lstrip("+-").strip()
        if name == "id":
            keys.append((c.id_sql, desc))
            continue
        p = c.prop(name)
        if p is None or not p.filterable:
            raise InvalidInput(f"sortby: {name!r} is not a sortable property of {c.id}")
        keys.append((p.sql, desc))
    return keys


def items(c: Collection, params: QueryParams) -> Items:
    unknown = [k for k in params if k not in RESERVED and c.prop(k) is None]
    if unknown:
        raise InvalidInput(f"unknown query parameter(s) {', '.join(unknown)}; "
                           f"see /ogc/collections/{c.id}/queryables")
    out_crs = ocrs.lookup(params.get("crs"), "crs")
    q = Items(
        collection=c, crs=out_crs, props=output_props(c, params),
        limit=parse_int(params, "limit", DEFAULT_LIMIT, 1, get_settings().ogc_max_limit),
        offset=parse_int(params, "offset", 0, 0),
        after=params.get("after") or None, before=params.get("before") or None,
    )
    if (bbox := params.get("bbox")) is not None:
        env_sql, env_params = ocrs.parse_bbox(bbox, ocrs.lookup(params.get("bbox-crs"), "bbox-crs"))
        q.where.append((f"ST_Intersects({c.geom_sql}, {env_sql})", env_params))
    elif params.get("bbox-crs") is not None:
        ocrs.lookup(params.get("bbox-crs"), "bbox-crs")
    if (dt := params.get("datetime")) is not None and (clause := datetime_filter(c, dt)):
        q.where.append(clause)
    for name in params:
        if name in RESERVED:
            continue
        p = c.prop(name)
        if not p.filterable:
            raise InvalidInput(f"{name}: ({p.json_type}) cannot be filtered on")
        values = params.getlist(name)
        q.where.append((f"{p.sql} = ANY(%s::{p.sql_type}[])", [values]))
    if (text := params.get("filter")) is not None:
        filter_crs = ocrs.lookup(params.get("filter-crs"), "filter-crs")
        q.where.append(cql.to_sql(c, text, params.get("filter-lang"), filter_crs))
    if (raw := params.get("sortby")) is not None:
        q.sort = sort_keys(c, raw)
    return q
