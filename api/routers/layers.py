"""Heat, flow and choropleth layers (issue 5): parse, call layers/, shape the answer."""

from __future__ import annotations

from typing import Annotated, Any

import psycopg
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from api.auth import area_of, optional_principal
from api.deps import db
from api.models import HeatSource
from api.params import OptionalBBox, Window
from api.responses import GeoJSONResponse, JSONResponse
from api.services import Svc
from gis.catalog import by_id
from gis.errors import InvalidInput, Unauthorized
from layers import choropleth as choro
from layers import flows as flw
from layers import heat, raster
from layers.sources import SOURCES

router = APIRouter(prefix="/api/layers", tags=["layers"], dependencies=[Depends(optional_principal)])

Conn = Annotated[psycopg.Connection, Depends(db)]


@router.get("/sources", response_class=JSONResponse, response_model=list[HeatSource])
def sources() -> Any:
    """The registered heat sources (ids are those of the OGC point collections) and their filters."""
    return JSONResponse([
        {"id": s.id, "title": s.title, "time": s.time_column is not None, "category": s.category,
         "weights": ["count", *s.weights], "default_weight": s.default_weight, "ogc_collection": s.ogc}
        for s in SOURCES.values()
    ])


@router.get("/heat", response_class=GeoJSONResponse, responses={200: {"content": {
    "application/geo+json": {}, "image/png": {}, "image/tiff": {}}}})
def heat_layer(
    request: Request,
    conn: Conn,
    svc: Svc,
    bbox: OptionalBBox,
    window: Window,
    source: str = Query("cases", description="heat source id (an OGC point collection id, or complaints, "
                                             "waste_records)"),
    zoom: float | None = Query(None, description="map zoom: chooses the H3 resolution"),
    resolution: int | None = Query(None, description="H3 resolution 4–13 (overrides zoom)"),
    category: str | None = Query(None, description="大类 `01`, 大类+小类 `0101`, or the source's category values; "
                                                   "comma-separated"),
    weight: str | None = Query(None, description="a weight column of the source, or `count`"),
    format: str = Query("geojson", description="geojson | png | tif"),
    width: int = Query(1024, description="raster width in pixels"),
    height: int = Query(1024, description="raster height in pixels"),
) -> Response:
    """H3 hexagons with count and weighted sum, or a kernel-density raster (PNG coloured / GeoTIFF, EPSG:3857)."""
    area = area_of(request)
    if area is None and (request.scope.get("state") or {}).get("principal") is None and source in by_id() \
            and by_id()[source].read_requires_key:
        raise Unauthorized(f"the heat of {source} needs an API key (its collection is not open to anonymous reads)")
    q = heat.build_query(conn, source=source, bbox=bbox, start=window.start, stop=window.stop, category=category,
                         weight=weight, area=area)
    if format in ("geojson", "json"):
        return GeoJSONResponse(heat.hexagons(conn, q, zoom=zoom, resolution=resolution, answers=svc.layers))
    if format not in ("png", "tif", "tiff"):
        raise InvalidInput(f"format must be geojson, png or tif, got {format!r}")
    d = raster.render(conn, q, "png" if format == "png" else "tif", width=width, height=height, answers=svc.layers)
    w, s, e, n = d.bbox
    headers = {
        "X-Bounds": f"{w},{s},{e},{n}", "X-Bounds-CRS": "EPSG:4490",
        "X-Raster-CRS": "EPSG:3857", "X-Raster-Bounds": ",".join(f"{v:.3f}" for v in d.bounds_3857),
        "X-H3-Resolution": str(d.resolution), "Cache-Control": "no-cache",
    }
    if format == "png":
        return Response(d.content, media_type="image/png", headers=headers)
    headers["Content-Disposition"] = f'attachment; filename="heat-{q.source.id}.tif"'
    return Response(d.content, media_type="image/tiff", headers=headers)


@router.get("/flows", response_class=GeoJSONResponse)
def flows_layer(
    request: Request,
    conn: Conn,
    svc: Svc,
    window: Window,
    source: str | None = Query(None, description="waste kind: kitchen (default), household, recyclable, "
                                                 "hazardous, muck"),
    resolution: int | None = Query(None, description="H3 resolution of the generator clusters (default 8)"),
) -> Response:
    """Flow lines from generator clusters to disposal facilities, weighted by tonnes; plant and street summaries."""
    return GeoJSONResponse(flw.flows(conn, source=source, start=window.start, stop=window.stop, resolution=resolution,
                                     answers=svc.layers, area=area_of(request)))


@router.get("/choropleth", response_class=GeoJSONResponse)
def choropleth_layer(
    request: Request,
    conn: Conn,
    window: Window,
    bbox: OptionalBBox,
    level: str = Query("community", description="unit_grid | eval_grid | community | street"),
    metric: str = Query("cases", description="cases | case_rate (per km²) | eval_grade"),
    source: str = Query("cases", description="cases | complaints"),
    category: str | None = Query(None),
    method: str = Query("quantiles", description="quantiles | natural_breaks | equal_interval"),
    classes: int = Query(5, description="number of classes 2–9"),
    geometry: bool = Query(True, description="include area geometries"),
) -> Response:
    """Per-area case counts, rates and evaluation grades with class breaks and legend."""
    return GeoJSONResponse(choro.choropleth(
        conn, level=level, metric=metric, source=source, start=window.start, stop=window.stop, category=category,
        bbox=bbox,
        method=method, classes=classes, geometry=geometry, area=area_of(request)))
