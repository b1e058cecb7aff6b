"""The FastAPI application factory. Routers are thin: parse, call an engine, shape the answer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from api import errors
from api.auth import optional_principal
from api.middleware import RequestContext
from api.responses import JSONResponse
from api.routers import (
    alarms,
    auth,
    codes,
    fences,
    geocode,
    grids,
    health,
    layers,
    ogc,
    positions,
    tracks,
    web,
)
from gis.db.pool import close_pool
from gis.settings import get_settings


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    close_pool()


def create_app() -> FastAPI:
    app = FastAPI(
        title="CityGrid",
        description="城市运行管理服务平台 GIS 核心: 网格, 地理编码, OGC API, 电子围栏, 热力与流向",
        version="0.1.0",
        default_response_class=JSONResponse,
        lifespan=lifespan,
        # Reads are open unless CITYGRID_READ_REQUIRES_KEY is set; writes check their own role.
        dependencies=[Depends(optional_principal)],
    )
    errors.install(app)
    settings = get_settings()
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["*"],
                           allow_headers=["*"], expose_headers=["X-Request-Id", "ETag"])
    app.add_middleware(RequestContext)
    for module in (health, auth, codes, grids, geocode, ogc, fences, positions, alarms, tracks, layers):
        app.include_router(module.router)
    app.include_router(web.router)  # last: it serves `/` and the static files
    return app
