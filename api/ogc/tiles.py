"""OGC API – Tiles: Mapbox Vector Tiles (ST_AsMVT) of every collection in WebMercatorQuad, with the
tile matrix set (from morecantile, not hand-written), tileset metadata and TileJSON.

Tiles are cached in memory per worker, keyed by collection, z/x/y and the collection's change
version (migration 0004's counters): a write to a source table changes the version, so no stale tile
is ever served; an unchanged tile costs one tiny prepared query. ETags are the version plus a hash of
the bytes; `If-None-Match` gets a 304. `Cache-Control: public, max-age=60` lets browsers keep a tile a
minute (vehicles, whose positions have no counter, are `no-cache` and never cached here). Clients
that send `Accept-Encoding: gzip` get the tile gzipped (about a quarter of the bytes); large point
layers carry fewer properties below their detail zoom (see `tile_sql`).
"""

from __future__ import annotations

import gzip
import hashlib
import time
from functools import lru_cache

import morecantile
from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from api.auth import read_scope
from api.ogc import crs as ocrs
from api.ogc import html, openapi, params, query
from api.ogc.collections import TYPES, Collection, get_collection
from api.ogc.features import JSON, base, json_response, link, negotiate
from api.ogc.state import Tile, TileCache, ogc
from gis.db import degraded
from gis.errors import DatabaseUnavailable, NotFound
from gis.security import scope
from gis.security.scope import Area
from gis.settings import STORAGE_SRID

MVT = "application/vnd.mapbox-vector-tile"
TMS_ID = "WebMercatorQuad"
TMS_URI = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
EXTENT = 4096
BUFFER = 64

router = APIRouter(prefix="/ogc", tags=["OGC API – Tiles"])


@lru_cache(maxsize=1)
def tms() -> morecantile.TileMatrixSet:
    return morecantile.tms.get(TMS_ID)


@lru_cache(maxsize=512)
def tile_sql(c: Collection, z: int, scoped: str = "") -> str:
    """The statement building one tile of zoom `z`: the collection's change version and the MVT.

    Below the collection's `tile_detail_zoom`, layers with a `tile_summary` carry only those
    properties (components: major and minor, which the map colours and filters by), and no string
    id: at district zoom one tile holds ~50,000 components, and their 18 properties made it 4.6 MB
    and 1–2.6 s to build. Integer ids stay as the MVT feature id (a varint, nearly free).
    `scoped`: an area condition (gis/security/scope.py) whose parameters follow the others.
    ST_AsMVTGeom snaps every geometry to the tile's 4096 grid and simplifies lines and polygons at
    that resolution, so low zooms never ship more vertices than the tile can show.
    """
    summary = bool(c.tile_summary) and z < c.tile_detail_zoom
    props = [f"{p.sql} AS \"{p.name}\"" for p in c.tile_properties_at(z)]
    if not summary:
        props.insert(0, f"{c.id_sql} AS id")
    fid = ""
    if c.id_type == "integer":
        props.append(f"{c.id_sql} AS mvt_fid")
        fid = ", 'mvt_fid'"
    return (
        "WITH env AS (SELECT ST_TileEnvelope(%s, %s, %s) AS e) "
        f"SELECT {query.VERSION_SQL}, (SELECT ST_AsMVT(q, %s, {EXTENT}, 'geom'{fid}) FROM ("
        f"SELECT ST_AsMVTGeom(ST_Transform({c.geom_sql}, 3857), env.e, {EXTENT}, {BUFFER}, true) AS geom, "
        f"{', '.join(props)} FROM {c.from_sql}, env WHERE {c.base_where} AND {c.geom_sql} && "
        f"ST_Transform(ST_Expand(env.e, (ST_XMax(env.e) - ST_XMin(env.e)) * {BUFFER} / {EXTENT}), {STORAGE_SRID})"
        f"{' AND ' + scoped if scoped else ''}) q)"
    )


#: A cluster's cell in tile units (16 × 16 cells per tile: 32 px on the map's 512 px tiles).
CELL = 256


