"""评价样本点位: seeded, audited draws by kind and quota, assignments to inspectors, and check-ins (any CRS,
GCJ-02 from phones) judged against the point's radius or polygon. Points are a catalog layer
(`citygrid import eval_samples FILE`, OGC collection `eval_samples`)."""

from __future__ import annotations

from typing import Any

import psycopg
from fastapi import APIRouter, Body, Depends, Path, Request
from pydantic import BaseModel, Field

from api.auth import area_of, require_role
from api.deps import db
from api.params import limit_query
from gis.samples import checkin as checkin_engine
from gis.samples import draw as draw_engine
from gis.security.keys import Principal

router = APIRouter(tags=["eval-samples"])


class DrawRequest(BaseModel):
    kinds: dict[str, int] = Field(..., description="{kind: quota}; kinds by id (main_road …) or Chinese label")
    area: str | None = Field(None, description="6/9/12-digit region code the points must lie in (all when omitted)")
    seed: int = Field(..., description="Any 64-bit integer; the same seed on the same points draws the same sample")


@router.post("/api/eval-samples/draw")
def draw(
    req: DrawRequest = Body(...),
    principal: Principal = Depends(require_role("inspector")),
    conn: psycopg.Connection = Depends(db),
) -> dict[str, Any]:
    """Draws the quotas of each kind within the area; recorded for audit (who, when, request, fingerprint)."""
    return draw_engine.draw(conn, req.kinds, req.area, req.seed, principal.name)


@router.get("/api/eval-samples/draws")
def draws(
    request: Request,
    limit: int = limit_query(50, 1000),
    principal: Principal = Depends(require_role("inspector")),
    conn: psycopg.Connection = Depends(db),
) -> dict[str, Any]:
    """The recorded draws, newest first (for a caller limited to an area: the draws with points inside it,
    with those points only)."""
    return {"draws": draw_engine.list_draws(conn, limit, area_of(request))}


DrawId = Path(..., ge=1, le=2**63 - 1, description="The draw's id")


@router.post("/api/eval-samples/draws/{draw_id}/assign")
def assign(
    draw_id: int = DrawId,
    body: dict[str, Any] = Body(..., examples=[{"inspectors": ["张三", "李四"]},
                                               {"assignments": [{"point": "YB001", "inspector": "张三"}]}]),
    principal: Principal = Depends(require_role("planner")),
    conn: psycopg.Connection = Depends(db),
) -> dict[str, Any]:
    """Binds the drawn points to inspectors (explicitly, or round robin over `inspectors`)."""
    return draw_engine.assign(conn, draw_id, body, principal.name)


@router.get("/api/eval-samples/draws/{draw_id}/assignments")
def assignments(request: Request, draw_id: int = DrawId, principal: Principal = Depends(require_role("inspector")),
                conn: psycopg.Connection = Depends(db)) -> dict[str, Any]:
    """Who checks which drawn point (for a caller limited to an area: the points inside it)."""
    return {"draw_id": draw_id, "assignments": draw_engine.assignments(conn, draw_id, area_of(request))}


class CheckinRequest(BaseModel):
    point: str = Field(..., description="The sample point's code (or id)")
    lon: float = Field(..., description="x: longitude (or easting)")
    lat: float = Field(..., description="y: latitude (or northing)")
    crs: str | None = Field(None, description="CRS of lon/lat: GCJ02 from phones, BD09, EPSG codes; default CRS84")
    inspector: str | None = Field(None, description="Who stood there (default: the key's name)")


@router.post("/api/eval-samples/checkin")
def checkin(
    req: CheckinRequest = Body(...),
    principal: Principal = Depends(require_role("inspector", device=True)),
    conn: psycopg.Connection = Depends(db),
) -> dict[str, Any]:
    """定位打卡: `inside` the point's polygon or radius, `distance_m`, who checked in (`inspector`), whether
    they were assigned to the point (`assigned`) and who it is assigned to (`assigned_to`); recorded."""
    return checkin_engine.checkin(conn, req.point, req.lon, req.lat, req.crs, req.inspector or principal.name)
