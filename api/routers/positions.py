"""GPS ingest: `POST /api/positions` (a JSON array of up to 10,000 fixes)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from api.auth import require_role
from api.metrics import count_ingest
from api.services import Services, Svc
from gis.errors import TooLarge
from gis.fences.feed import feed
from gis.settings import get_settings
from gis.stream import fixstream
from gis.tracks import ingest

router = APIRouter(tags=["tracks"])


def _ingest(svc: Services, body: bytes, allowed: set[str] | None, crs: str | None
            ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    with svc.connection() as conn:
        if get_settings().ingest_mode == "broker":   # fence workers store and evaluate (gis.stream)
            return fixstream.enqueue(conn, body, allowed=allowed, default_crs=crs), []
        return ingest.ingest(conn, body, allowed=allowed, default_crs=crs)


@router.post("/api/positions", summary="Ingest GPS fixes (validated, stored, evaluated against fences)")
async def post_positions(request: Request, svc: Svc, crs: str | None = None,
                         principal: Any = Depends(require_role("inspector", device=True))) -> dict[str, Any]:
    """Body: `[{vehicle_id, ts, lon, lat, speed_kmh?, heading?, crs?}, …]`, `ts` ISO 8601 with an offset
    or Z; coordinates in the fix's `crs` (or the `crs` query parameter; default CRS84), GCJ02 and BD09
    included. Answers `accepted`, `rejected`, `duplicates` and `reasons` {reason: count} with `errors`
    [{index, vehicle_id, reason, detail}]. Reasons: """ + ", ".join(ingest.REASONS) + """. A device key
    may report only for its own vehicles. In broker mode (`CITYGRID_INGEST_MODE=broker`) `accepted` counts
fixes made durable in the fix stream (`queued`); fence workers store and evaluate them."""
    body = await request.body()
    if len(body) > 64 * 1024 * 1024:
        raise TooLarge("body larger than 64 MiB")
    allowed = set(principal.vehicles) if principal.role == "device" else None
    answer, events = await run_in_threadpool(_ingest, svc, body, allowed, crs)
    count_ingest(answer, events)
    feed.publish(events)
    return answer
