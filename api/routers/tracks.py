"""Tracks: playback (`/api/vehicles/{id}/track`), who passed where (`/api/tracks/passed`, 违规反查),
and per-day stops, trips and mileage (`/api/vehicles/{id}/stats`)."""

from __future__ import annotations

from datetime import date
from typing import Any

import psycopg
from fastapi import APIRouter, Depends, Query, Request

from api.auth import area_of, optional_principal
from api.deps import db
from api.models import GEOJSON, Passed
from api.params import Crs, RequiredWindow, Window, parse_bbox_in
from gis.errors import InvalidInput, NotFound
from gis.params import parse_numbers
from gis.security import scope
from gis.tracks import queries

router = APIRouter(tags=["tracks"])


@router.get("/api/vehicles/{vehicle_id}/track", responses=GEOJSON, summary="Track playback as GeoJSON with times")
def vehicle_track(vehicle_id: str, window: Window, crs: Crs, request: Request, conn: psycopg.Connection = Depends(db),
                  principal: Any = Depends(optional_principal)) -> dict[str, Any]:
    """A Feature whose LineString has one vertex per fix; `properties.times[i]` (and speeds, headings)
    belong to vertex i. A scoped caller sees only the vehicles of its area's fleets (404 for others)."""
    _own_vehicle(request, conn, vehicle_id)
    return queries.track(conn, vehicle_id, window.start, window.stop, crs)


def _own_vehicle(request: Request, conn: psycopg.Connection, vehicle_id: str) -> None:
    area = area_of(request)
    if area is not None and not scope.vehicle_in_area(conn, vehicle_id, area):
        raise NotFound(f"no vehicle {vehicle_id!r} in the area {area.label}")


@router.get("/api/tracks/passed", response_model=Passed, response_model_exclude_unset=True,
            summary="Vehicles that passed a box or road segment in a time window (违规反查)")
def tracks_passed(window: RequiredWindow, crs: Crs, request: Request, bbox: str | None = None,
                  segment: str | None = None,
                  buffer_m: float = Query(30.0, gt=0, le=1000),
                  conn: psycopg.Connection = Depends(db), principal: Any = Depends(optional_principal)
                  ) -> dict[str, Any]:
    """`bbox=minlon,minlat,maxlon,maxlat` or `segment=lon1,lat1,lon2,lat2` (with `buffer_m`)."""
    vehicles = queries.passed(
        conn, bbox=parse_bbox_in(bbox, crs),
        segment=parse_numbers(segment, "segment", 4) if segment else None,
        buffer_m=buffer_m, start=window.start, end=window.stop, crs=crs)
    area = area_of(request)
    if area is not None:  # only the vehicles of the area's fleets
        vehicles = [v for v in vehicles if scope.vehicle_in_area(conn, v["vehicle_id"], area)]
    return {"vehicles": vehicles, "count": len(vehicles)}


@router.get("/api/vehicles/{vehicle_id}/stats", summary="A day's mileage, trips and stops (停车分析)")
def vehicle_stats(vehicle_id: str, request: Request,
                  day: str = Query(..., alias="date", description="YYYY-MM-DD, district local"),
                  conn: psycopg.Connection = Depends(db), principal: Any = Depends(optional_principal)
                  ) -> dict[str, Any]:
    _own_vehicle(request, conn, vehicle_id)
    try:
        d = date.fromisoformat(day)
    except ValueError as exc:
        raise InvalidInput(f"date: {day!r} is not YYYY-MM-DD") from exc
    return queries.stats(conn, vehicle_id, d)