@lru_cache(maxsize=64)
def cluster_sql(c: Collection, scoped: str = "") -> str:
    """One tile of clusters: the points of each cell counted by `tile_cluster_by`, placed at their mean.

    Each cluster carries `point_count` and counts per class: `c:<first>` and `c:<first>-<second>`
    (components: `c:01` per 大类, `c:01-02` per 小类), so the map subtracts the classes its legend
    switched off and counts stay exact under class filters. Points are clipped to the tile without a
    buffer, so each point is in one cluster of one tile at each zoom. At district zoom a tile holds
    ~40,000 components as points (650 KB) but ~270 clusters (~25 KB)."""
    by = [p for name in c.tile_cluster_by for p in c.tile_properties if p.name == name]
    text = [f"coalesce(({p.sql})::text, '')" for p in by]
    full = " || '-' || ".join(text)
    sets = "GROUPING SETS ((k1, k), (k1))" if len(by) > 1 else "k1, k"
    return (
        "WITH env AS (SELECT ST_TileEnvelope(%s, %s, %s) AS e), "
        f"pts AS (SELECT ST_AsMVTGeom(ST_Transform({c.geom_sql}, 3857), env.e, {EXTENT}, 0, true) AS g, "
        f"{text[0]} AS k1, {full} AS k FROM {c.from_sql}, env WHERE {c.base_where} AND {c.geom_sql} && "
        f"ST_Transform(env.e, {STORAGE_SRID}){' AND ' + scoped if scoped else ''}), "
        f"xy AS (SELECT floor(ST_X(g) / {CELL}) AS cx, floor(ST_Y(g) / {CELL}) AS cy, ST_X(g) AS x, ST_Y(g) AS y, "
        "k1, k FROM pts WHERE g IS NOT NULL), "
        f"cells AS (SELECT cx, cy, k1, k, count(*) AS n, sum(x) AS sx, sum(y) AS sy FROM xy GROUP BY cx, cy, {sets}) "
        f"SELECT {query.VERSION_SQL}, (SELECT ST_AsMVT(q, %s, {EXTENT}, 'geom') FROM ("
        "SELECT ST_Point(round(sum(sx) FILTER (WHERE k IS NOT NULL) / sum(n) FILTER (WHERE k IS NOT NULL)), "
        "round(sum(sy) FILTER (WHERE k IS NOT NULL) / sum(n) FILTER (WHERE k IS NOT NULL))) AS geom, "
        "(sum(n) FILTER (WHERE k IS NOT NULL))::int AS point_count, "
        "jsonb_object_agg('c:' || coalesce(k, k1), n) AS counts FROM cells GROUP BY cx, cy) q)"
    )


def _check_tms(tms_id: str) -> None:
    if tms_id != TMS_ID:
        raise NotFound(f"tile matrix set {tms_id!r} is not offered; use {TMS_ID}")


def _geometry_kind(c: Collection) -> str:
    kind = c.geometry_type.lower()
    if "point" in kind:
        return "points"
    if "line" in kind:
        return "lines"
    if "polygon" in kind:
        return "polygons"
    return "geometry"


# -- tile matrix sets ----------------------------------------------------------------------------


@router.get("/tileMatrixSets", summary="Tile matrix sets", openapi_extra=openapi.F_ONLY)
async def tile_matrix_sets(request: Request) -> Response:
    b = base(request)
    doc = {"tileMatrixSets": [{
        "id": TMS_ID, "title": "Google Maps Compatible for the World", "uri": TMS_URI,
        "links": [link(f"{b}/tileMatrixSets/{TMS_ID}", "self", JSON, TMS_ID)],
    }], "links": [link(f"{b}/tileMatrixSets", "self", JSON)]}
    return json_response(doc)


@router.get("/tileMatrixSets/{tms_id}", summary="One tile matrix set (OGC TMS 2.0 JSON)",
            openapi_extra=openapi.F_ONLY)
async def tile_matrix_set(tms_id: str) -> Response:
    _check_tms(tms_id)
    return Response(tms().model_dump_json(exclude_none=True, by_alias=True), media_type=JSON)


# -- tilesets ------------------------------------------------------------------------------------


def _tileset(request: Request, c: Collection, ext: query.Extent) -> dict:
    b = f"{base(request)}/collections/{c.id}/tiles/{TMS_ID}"
    fields = {p.name: {"title": p.title, **TYPES[p.json_type]} for p in c.tile_properties}
    doc = {
        "title": f"{c.title}（矢量瓦片）", "description": c.description, "dataType": "vector",
        "crs": "http://www.opengis.net/def/crs/EPSG/0/3857", "tileMatrixSetURI": TMS_URI,
        "links": [
            link(b, "self", JSON, "瓦片集元数据"),
            link(f"{base(request)}/tileMatrixSets/{TMS_ID}", "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme",
                 JSON, TMS_ID),
            link(f"{b}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}", "item", MVT, "MVT 瓦片", templated=True),
            link(f"{b}/tilejson.json", "describedby", JSON, "TileJSON"),
            link(f"{base(request)}/collections/{c.id}", "collection", JSON, c.title),
        ],
        "layers": [{
            "id": c.id, "title": c.title, "dataType": "vector", "geometryType": _geometry_kind(c),
            "minTileMatrix": str(c.min_zoom), "maxTileMatrix": str(c.max_zoom),
            "propertiesSchema": {"type": "object", "properties": {"id": {"type": "string"}, **fields}},
        }],
    }
    if ext.bbox is not None:
        doc["boundingBox"] = {"lowerLeft": list(ext.bbox[:2]), "upperRight": list(ext.bbox[2:]), "crs": ocrs.CRS84}
    return doc


