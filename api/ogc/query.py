"""Feature queries: the SQL that builds GeoJSON in the database, paging, and the caches of exact
counts and extents.

Why it is fast (and what the peers do instead): each page is ONE statement that returns the GeoJSON
text of its features already joined (`string_agg` of `'{"type":"Feature",…}'` strings built from
`ST_AsGeoJSON` and `json_build_object`), the change version of the collection, and the first and
last keys for keyset links; Python splices that text into the answer without parsing it. Paging in
the default id order is keyset (`after`/`before` carry the boundary id, `offset` only numbers the
page), so page 1,000 costs what page 1 does. `numberMatched` stays exact: counts are cached per
collection + filter and tagged with the change version of the collection's tables (bumped by
statement triggers, migration 0004), so a write anywhere in those tables invalidates them.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from api.ogc import pool as ogc_pool
from api.ogc.collections import Collection, Prop
from api.ogc.crs import OgcCrs
from api.ogc.state import OgcState
from gis.db import degraded
from gis.errors import DatabaseUnavailable

VERSION_SQL = "(SELECT coalesce(sum(version), 0)::bigint FROM ogc_changes WHERE table_name = ANY(%s))"


@dataclass
class Items:
    """One items request, already validated."""

    collection: Collection
    crs: OgcCrs
    props: tuple[Prop, ...]
    limit: int = 10
    offset: int = 0
    after: str | None = None
    before: str | None = None
    where: list[tuple[str, list]] = field(default_factory=list)
    sort: list[tuple[str, bool]] = field(default_factory=list)   # (SQL expression, descending)

    @property
    def keyset(self) -> bool:
        return not self.sort

    def where_sql(self) -> tuple[str, list]:
        parts, params = [self.collection.base_where], []
        for text, values in self.where:
            parts.append(f"({text})")
            params.extend(values)
        return " AND ".join(parts), params


@lru_cache(maxsize=512)
def feature_sql(c: Collection, prop_names: tuple[str, ...], crs: OgcCrs) -> str:
    """SQL text expression of one GeoJSON Feature of row `t` (properties `prop_names`, geometry in `crs`)."""
    geom = crs.geometry_sql(c.geom_sql)
    pairs = ", ".join(f"'{name}', {c.prop(name).sql}" for name in prop_names)
    props = f"json_build_object({pairs})::text" if prop_names else "'{}'"
    return (
        f"""'{{"type":"Feature","id":' || to_json({c.id_sql})::text || ',"geometry":' || """
        f"coalesce(ST_AsGeoJSON({geom}, {crs.decimals}, 0), 'null') || "
        f"""',"properties":' || {props} || '}}'"""
    )


def _id_param(c: Collection, value: str) -> object:
    return int(value) if c.id_type == "integer" else value


def id_valid(c: Collection, value: str) -> bool:
    return value.lstrip("-").isdigit() if c.id_type == "integer" else True


@dataclass
class Page:
    version: int
    features: bytes
    returned: int
    first_key: str | None
    last_key: str | None


async def page(st: OgcState, q: Items) -> Page:
    c = q.collection
    where, params = q.where_sql()
    order_dir = "ASC"
    if q.keyset and q.before is not None and q.after is None:
        order_dir = "DESC"
        where += f" AND {c.id_sql} < %s"
        params.append(_id_param(c, q.before))
    elif q.keyset and q.after is not None:
        where += f" AND {c.id_sql} > %s"
        params.append(_id_param(c, q.after))
    order = ", ".join(f"{expr} {'DESC' if desc else 'ASC'} NULLS LAST" for expr, desc in q.sort)
    order = f"{order}, {c.id_sql} {order_dir}" if order else f"{c.id_sql} {order_dir}"
    offset = 0 if q.keyset and (q.after is not None or q.before is not None) else q.offset
    agg_dir = "DESC" if order_dir == "DESC" else "ASC"
    sql = (
        f"WITH page AS (SELECT {c.id_sql} AS k, {feature_sql(c, tuple(p.name for p in q.props), q.crs)} AS f, "
        f"row_number() OVER (ORDER BY {order}) AS rn FROM {c.from_sql} WHERE {where} "
        f"ORDER BY {order} LIMIT %s OFFSET %s) "
        f"SELECT {VERSION_SQL}, coalesce(string_agg(f, ',' ORDER BY rn {agg_dir}), ''), count(*)::int, "
        f"(SELECT k FROM page ORDER BY rn {agg_dir} LIMIT 1)::text, "
        f"(SELECT k FROM page ORDER BY rn {'ASC' if agg_dir == 'DESC' else 'DESC'} LIMIT 1)::text FROM page"
    )
    row = await st.fetchone(sql, [*params, q.limit, offset, list(c.tables)])
    version, feats, n, first, last = row
    return Page(version, feats, n, _text(first), _text(last))


async def count(st: OgcState, q: Items, version: int) -> int:
    """Exact number of features matching the filters (not the paging), cached per version."""
    c = q.collection
    where, params = q.where_sql()
    key = (c.id, where, tuple(tuple(v) if isinstance(v, list) else v for v in params))
    if c.cacheable:
        hit = st.counts.get(key)
        if hit is not None and hit[0] == version:
            return hit[1]
    row = await st.fetchone(f"SELECT {VERSION_SQL}, count(*) FROM {c.from_sql} WHERE {where}",
                              [list(c.tables), *params])
    now_version, n = row
    if c.cacheable and now_version == version:
        st.counts.put(key, (version, n))
    return n


async def one(st: OgcState, c: Collection, fid: str, crs: OgcCrs, props: tuple[Prop, ...],
              scoped: tuple[str, tuple] | None = None) -> tuple[bytes, bytes] | None:
    """The GeoJSON of one feature and its ETag (a digest of the stored row: the validator that Part 4's
    If-Match compares, Layer.etag_sql), or None (also when it lies outside the `scoped` area
    condition: a feature outside the area does not exist for the caller)."""
    if not id_valid(c, fid):
        return None
    extra, extra_params = (f" AND {scoped[0]}", list(scoped[1])) if scoped else ("", [])
    sql = (f"SELECT {feature_sql(c, tuple(p.name for p in props), crs)}, {c.etag_sql} FROM {c.from_sql} "
           f"WHERE {c.base_where} AND {c.id_sql} = %s{extra}")
    values = [_id_param(c, fid), *extra_params]
    row = await (st.fetchone_text if ogc_pool.plain(values) else st.fetchone)(sql, values)
    return (row[0], row[1]) if row else None


def id_param(c: Collection, value: str) -> object:
    """A feature id of the URL as the id column's type (check id_valid first)."""
    return _id_param(c, value)


