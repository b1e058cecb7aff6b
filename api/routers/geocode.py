"""Geocoding: forward (`GET /api/geocode`), batch (`POST /api/geocode/batch`) and reverse (`GET /api/reverse`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from api.deps import db_or_memory
from api.models import GEOJSON
from api.params import Crs, limit_query
from api.services import Svc
from geocoder import answer, batch, reverse
from gis.errors import InvalidInput, TooLarge
from gis.settings import get_settings

router = APIRouter(tags=["geocoding"])


@router.get("/api/geocode", responses=GEOJSON, summary="Forward geocoding of a Chinese address (GeoJSON, best first)")
def geocode(
    svc: Svc,
    q: str = Query(..., min_length=1, max_length=300, description="the address, as typed or pasted"),
    limit: int = limit_query(5, 20),
    crs: Crs = None,
    conn: psycopg.Connection | None = Depends(db_or_memory),
) -> dict[str, Any]:
    if not q.strip():
        raise InvalidInput("q is empty: give an address")
    return answer.features(conn, q, limit, crs, index=svc.addresses.get(conn), grids=svc.grids)


@router.get("/api/reverse", responses=GEOJSON,
            summary="Reverse geocoding: the standard address with direction and distance")
def reverse_geocode(
    svc: Svc,
    lon: float = Query(..., description="x / longitude in `crs`"),
    lat: float = Query(..., description="y / latitude in `crs`"),
    crs: Crs = None,
    conn: psycopg.Connection | None = Depends(db_or_memory),
) -> dict[str, Any]:
    return reverse.reverse(conn, lon, lat, crs, index=svc.addresses.get(conn), grids=svc.grids)


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

    def stream() -> Iterator[bytes]:
        with svc.connection_or_none() as conn:
            feats = batch.answers(conn, rows, crs, index=svc.addresses.get(conn), grids=svc.grids)
            yield from (batch.csv_lines(feats) if want_csv else batch.ndjson_lines(feats))

    media = "text/csv; charset=utf-8" if want_csv else "application/x-ndjson"
    return StreamingResponse(stream(), media_type=media, headers={"X-Rows": str(len(rows))})
