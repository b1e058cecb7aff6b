"""Geocoding: forward (`GET /api/geocode`), batch (`POST /api/geocode/batch`) and reverse (`GET /api/reverse`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
from fastapi import APIRouter, Body, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from api.auth import area_of, require_role
from api.deps import db, db_or_memory
from api.models import GEOJSON
from api.params import Crs, limit_query
from api.services import Svc
from geocoder import answer, batch, reverse, saved
from gis.errors import InvalidInput, TooLarge
from gis.settings import get_settings

router = APIRouter(tags=["geocoding"])


@router.get("/api/geocode", responses=GEOJSON, summary="Forward geocoding of a Chinese address (GeoJSON, best first)")
def geocode(
    svc: Svc,
    request: Request,
    q: str = Query(..., min_length=1, max_length=300, description="the address, as typed or pasted"),
    limit: int = limit_query(5, 20),
    crs: Crs = None,
    conn: psycopg.Connection | None = Depends(db_or_memory),
) -> dict[str, Any]:
    if not q.strip():
        raise InvalidInput("q is empty: give an address")
    return answer.features(conn, q, limit, crs, index=svc.addresses.get(conn), grids=svc.grids,
                           area=area_of(request))


@router.get("/api/reverse", responses=GEOJSON,
            summary="Reverse geocoding: the standard address with direction and distance")
def reverse_geocode(
    svc: Svc,
    request: Request,
    lon: float = Query(..., description="x / longitude in `crs`"),
    lat: float = Query(..., description="y / latitude in `crs`"),
    crs: Crs = None,
    conn: psycopg.Connection | None = Depends(db_or_memory),
) -> dict[str, Any]:
    return reverse.reverse(conn, lon, lat, crs, index=svc.addresses.get(conn), grids=svc.grids,
                           area=area_of(request))


@router.post(
    "/api/geocode/batch",
    summary="Batch geocoding: CSV, NDJSON or Excel in; NDJSON (or CSV) out, streamed in input order",
    openapi_extra={"requestBody": {"content": {
        "text/csv": {"schema": {"type": "string"}},
        "application/x-ndjson": {"schema": {"type": "string"}},
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
            "schema": {"type": "string", "format": "binary"}},
    }}},
)
async def geocode_batch(
    request: Request,
    svc: Svc,
    crs: Crs = None,
    out: str | None = Query(None, pattern="^(ndjson|csv)$", description="answer format (default from Accept)"),
    fmt: str | None = Query(None, alias="format", pattern="^(ndjson|csv|xlsx)$", description="input format"),
) -> StreamingResponse:
    body = await request.body()
    kind = fmt or batch.detect_format(request.headers.get("content-type"), None, body[:8])
    rows = list(batch.read_rows(body, kind))  # parse all first: a bad row is a 400, not a broken stream
    limit = get_settings().max_bulk_points
    if len(rows) > limit:
        raise TooLarge(f"{len(rows)} rows sent; at most {limit} per request")
    want_csv = out == "csv" or (out is None and "text/csv" in request.headers.get("accept", ""))

    area = await run_in_threadpool(area_of, request)

    def stream() -> Iterator[bytes]:
        with svc.connection_or_none() as conn:
            blocks = batch.csv_blocks if want_csv else batch.ndjson_blocks
            # One block per chunk of rows, not one piece per row: each piece of a streamed answer costs a
            # hand-off to the event loop's thread.
            yield from blocks(conn, rows, crs, index=svc.addresses.get(conn), grids=svc.grids, area=area)

    media = "text/csv; charset=utf-8" if want_csv else "application/x-ndjson"
    return StreamingResponse(stream(), media_type=media, headers={"X-Rows": str(len(rows))})


@router.post("/api/geocode/layers", status_code=201, summary="Keep batch-geocoding results as a named layer")
def save_layer(body: Any = Body(..., examples=[{"name": "2026年11月整改地址", "points": [
                   {"row": 0, "query": "淞滨路100号", "standard_address": "上海市宝山区吴淞街道淞滨路100号",
                    "match_level": "doorplate", "confidence": 1.0, "lon": 121.48, "lat": 31.3802}]}]),
               conn: psycopg.Connection = Depends(db), principal: Any = Depends(require_role("inspector"))
               ) -> dict[str, Any]:
    """The placed rows of a batch under a name, published as OGC collection `geocoded_points`
    (`?layer=<name>`); a name in use is a 409."""
    return saved.save(conn, body)


@router.get("/api/geocode/layers", summary="Saved batch-geocoding layers")
def list_layers(request: Request, conn: psycopg.Connection = Depends(db)) -> dict[str, Any]:
    """Name, points, when saved, points per match level (a caller limited to an area: its points only)."""
    return {"layers": saved.list_layers(conn, area_of(request))}


@router.delete("/api/geocode/layers/{name}", status_code=204, summary="Delete a saved batch-geocoding layer")
def delete_layer(name: str, conn: psycopg.Connection = Depends(db),
                 principal: Any = Depends(require_role("inspector"))) -> Response:
    saved.delete(conn, name)
    return Response(status_code=204)