@router.get("/collections/{collection_id}/tiles", summary="Vector tilesets of a collection",
            openapi_extra=openapi.F_ONLY)
async def tilesets(request: Request, collection_id: str) -> Response:
    c = get_collection(collection_id)
    b = f"{base(request)}/collections/{c.id}/tiles"
    doc = {
        "tilesets": [{
            "title": f"{c.title}（矢量瓦片）", "dataType": "vector", "crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
            "tileMatrixSetURI": TMS_URI,
            "links": [link(f"{b}/{TMS_ID}", "self", JSON, TMS_ID),
                      link(f"{base(request)}/tileMatrixSets/{TMS_ID}",
                           "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme", JSON, TMS_ID)],
        }],
        "links": [link(b, "self", JSON), link(f"{base(request)}/collections/{c.id}", "collection", JSON, c.title)],
    }
    if negotiate(request):
        return html.render("tileset.html", {**doc, "title": doc["tilesets"][0]["title"]}, request)
    return json_response(doc)


@router.get("/collections/{collection_id}/tiles/{tms_id}", summary="Tileset metadata",
            openapi_extra=openapi.F_ONLY)
async def tileset(request: Request, collection_id: str, tms_id: str) -> Response:
    c = get_collection(collection_id)
    st = ogc(request)
    _check_tms(tms_id)
    doc = _tileset(request, c, await query.extent(st, c, await query.versions(st)))
    if negotiate(request):
        return html.render("tileset.html", doc, request)
    return json_response(doc)


