"""Hand-made fixtures for the fence tests: a few vehicles, a square area, a short corridor, and fixes
built in metres around a reference point near 宝山 (121.40 E, 31.30 N)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg

LON0, LAT0 = 121.40, 31.30
M_LAT = 1 / 110_940.0                          # degrees per metre north
M_LON = 1 / (111_320.0 * math.cos(math.radians(LAT0)))


def ll(east_m: float, north_m: float) -> list[float]:
    return [round(LON0 + east_m * M_LON, 8), round(LAT0 + north_m * M_LAT, 8)]


def base_time(hours_ago: float = 3.0) -> datetime:
    t = datetime.now(UTC) - timedelta(hours=hours_ago)
    return t.replace(second=0, microsecond=0)


def iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def fix(vehicle: str, t: datetime, east_m: float, north_m: float, **extra: Any) -> dict[str, Any]:
    lon, lat = ll(east_m, north_m)
    return {"vehicle_id": vehicle, "ts": iso(t), "lon": lon, "lat": lat, **extra}


def drive(vehicle: str, t0: datetime, points: list[tuple[float, float]], step_s: float = 10.0,
          **extra: Any) -> list[dict[str, Any]]:
    return [fix(vehicle, t0 + timedelta(seconds=i * step_s), e, n, **extra) for i, (e, n) in enumerate(points)]


def add_vehicles(db: psycopg.Connection, *ids: str, group: str | None = None) -> None:
    for v in ids:
        db.execute("INSERT INTO vehicles (id, kind, vehicle_group) VALUES (%s, 'household_waste', %s)", (v, group))


def square(half_m: float) -> dict[str, Any]:
    ring = [ll(-half_m, -half_m), ll(half_m, -half_m), ll(half_m, half_m), ll(-half_m, half_m), ll(-half_m, -half_m)]
    return {"type": "Polygon", "coordinates": [ring]}


def line(*pts: tuple[float, float]) -> dict[str, Any]:
    return {"type": "LineString", "coordinates": [ll(e, n) for e, n in pts]}


def fence(http: httpx.Client, key: str, geometry: dict[str, Any], **props: Any) -> dict[str, Any]:
    r = http.post("/api/fences", json={"type": "Feature", "geometry": geometry, "properties": props},
                  headers={"X-API-Key": key})
    assert r.status_code == 201, r.text
    return r.json()


def post(http: httpx.Client, key: str, fixes: list[dict[str, Any]]) -> dict[str, Any]:
    r = http.post("/api/positions", json=fixes, headers={"X-API-Key": key})
    assert r.status_code == 200, r.text
    return r.json()


def alarms(http: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    r = http.get("/api/alarms", params={"limit": 1000, **params})
    assert r.status_code == 200, r.text
    return r.json()["alarms"]