async def versions(st: OgcState) -> dict[str, int]:
    """The change counters of the tables; while the database is unreachable, the last ones read
    (kept on the OGC state, noted as stale), so that collection documents cached at those versions
    still answer."""
    try:
        rows = await st.fetchall("SELECT table_name, sum(version)::bigint FROM ogc_changes GROUP BY 1")
    except DatabaseUnavailable:
        if st.last_versions is None:
            raise
        degraded.note_stale(st.last_versions[1])
        return st.last_versions[0]
    found = {_text(name): v for name, v in rows}
    st.last_versions = (found, time.time())
    return found


def version_of(c: Collection, table_versions: dict[str, int]) -> int:
    return sum(table_versions.get(t, 0) for t in c.tables)


@dataclass(frozen=True)
class Extent:
    bbox: tuple[float, float, float, float] | None
    interval: tuple[str | None, str | None] | None


#: Extents of collections without a change counter (vehicles: fed by GPS ingest) are kept 30 s
#: (OgcState.volatile_extents). An extent is advisory metadata; recomputing it from `positions` on
#: every /ogc/collections would cost ~200 ms of each page load.


async def extent(st: OgcState, c: Collection, table_versions: dict[str, int]) -> Extent:
    version = version_of(c, table_versions)
    if c.cacheable:
        hit = st.extents.get(c.id)
        if hit is not None and hit[0] == version:
            return hit[1]
    else:
        # (while the database is down, an older extent beats none)
        kept = st.volatile_extents.get(c.id, expired_ok=st.breaker.is_open)
        if kept is not None:
            return kept
    temporal = "NULL::text AS tmin, NULL::text AS tmax"
    if c.temporal:
        start, end = c.temporal
        end_sql = f"t.{end}" if end else f"t.{start}"
        temporal = f"min(t.{start})::text AS tmin, max(coalesce({end_sql}, t.{start}))::text AS tmax"
    sql = (f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e), tmin, tmax FROM "
           f"(SELECT ST_Extent({c.geom_sql}) AS e, {temporal} FROM {c.from_sql} WHERE {c.base_where}) s")
    row = await st.fetchone(sql)
    bbox = None if row[0] is None else (row[0], row[1], row[2], row[3])
    interval = None
    if c.temporal:
        interval = (_iso(row[4]), _iso(row[5]))
    ext = Extent(bbox, interval)
    if c.cacheable:
        st.extents.put(c.id, (version, ext))
    else:
        st.volatile_extents.put(c.id, ext)
    return ext


def _text(value: bytes | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return value.decode()


def _iso(value: bytes | str | None) -> str | None:
    text = _text(value)
    if text is None:
        return None
    if len(text) == 10:  # a date: its start, in UTC
        return f"{text}T00:00:00Z"
    return text.replace(" ", "T").replace("+00", "Z") if text.endswith("+00") else text.replace(" ", "T")


async def warm(st: OgcState, collections: Iterable[Collection]) -> None:
    """Every collection's extent, computed once at start-up: the page's first request is the collections
    list, which otherwise waits ~0.7 s for them on a fresh server (each is then cached on the version)."""
    versions_now = await versions(st)
    for c in collections:
        await extent(st, c, versions_now)
