"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import ORJSONResponse

from gis.db import migrate

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
def readyz() -> ORJSONResponse:
    try:
        current = migrate.current_revision()
    except Exception as exc:
        return ORJSONResponse({"ready": False, "database": f"unreachable: {type(exc).__name__}"}, 503)
    head = migrate.head_revision()
    ready = current == head
    return ORJSONResponse(
        {"ready": ready, "database": "reachable", "migration": current, "head": head},
        status_code=200 if ready else 503,
    )
