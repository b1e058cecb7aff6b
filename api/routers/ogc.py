"""OGC API – Features and Tiles under /ogc (the routers live in api/ogc/; their state in api/ogc/state.py,
opened and closed by the app's lifespan)."""

from __future__ import annotations

from fastapi import APIRouter

from api.ogc import features, moving, processes, tiles, transactions

router = APIRouter()
router.include_router(moving.router)  # first: its fixed collection paths before {collection_id}
router.include_router(features.router)
router.include_router(tiles.router)
router.include_router(transactions.router)
router.include_router(processes.router)
