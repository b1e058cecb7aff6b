"""Everything the server keeps between requests, in one object created by the app's lifespan and held
on `app.state.services`: the connection pools, the in-memory indexes and the caches.

Why one object: process state was spread over a dozen module globals (two pools, the grid and address
indexes, tile/count/extent/OpenAPI caches, layer answers), created on first use and never closed.
Here it is made when the app starts, closed when it stops, and handed to routers through the
dependencies below (or `request.app.state.services` on the OGC fast path). Engines never see it:
they take a connection, an index or a cache as arguments, so the CLI and the benchmarks build their
own objects (or use the engines' defaults) without an app.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any

import anyio
import psycopg
from fastapi import Depends, Request

from api.jobs import ImportJobs
from api.limits import Limiter
from api.ogc.state import OgcState
from api.principals import PrincipalCache
from geocoder.index import IndexCache as AddressIndexes
from gis.db.breaker import Breaker, get_breaker, stop_breaker
from gis.db.pool import Pool, make_pool
from gis.grids.locate import IndexCache as GridIndexes
from gis.security.audit_loop import LoopWriter
from gis.security.oidc import Issuer
from gis.security.scope import Areas
from gis.security.usage import Usage
from gis.settings import get_settings
from layers.cache import LayerCache


@dataclass
class Services:
    breaker: Breaker                # the database's circuit breaker (gis/db/breaker.py): probe thread
    pool: Pool                      # sync: the engines' connections (behind the breaker)
    ogc: OgcState                   # async pool + caches of the OGC routers
    grids: GridIndexes              # in-memory grid locate index
    addresses: AddressIndexes       # in-memory geocoder reference index
    layers: LayerCache              # heat/raster/flow answers
    acquiring: anyio.CapacityLimiter  # threads that wait for pooled connections (see api.deps)
    holding: anyio.Semaphore          # connections held by request dependencies
    imports: ImportJobs = field(default_factory=ImportJobs)   # HTTP uploads running in worker threads
    webhooks: Any = None              # the alarm webhook worker (gis.fences.webhooks.Worker), when enabled
    audit: LoopWriter | None = None  # group commit of the requests' audit entries, on the loop (set by start)
    areas: Areas = field(default_factory=Areas)  # principals' areas, resolved once (gis/security/scope.py)
    principals: PrincipalCache = field(default_factory=PrincipalCache)  # API keys' principals, a few seconds
    limits: Limiter = field(default_factory=Limiter)  # failed-attempt lock-out per client, token bucket per caller
    issuer: Issuer = field(default_factory=Issuer)    # the OpenID Connect issuer: discovery and JWKS caches
    usage: Usage | None = None        # per-application call counts, flushed to app_calls in batches

    @classmethod
    async def start(cls) -> Services:
        settings = get_settings()
        breaker = get_breaker()
        breaker.start()  # the background probe: database paths fail fast while it is unreachable
        pool = make_pool(breaker.url)
        services = cls(
            breaker=breaker, pool=pool, ogc=await OgcState.open(breaker), grids=GridIndexes(),
            addresses=AddressIndexes(),
            layers=LayerCache(), acquiring=anyio.CapacityLimiter(64),
            holding=anyio.Semaphore(max(1, settings.db_pool_size - settings.endpoint_threads)),
        )
        services.audit = LoopWriter(services.audit_connection)
        services.usage = Usage(services.connection)
        services.usage.start()
        return services

    async def close(self) -> None:
        if self.usage is not None:
            await anyio.to_thread.run_sync(self.usage.close)
        if self.audit is not None:
            await self.audit.aclose()
        await self.ogc.close()
        self.pool.close()
        stop_breaker(self.breaker)

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        """A pooled connection for work off the request dependencies (streams, ingest, audit, auth);
        DatabaseUnavailable at once while the breaker is open."""
        with self.pool.connection() as conn:
            yield conn

    async def audit_connection(self) -> psycopg.AsyncConnection:
        """The audit writer's own autocommit connection (held between batches, like the thread writer's
        pooled one); DatabaseUnavailable at once while the breaker is open."""
        self.breaker.check()
        try:
            return await psycopg.AsyncConnection.connect(self.breaker.url, autocommit=True,
                                                         connect_timeout=self.breaker.timeout_s)
        except psycopg.OperationalError:
            self.breaker.record_failure()
            raise

    @contextmanager
    def connection_or_none(self) -> Iterator[psycopg.Connection | None]:
        """A pooled connection, or None while the database is unreachable (paths that answer from memory)."""
        with self.pool.connection_or_none() as conn:
            yield conn

    def warm_up(self) -> None:
        """Builds the in-memory indexes once, before the first request (see api.app.lifespan)."""
        with self.connection() as conn:
            self.grids.get(conn)
            self.addresses.get(conn)


def of(app_or_scope: Any) -> Services:
    """The services of an app (or of an ASGI scope, for middleware)."""
    app = app_or_scope["app"] if isinstance(app_or_scope, dict) else app_or_scope
    return app.state.services


def services(request: Request) -> Services:
    """Dependency: the app's services."""
    return request.app.state.services


Svc = Annotated[Services, Depends(services)]