@router.get("/collections/{collection_id}/tiles/{tms_id}/tilejson.json", summary="TileJSON 3.0")
async def tilejson(request: Request, collection_id: str, tms_id: str) -> Response:
    c = get_collection(collection_id)
    st = ogc(request)
    _check_tms(tms_id)
    ext = await query.extent(st, c, await query.versions(st))
    bounds = list(ext.bbox) if ext.bbox else [-180.0, -85.0511287798066, 180.0, 85.0511287798066]
    doc = {
        "tilejson": "3.0.0", "name": c.title, "description": c.description, "scheme": "xyz",
        "tiles": [f"{base(request)}/collections/{c.id}/tiles/{TMS_ID}/{{z}}/{{y}}/{{x}}"],
        "minzoom": c.min_zoom, "maxzoom": c.max_zoom, "bounds": bounds,
        "center": [(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2, max(c.min_zoom, 12)],
        "vector_layers": [{
            "id": c.id, "description": c.title, "minzoom": c.min_zoom, "maxzoom": c.max_zoom,
            "fields": {"id": "标识", **{p.name: p.title for p in c.tile_properties}},
        }],
    }
    return json_response(doc)


# -- tiles ---------------------------------------------------------------------------------------


@router.get("/collections/{collection_id}/tiles/{tms_id}/{z}/{y}/{x}", summary="One MVT tile",
            openapi_extra=openapi.TILE, responses={200: {"content": {MVT: {}}}})
async def tile(request: Request, collection_id: str, tms_id: str, z: int, y: int, x: int) -> Response:
    c = get_collection(collection_id)
    st = ogc(request)
    _check_tms(tms_id)
    if not (c.min_zoom <= z <= c.max_zoom) or not (0 <= x < 2 ** z and 0 <= y < 2 ** z):
        raise NotFound(f"tile {z}/{y}/{x} is outside {TMS_ID} for {c.id} (zoom {c.min_zoom}–{c.max_zoom})")
    clustered = (below := params.cluster_below(c, request.query_params)) is not None and z < below
    area = read_scope(request, c)
    if area is not None:
        return await _scoped_tile(request, st, c, z, x, y, area, clustered)
    cache_id = f"{c.id}+clusters" if clustered else c.id
    key: tuple | None = None
    if c.cacheable:
        try:
            row = await st.fetchone("SELECT " + query.VERSION_SQL, [list(c.tables)])
        except DatabaseUnavailable:
            # The database is unreachable: the newest tile this worker built answers, marked stale.
            known = st.tiles.last_known((cache_id, z, x, y))
            if known is None:
                raise
            degraded.note_stale(known[1].checked)
            return await _tile_response(request, known[1], known[0], st.tiles)
        key = (cache_id, z, x, y, row[0])
        hit = st.tiles.get(key)
        if hit is not None:
            hit.checked = time.time()
            return await _tile_response(request, hit, key, st.tiles)
    sql = cluster_sql(c) if clustered else tile_sql(c, z)
    row = await st.fetchone(sql, [z, x, y, list(c.tables), c.id])
    version, data = row[0], bytes(row[1] or b"")
    built = Tile(data, f'"{version:x}-{hashlib.blake2b(data, digest_size=8).hexdigest()}"', checked=time.time())
    if c.cacheable:
        key = (cache_id, z, x, y, version)
        st.tiles.put(key, built)
    return await _tile_response(request, built, key, st.tiles)


async def _scoped_tile(request: Request, st, c: Collection, z: int, x: int, y: int, area: Area,
                       clustered: bool = False) -> Response:
    """A tile holding only the features inside `area`: cached under its own key (collection@area), so
    scoped and unscoped tiles never mix, and sent `private` with `Vary` on the credentials, so no
    shared or browser cache hands it to another caller."""
    cond, cond_params = scope.condition(c, area)
    cache_id = f"{c.id}{'+clusters' if clustered else ''}@{area.code}"
    key: tuple | None = None
    if c.cacheable:
        row = await st.fetchone("SELECT " + query.VERSION_SQL, [list(c.tables)])
        key = (cache_id, z, x, y, row[0])
        hit = st.tiles.get(key)
        if hit is not None:
            hit.checked = time.time()
            return await _tile_response(request, hit, key, st.tiles, private=True)
    if clustered:  # the area's condition sits inside the points' CTE, before the version and the name
        row = await st.fetchone(cluster_sql(c, cond), [z, x, y, *cond_params, list(c.tables), c.id])
    else:
        row = await st.fetchone(tile_sql(c, z, cond), [z, x, y, list(c.tables), c.id, *cond_params])
    version, data = row[0], bytes(row[1] or b"")
    built = Tile(data, f'"{version:x}-{hashlib.blake2b(data, digest_size=8).hexdigest()}"', checked=time.time())
    if c.cacheable:
        key = (cache_id, z, x, y, version)
        st.tiles.put(key, built)
    return await _tile_response(request, built, key, st.tiles, private=True)


def _accepts_gzip(request: Request) -> bool:
    """`gzip` (or `*`) in Accept-Encoding with a non-zero quality."""
    for part in request.headers.get("accept-encoding", "").split(","):
        name, _, params = part.partition(";")
        if name.strip().lower() in ("gzip", "*"):
            q = params.strip().lower()
            return not (q.startswith("q=") and q[2:].strip().rstrip("0").rstrip(".") in ("", "0"))
    return False


def _gzip(data: bytes) -> bytes:
    # Level 4: ~4x smaller tiles at a fraction of level 6's cost on these repetitive protobufs.
    return gzip.compress(data, compresslevel=4, mtime=0)


async def _tile_response(request: Request, tile: Tile, key: tuple | None, cache: TileCache,
                         private: bool = False) -> Response:
    """The tile, gzip-encoded for clients that accept it (the twin is made once and cached with it).

    The gzip answer has its own ETag (`…-gz"`): a validator names one representation. Either one
    in `If-None-Match` gets a 304, since both stand for the same tile."""
    cacheable = key is not None
    headers = {"Cache-Control": "public, max-age=60" if cacheable else "no-cache", "Vary": "Accept-Encoding"}
    if private:  # an area-scoped tile: for this caller only
        headers = {"Cache-Control": "private, max-age=60" if cacheable else "no-cache",
                   "Vary": "Accept-Encoding, X-API-Key, Cookie"}
    zipped = bool(tile.data) and _accepts_gzip(request)
    gz_etag = tile.etag[:-1] + '-gz"'
    headers["ETag"] = gz_etag if zipped else tile.etag
    if request.headers.get("if-none-match") in (tile.etag, gz_etag):
        return Response(status_code=304, headers=headers)
    if not tile.data:
        return Response(status_code=204, headers=headers)
    if not zipped:
        return Response(tile.data, media_type=MVT, headers=headers)
    if tile.gz is None:
        before = tile.size
        tile.gz = _gzip(tile.data) if len(tile.data) < 65536 else await run_in_threadpool(_gzip, tile.data)
        if key is not None:
            cache.grew(key, before)
    headers["Content-Encoding"] = "gzip"
    return Response(tile.gz, media_type=MVT, headers=headers)
