"""Who am I: lets a client check its key, role and area."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from api.auth import area_of, require_role
from api.models import WhoAmI
from gis.security.keys import Principal

router = APIRouter(tags=["access"])


@router.get("/api/auth/whoami", response_model=WhoAmI, response_model_exclude_unset=True)
async def whoami(request: Request, principal: Principal = Depends(require_role("viewer", device=True))) -> dict:
    """The key's name and role, the vehicles of a device key, and the area it is limited to (`area`
    null: the whole city)."""
    area = await run_in_threadpool(area_of, request)
    return {"name": principal.name, "role": principal.role, "vehicles": list(principal.vehicles),
            "area": principal.area, "area_kind": area.kind if area else None,
            "area_name": area.name if area else None}
