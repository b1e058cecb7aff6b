"""OGC API – Features and Tiles under /ogc (the routers live in api/ogc/)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from api.ogc import features, pool, tiles


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    await pool.close_pools()


router = APIRouter(lifespan=_lifespan)
router.include_router(features.router)
router.include_router(tiles.router)
