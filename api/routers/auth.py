"""Who am I: lets a client check its key and role."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from api.auth import require_role
from api.models import WhoAmI
from gis.security.keys import Principal

router = APIRouter(tags=["access"])


@router.get("/api/auth/whoami", response_model=WhoAmI, response_model_exclude_unset=True)
def whoami(principal: Principal = Depends(require_role("viewer", device=True))) -> dict:
    return {"name": principal.name, "role": principal.role, "vehicles": list(principal.vehicles)}
