"""Tracks: playback (`/api/vehicles/{id}/track`), who passed where (`/api/tracks/passed`, 违规反查),
and per-day stops, trips and mileage (`/api/vehicles/{id}/stats`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import psycopg
from fastapi import APIRouter, Depends, Query

from api.auth import optional_principal
from api.deps import db
from gis.errors import InvalidInput
from gis.tracks import queries

router = APIRouter(tags=["tracks"])


def parse_time(value: str | None, name: str) -> datetime | None:
    """ISO 8601 with an offset or Z (a date alone means its local midnight is not guessed: refused)."""
    if value is None:
        return None
    try:
        dt = datetime.fromisoformat(value.strip().replace(" ", "+") if "T" in value else value.strip())
    except ValueError as exc:
        raise InvalidInput(f"{name}: {value!r} is not an ISO 8601 time") from exc
    if dt.tzinfo is None:
        raise InvalidInput(f"{name}: {value!r} needs an offset or Z")
    return dt


def _floats(value: str, name: str, n: int) -> tuple[float, ...]:
    try:
        parts = tuple(float(p) for p in value.split(","))
    except ValueError as exc:
        raise InvalidInput(f"{name}: expected {n} comma-separated numbers") from exc
    if len(parts) != n:
        raise InvalidInput(f"{name}: expected {n} comma-separated numbers, got {len(parts)}")
    return parts


@router.get("/api/vehicles/{vehicle_id}/track", summary="Track playback as GeoJSON with times")
def vehicle_track(vehicle_id: str, start: str | None = Query(None, alias="from"),
                  end: str | None = Query(None, alias="to"),
                  crs: str | None = None, conn: psycopg.Connection = Depends(db),
                  principal: Any = Depends(optional_principal)) -> dict[str, Any]:
    """A Feature whose LineString has one vertex per fix; `properties.times[i]` (and speeds, headings)
    belong to vertex i."""
    return queries.track(conn, vehicle_id, parse_time(start, "from"), parse_time(end, "to"), crs)


@router.get("/api/tracks/passed", summary="Vehicles that passed a box or road segment in a time window (违规反查)")
def tracks_passed(start: str = Query(..., alias="from"), end: str = Query(..., alias="to"),
                  bbox: str | None = None, segment: str | None = None,
                  buffer_m: float = Query(30.0, gt=0, le=1000), crs: str | None = None,
                  conn: psycopg.Connection = Depends(db), principal: Any = Depends(optional_principal)
                  ) -> dict[str, Any]:
    """`bbox=minlon,minlat,maxlon,maxlat` or `segment=lon1,lat1,lon2,lat2` (with `buffer_m`)."""
    vehicles = queries.passed(
        conn, bbox=_floats(bbox, "bbox", 4) if bbox else None,
        segment=_floats(segment, "segment", 4) if segment else None,
        buffer_m=buffer_m, start=parse_time(start, "from"), end=parse_time(end, "to"), crs=crs)
    return {"vehicles": vehicles, "count": len(vehicles)}


@router.get("/api/vehicles/{vehicle_id}/stats", summary="A day's mileage, trips and stops (停车分析)")
def vehicle_stats(vehicle_id: str, day: str = Query(..., alias="date", description="YYYY-MM-DD, district local"),
                  conn: psycopg.Connection = Depends(db), principal: Any = Depends(optional_principal)
                  ) -> dict[str, Any]:
    try:
        d = date.fromisoformat(day)
    except ValueError as exc:
        raise InvalidInput(f"date: {day!r} is not YYYY-MM-DD") from exc
    return queries.stats(conn, vehicle_id, d)
