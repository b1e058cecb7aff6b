"""相似案件提示: `GET /api/cases/similar` (earlier open cases of the same category near a point, scored)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import psycopg
from fastapi import APIRouter, Depends, Query, Request

from api.auth import area_of, optional_principal
from api.deps import db
from api.params import CRS_HELP, Crs, instant
from gis import crs as gcrs
from gis.cases import similar as sim
from gis.errors import InvalidInput

router = APIRouter(tags=["cases"], dependencies=[Depends(optional_principal)])
Conn = Annotated[psycopg.Connection, Depends(db)]


@router.get("/api/cases/similar", summary="Earlier open cases of the same category nearby, scored")
def similar_cases(conn: Conn, crs: Crs, request: Request,
                  major: str = Query(..., description="大类 (2 digits)"),
                  minor: str = Query(..., description="小类 (2 digits)"),
                  lon: float = Query(..., description=f"x in `crs` ({CRS_HELP})"), lat: float = Query(...),
                  at: str | None = Query(None, description="the new case's time (ISO 8601; default now)"),
                  kind: str = Query("event", description="event | component"),
                  radius_m: float = Query(100.0), window_h: float = Query(72.0),
                  duplicate_at: float = Query(0.7, description="score from which a case is a probable duplicate"),
                  exclude_id: int | None = Query(None, description="the case itself, when it is stored")
                  ) -> dict[str, Any]:
    """Each candidate: id, code, reported_at, status, address, description, distance_m, score (0–1:
    0.6 × closeness in space + 0.4 × closeness in time), probable_duplicate."""
    if not (major.isdigit() and len(major) == 2 and minor.isdigit() and len(minor) == 2):
        raise InvalidInput(f"major/minor: {major!r}/{minor!r} must be two digits each")
    if kind not in ("event", "component"):
        raise InvalidInput(f"kind: {kind!r} is not event or component")
    when = instant(at, "at") or datetime.now(UTC)
    xs, ys = gcrs.to_storage([lon], [lat], crs)
    w = sim.Window(radius_m=radius_m, window_h=window_h, duplicate_at=duplicate_at)
    found = sim.similar(conn, kind=kind, major=major, minor=minor, at=when, lon=float(xs[0]), lat=float(ys[0]),
                        w=w, exclude_id=exclude_id, area=area_of(request))  # a scoped caller: its area's cases
    return {"at": when.isoformat(), "radius_m": radius_m, "window_h": window_h, "similar": found,
            "probable_duplicates": [c["id"] for c in found if c["probable_duplicate"]]}
