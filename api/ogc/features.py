"""OGC API – Features: landing page, conformance, collections, items, single items, queryables, and
the OpenAPI 3.0 document, in GeoJSON/JSON and HTML.

Decision (issue 8, point 4): these are CityGrid's own async routers, not pygeoapi. pygeoapi 0.24
needs Python 3.12 (this project runs on 3.11) and its request path (a provider that fetches rows,
builds Python dicts and serialises them, and counts the whole table on every page) cannot meet the
figures of the issue; the hot paths here run one prepared statement on an async pool and splice the
GeoJSON text PostGIS built. The query parameters are parsed by hand from the raw query string (OGC
names like `bbox-crs`, queryables as parameters, unknown names refused) and declared in the OpenAPI
document through `openapi_extra`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.auth import read_scope
from api.ogc import crs as ocrs
from api.ogc import html, openapi, params, query
from api.ogc.collections import COLLECTIONS, TYPES, Collection, get_collection
from api.ogc.state import ogc
from gis.errors import InvalidInput, NotFound
from gis.security import scope

GEOJSON = "application/geo+json"
JSON = "application/json"
HTML = "text/html"

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/landing-page",
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/json",
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-common-2/1.0/conf/collections",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/case-insensitive-comparison",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/temporal-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/property-property",
    "http://www.opengis.net/spec/cql2/1.0/conf/arithmetic",
    "http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/sorting",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/features",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/tms/2.0/conf/tilematrixset",
    "http://www.opengis.net/spec/tms/2.0/conf/json-tilematrixset",
]

router = APIRouter(prefix="/ogc", tags=["OGC API"])


# -- helpers -----------------------------------------------------------------------------------------


def base(request: Request) -> str:
    """The OGC API root URL as the client sees it (cached per scheme, host and root path: building a
    Starlette URL costs as much as the rest of a one-item answer; the cache is the app's OgcState.bases)."""
    scope = request.scope
    host = next((v for k, v in scope.get("headers") or () if k == b"host"), None)
    server = scope.get("server")  # a tuple from uvicorn, a list from Starlette's TestClient
    key = (scope.get("scheme"), host, scope.get("root_path"), scope.get("app_root_path"),
           tuple(server) if server else None)
    bases = ogc(request).bases
    found = bases.get(key)
    if found is None:
        if len(bases) > 256:
            bases.clear()
        found = bases[key] = str(request.base_url).rstrip("/") + "/ogc"
    return found


def link(href: str, rel: str, type_: str, title: str | None = None, **extra: object) -> dict:
    out = {"href": href, "rel": rel, "type": type_}
    if title:
        out["title"] = title
    out.update(extra)
    return out


def json_response(doc: object, media_type: str = JSON, headers: dict | None = None) -> Response:
    return Response(orjson.dumps(doc), media_type=media_type, headers=headers)


def negotiate(request: Request) -> bool:
    return params.wants_html(request.query_params, request.headers.get("accept"))


def self_links(request: Request, json_type: str = JSON) -> list[dict]:
    """self + alternate links for a document offered as JSON and HTML."""
    url = str(request.url.remove_query_params("f"))
    sep = "&" if "?" in url else "?"
    html_now = negotiate(request)
    return [
        link(f"{url}{sep}f=json", "alternate" if html_now else "self", json_type, "JSON"),
        link(f"{url}{sep}f=html", "self" if html_now else "alternate", HTML, "HTML"),
    ]


def answer(request: Request, doc: dict, template: str, media_type: str = JSON) -> Response:
    if negotiate(request):
        return html.render(template, doc, request)
    return json_response(doc, media_type)


# -- landing, conformance, api -------------------------------------------------------------------


@router.get("", summary="OGC API landing page", openapi_extra=openapi.F_ONLY)
async def landing(request: Request) -> Response:
    b = base(request)
    doc = {
        "title": "CityGrid OGC API",
        "description": "城市运行管理服务平台 GIS 核心的 OGC API – Features / Tiles："
                       "网格、部件、环卫设施、车辆、案件等图层。",
        "links": [
            *self_links(request),
            link(f"{b}/api", "service-desc", openapi.MEDIA_TYPE, "OpenAPI 3.0 定义"),
            link(f"{b}/api?f=html", "service-doc", HTML, "接口文档"),
            link(f"{b}/conformance", "conformance", JSON, "符合性声明"),
            link(f"{b}/conformance", "http://www.opengis.net/def/rel/ogc/1.0/conformance", JSON, "符合性声明"),
            link(f"{b}/collections", "data", JSON, "图层集合"),
            link(f"{b}/collections", "http://www.opengis.net/def/rel/ogc/1.0/data", JSON, "图层集合"),
            link(f"{b}/tileMatrixSets", "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes", JSON,
                 "瓦片矩阵集"),
            link(f"{b}/processes", "http://www.opengis.net/def/rel/ogc/1.0/processes", JSON,
                 "处理过程（批量地址编码、定位等）"),
            link(f"{b}/jobs", "http://www.opengis.net/def/rel/ogc/1.0/job-list", JSON, "异步作业"),
        ],
    }
    return answer(request, doc, "landing.html")


@router.get("/conformance", summary="Conformance classes", openapi_extra=openapi.F_ONLY)
async def conformance(request: Request) -> Response:
    from api.ogc import moving, processes

    classes = CONFORMANCE + moving.conformance() + processes.CONFORMANCE
    return answer(request, {"conformsTo": classes, "links": self_links(request)}, "conformance.html")


@router.get("/api", summary="This API's OpenAPI 3.0 definition", openapi_extra=openapi.F_ONLY)
async def api_definition(request: Request) -> Response:
    if negotiate(request):
        return html.swagger(request)
    return Response(openapi.document(request.app, base(request), ogc(request).openapi), media_type=openapi.MEDIA_TYPE)


# -- collections ---------------------------------------------------------------------------------


def collection_doc(request: Request, c: Collection, ext: query.Extent) -> dict:
    b = f"{base(request)}/collections/{c.id}"
    links = [
        link(b, "self", JSON, c.title),
        link(f"{b}?f=html", "alternate", HTML, c.title),
        link(f"{b}/items", "items", GEOJSON, f"{c.title}（GeoJSON）"),
        link(f"{b}/items?f=html", "items", HTML, f"{c.title}（HTML）"),
        link(f"{b}/queryables", "http://www.opengis.net/def/rel/ogc/1.0/queryables", "application/schema+json",
             "可查询属性"),
    ]
    if c.tiles:
        links.append(link(f"{b}/tiles", "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector", JSON, "矢量瓦片"))
    extent: dict = {}
    if ext.bbox is not None:
        extent["spatial"] = {"bbox": [list(ext.bbox)], "crs": ocrs.CRS84}
    if ext.interval is not None:
        extent["temporal"] = {"interval": [list(ext.interval)], "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}
    return {
        "id": c.id, "title": c.title, "description": c.description, "keywords": list(c.keywords),
        "itemType": "feature", "links": links, "extent": extent,
        "crs": ocrs.offered_uris(), "storageCrs": ocrs.STORAGE_URI,
        "geometryType": c.geometry_type,
    }


@router.get("/collections", summary="The published collections", openapi_extra=openapi.F_ONLY)
async def collections(request: Request) -> Response:
    st = ogc(request)
    versions = await query.versions(st)
    docs = [collection_doc(request, c, await query.extent(st, c, versions)) for c in COLLECTIONS]
    from api.ogc import moving  # imports this module: a call-time import, not a cycle at load

    docs.append(moving.collection_doc(request))
    doc = {"links": self_links(request), "collections": docs, "crs": ocrs.offered_uris()}
    return answer(request, doc, "collections.html")


@router.get("/collections/{collection_id}", summary="One collection", openapi_extra=openapi.F_ONLY)
async def collection(request: Request, collection_id: str) -> Response:
    c = get_collection(collection_id)
    st = ogc(request)
    doc = collection_doc(request, c, await query.extent(st, c, await query.versions(st)))
    doc["links"] = self_links(request) + doc["links"][2:]
    return answer(request, doc, "collection.html")


@router.get("/collections/{collection_id}/queryables", summary="Queryable properties (JSON Schema)",
            openapi_extra=openapi.F_ONLY)
async def queryables(request: Request, collection_id: str) -> Response:
    c = get_collection(collection_id)
    props: dict = {
        "geometry": {"title": "几何", "format": f"geometry-{c.geometry_type.lower().replace('multi', 'multi')}",
                     "x-ogc-role": "primary-geometry"},
        "id": {"title": "标识", "type": "integer" if c.id_type == "integer" else "string", "x-ogc-role": "id"},
    }
    if c.geometry_type == "Geometry":
        props["geometry"]["format"] = "geometry-any"
    for p in c.properties:
        if p.filterable:
            props[p.name] = {"title": p.title, **TYPES[p.json_type]}
    doc = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{base(request)}/collections/{c.id}/queryables",
        "type": "object", "title": c.title, "properties": props, "additionalProperties": False,
    }
    if negotiate(request):
        return html.render("queryables.html", doc, request)
    return json_response(doc, "application/schema+json")


# -- items ---------------------------------------------------------------------------------------


def _page_url(request: Request, **changes: object) -> str:
    items = [(k, v) for k, v in request.query_params.multi_items() if k not in changes and k != "f"]
    items += [(k, str(v)) for k, v in changes.items() if v is not None]
    query_string = urlencode(items)
    return f"{base(request)}{request.url.path.split('/ogc', 1)[1]}" + (f"?{query_string}" if query_string else "")


@router.get("/collections/{collection_id}/items", summary="Features of a collection",
            openapi_extra=openapi.ITEMS)
async def items(request: Request, collection_id: str) -> Response:
    c = get_collection(collection_id)
    q = params.items(c, request.query_params)
    area = read_scope(request, c)
    if area is not None:  # only scoped principals pay: one more condition, counted and paged alike
        q.where.append(scope.condition(c, area))
    st = ogc(request)
    page = await query.page(st, q)
    keyset_used = q.keyset and (q.after is not None or q.before is not None)
    if q.offset == 0 and not keyset_used and page.returned < q.limit:
        matched = page.returned
    else:
        matched = await query.count(st, q, page.version)
    links = [link(_page_url(request), "self", GEOJSON, "本页"), link(_page_url(request, f="html"), "alternate", HTML)]
    start = q.offset
    if start + page.returned < matched and page.returned == q.limit:
        nxt = {"offset": start + q.limit, "before": None}
        if q.keyset and page.last_key is not None:
            nxt["after"] = page.last_key
        links.append(link(_page_url(request, **nxt), "next", GEOJSON, "下一页"))
    if start > 0:
        prev = {"offset": max(start - q.limit, 0), "after": None}
        if q.keyset and page.first_key is not None and start - q.limit > 0:
            prev["before"] = page.first_key
        else:
            prev["before"] = None
        links.append(link(_page_url(request, **prev), "prev", GEOJSON, "上一页"))
    links.append(link(f"{base(request)}/collections/{c.id}", "collection", JSON, c.title))
    head = orjson.dumps({
        "type": "FeatureCollection", "numberMatched": matched, "numberReturned": page.returned,
        "timeStamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "links": links,
    })
    body = head[:-1] + b',"features":[' + page.features + b"]}"
    crs_header = {"Content-Crs": f"<{q.crs.uri}>"}
    if negotiate(request):
        return html.render("items.html", {**orjson.loads(body), "collection": c}, request, headers=crs_header)
    return Response(body, media_type=GEOJSON, headers=crs_header)


@router.get("/collections/{collection_id}/items/{feature_id}", summary="One feature",
            openapi_extra=openapi.ITEM)
async def item(request: Request, collection_id: str, feature_id: str) -> Response:
    c = get_collection(collection_id)
    qp = request.query_params
    unknown = [k for k in qp if k not in ("f", "crs", "properties")]
    if unknown:
        raise InvalidInput(f"unknown query parameter(s) {', '.join(unknown)} for a single feature")
    out_crs = ocrs.lookup(qp.get("crs"), "crs")
    area = read_scope(request, c)
    found = await query.one(ogc(request), c, feature_id, out_crs, params.output_props(c, qp),
                            scope.condition(c, area) if area is not None else None)
    if found is None:
        raise NotFound(f"collection {c.id} has no feature {feature_id!r}")
    feature, etag = found
    b = f"{base(request)}/collections/{c.id}"
    links = orjson.dumps([
        link(f"{b}/items/{feature_id}", "self", GEOJSON), link(f"{b}/items/{feature_id}?f=html", "alternate", HTML),
        link(b, "collection", JSON, c.title),
    ])
    body = feature[:-1] + b',"links":' + links + b"}"
    headers = {"Content-Crs": f"<{out_crs.uri}>", "ETag": f'"{etag.decode()}"'}
    if negotiate(request):
        return html.render("item.html", {**orjson.loads(body), "collection": c}, request, headers=headers)
    return Response(body, media_type=GEOJSON, headers=headers)
