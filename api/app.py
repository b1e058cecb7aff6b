"""The FastAPI application factory. Routers are thin: parse, call an engine, shape the answer."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.concurrency import run_in_threadpool

from api import errors
from api.auth import optional_principal
from api.middleware import Compression, RequestContext
from api.ogc import query as ogc_query
from api.ogc.collections import COLLECTIONS
from api.ogc.fastpath import OgcFastPath
from api.responses import JSONResponse
from api.routers import (
    alarms,
    auth,
    cases,
    catalog,
    codes,
    devices,
    fences,
    geocode,
    grids,
    health,
    layers,
    muck,
    nearby,
    ogc,
    positions,
    samples,
    shops,
    stats,
    tracks,
    web,
    webhooks,
)
from api.services import Services
from gis.fences.webhooks import Worker
from gis.settings import get_settings

log = logging.getLogger("citygrid.app")


def warm_up(services: Services) -> None:
    """Builds the in-memory indexes (grids, addresses) once, before the first request.

    Without this, the first burst of requests would all wait on one rebuild while holding pooled
    connections. A database that is down at start-up only delays the build to the first request.
    """
    try:
        services.warm_up()
    except Exception:
        log.warning("index warm-up skipped: database not ready", exc_info=True)


def warm_openapi(app: FastAPI) -> None:
    """Builds and caches the OpenAPI document (FastAPI keeps it on the app once built)."""
    try:
        app.openapi()
    except Exception:
        log.warning("OpenAPI warm-up failed; the first /openapi.json builds it", exc_info=True)


async def warm_ogc(services: Services) -> None:
    try:
        await ogc_query.warm(services.ogc, COLLECTIONS)
    except Exception:
        log.warning("OGC extents warm-up skipped: database not ready", exc_info=True)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Creates the process state (api/services.py) on `app.state.services` and closes it at the end."""
    settings = get_settings()
    anyio.to_thread.current_default_thread_limiter().total_tokens = settings.endpoint_threads
    services = await Services.start()
    app.state.services = services
    if settings.webhooks_enabled:  # alarm webhooks: delivered from a thread of this process
        services.webhooks = Worker(services.connection)
        services.webhooks.start()
    try:
        background: list[asyncio.Future] = []
        if settings.warm_indexes:
            await run_in_threadpool(warm_up, services)
            # Not awaited: the server takes requests meanwhile. The page's first two requests are the
            # OpenAPI document (~1.7 s of CPU to build once) and the collections with their extents.
            loop = asyncio.get_running_loop()
            background += [loop.run_in_executor(None, warm_openapi, app),
                           asyncio.ensure_future(warm_ogc(services))]
        # Everything loaded at start-up (modules, indexes) is long-lived: keep it out of the collector's
        # scans, so a full collection during a request costs ~0 ms instead of ~50 ms (a p99 spike).
        gc.freeze()
        yield
    finally:
        for task in background:
            task.cancel()
        if services.webhooks is not None:
            await run_in_threadpool(services.webhooks.close)
        await services.close()


def create_app() -> FastAPI:
    app = FastAPI(
        title="CityGrid",
        description="城市运行管理服务平台 GIS 核心: 网格, 地理编码, OGC API, 电子围栏, 热力与流向",
        version="0.1.0",
        default_response_class=JSONResponse,
        lifespan=lifespan,
        # /docs is served by the web router from the project's own Swagger UI files (no CDN); ReDoc
        # would load its script from a CDN, so it is off.
        docs_url=None,
        redoc_url=None,
        # Reads are open unless CITYGRID_READ_REQUIRES_KEY is set; writes check their own role.
        dependencies=[Depends(optional_principal)],
        # FastAPI's built-in OpenTelemetry hooks look for configured providers on every request (~2 % of
        # a one-feature answer); CityGrid's metrics are Prometheus (/metrics) and its logs JSON lines.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    errors.install(app)
    settings = get_settings()
    app.add_middleware(OgcFastPath)  # innermost: the OGC hot paths skip FastAPI's routing, not the middleware
    # Pages of features are JSON that shrinks ~10×: compressed for clients that ask (browsers do; wrk and
    # many machine clients do not). Answers under 4 KiB are not worth the CPU.
    app.add_middleware(Compression)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["*"],
                           allow_headers=["*"], expose_headers=["X-Request-Id", "ETag"])
    app.add_middleware(RequestContext)
    for module in (health, auth, catalog, codes, grids, geocode, ogc, fences, positions, alarms, webhooks, tracks,
                   layers, nearby, devices, cases, shops, muck, samples, stats):
        app.include_router(module.router)
    app.include_router(web.router)  # last: it serves `/` and the static files
    return app
