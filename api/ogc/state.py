"""The OGC routers' process state, created by the app's lifespan and held on `app.state.services.ogc`:
the async connection pool and the caches of counts, extents, tiles, the OpenAPI document and base URLs.

Why an object rather than module globals: the state belongs to one running app (tests start several,
each on its own event loop, and an async pool cannot cross loops), it is closed with the app, and a
reader sees in one place everything a request may reuse. Endpoints reach it with `ogc(request)`: two
attribute lookups, nothing per request on the fast path.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool
from starlette.requests import Request

from api.ogc import pool as ogc_pool
from gis.db.breaker import Breaker, get_breaker
from gis.io.write_batch import CreateBatcher
from gis.settings import get_settings


class LRU:
    """A small bounded mapping (least recently used entries go first)."""

    def __init__(self, size: int):
        self.size = size
        self.data: OrderedDict = OrderedDict()

    def get(self, key):
        value = self.data.get(key)
        if value is not None:
            self.data.move_to_end(key)
        return value

    def put(self, key, value) -> None:
        self.data[key] = value
        self.data.move_to_end(key)
        while len(self.data) > self.size:
            self.data.popitem(last=False)

    def clear(self) -> None:
        self.data.clear()


@dataclass
class Tile:
    """One built tile: its bytes, its ETag, and (made on the first request that accepts it) its gzip twin."""

    data: bytes
    etag: str
    gz: bytes | None = None
    checked: float = 0.0  # wall time the database last confirmed this tile current

    @property
    def size(self) -> int:
        return len(self.data) + len(self.gz or b"")


class TileCache:
    """Bounded by bytes (a tile and its gzip twin both count); least recently used tiles go first."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.bytes = 0
        self.data: OrderedDict[tuple, Tile] = OrderedDict()
        #: (collection, z, x, y) -> the key of its newest cached version: what answers while the
        #: database is unreachable.
        self.newest: dict[tuple, tuple] = {}

    def get(self, key: tuple) -> Tile | None:
        hit = self.data.get(key)
        if hit is not None:
            self.data.move_to_end(key)
        return hit

    def put(self, key: tuple, tile: Tile) -> None:
        if tile.size > self.max_bytes // 8:
            return
        old = self.data.pop(key, None)
        if old is not None:
            self.bytes -= old.size
        self.data[key] = tile
        self.bytes += tile.size
        self.newest[key[:-1]] = key
        while self.bytes > self.max_bytes and self.data:
            gone, evicted = self.data.popitem(last=False)
            self.bytes -= evicted.size
            if self.newest.get(gone[:-1]) == gone:
                del self.newest[gone[:-1]]

    def last_known(self, where: tuple) -> tuple[tuple, Tile] | None:
        """The newest cached version of the tile at (collection, z, x, y), whatever its version."""
        key = self.newest.get(where)
        tile = self.data.get(key) if key is not None else None
        return (key, tile) if tile is not None and key is not None else None

    def grew(self, key: tuple, before: int) -> None:
        """Accounts for a tile that gained its gzip twin after it was put."""
        tile = self.data.get(key)
        if tile is not None:
            self.bytes += tile.size - before

    def clear(self) -> None:
        self.data.clear()
        self.newest.clear()
        self.bytes = 0


class VolatileExtents:
    """Extents of collections without a change counter, kept `ttl_s` seconds."""

    def __init__(self, ttl_s: float):
        self.ttl_s = ttl_s
        self.data: dict[str, tuple[float, Any]] = {}

    def get(self, key: str, expired_ok: bool = False) -> Any | None:
        """The kept extent while it is fresh (or however old, with `expired_ok`: while the database
        is down, an older extent beats none)."""
        kept = self.data.get(key)
        if kept is not None and (expired_ok or time.monotonic() - kept[0] < self.ttl_s):
            return kept[1]
        return None

    def put(self, key: str, value: Any) -> None:
        self.data[key] = (time.monotonic(), value)


@dataclass
class OgcState:
    pool: AsyncConnectionPool
    tiles: TileCache
    #: The circuit breaker of the pool's database (gis/db/breaker.py): every hand-out goes through it,
    #: and the pool is replaced after each recovery (`generation` is the one it was opened in).
    breaker: Breaker = field(default_factory=get_breaker)
    generation: int = 0
    counts: LRU = field(default_factory=lambda: LRU(8192))
    extents: LRU = field(default_factory=lambda: LRU(256))
    volatile_extents: VolatileExtents = field(default_factory=lambda: VolatileExtents(30.0))
    openapi: dict[str, bytes] = field(default_factory=dict)
    bases: dict[tuple, str] = field(default_factory=dict)
    #: The change counters last read and when (wall time): what answers while the database is down.
    last_versions: tuple[dict[str, int], float] | None = None
    _renewing: asyncio.Lock = field(default_factory=asyncio.Lock)
    _retiring: set[asyncio.Task] = field(default_factory=set)
    #: Running OGC API – Processes jobs (api/ogc/processes.py): referenced so they are not collected.
    tasks: set = field(default_factory=set)
    #: Concurrent Part 4 creates written together (gis/io/write_batch.py), on this state's connections.
    creates: CreateBatcher = field(init=False)

    def __post_init__(self) -> None:
        self.creates = CreateBatcher(self.connection, in_flight=get_settings().ogc_create_statements)

    @classmethod
    async def open(cls, breaker: Breaker | None = None) -> OgcState:
        settings = get_settings()
        breaker = breaker or get_breaker()
        return cls(pool=await ogc_pool.open_pool(breaker.url), breaker=breaker, generation=breaker.generation,
                   tiles=TileCache(settings.ogc_tile_cache_mb * 1024 * 1024))

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection]:
        """A connection of the current pool (the one that replaced the old after an outage) behind this
        state's breaker (not the default breaker, whose look-up parses the database URL every time)."""
        async with ogc_pool.connection(await self.current_pool(), self.breaker) as conn:
            yield conn

    async def close(self) -> None:
        await self.pool.close()

    async def current_pool(self) -> AsyncConnectionPool:
        """The pool, replaced by a fresh one after the breaker saw the database come back (a fresh pool
        connects at once, to whichever host is primary, instead of waiting out its reconnect back-off)."""
        generation = self.breaker.generation
        if self.generation == generation:
            return self.pool
        async with self._renewing:
            if self.generation != generation:
                old = self.pool
                self.pool, self.generation = await ogc_pool.open_pool(self.breaker.url), generation
                task = asyncio.get_running_loop().create_task(old.close(timeout=2.0))
                self._retiring.add(task)
                task.add_done_callback(self._retiring.discard)
        return self.pool

    async def fetchone(self, query: str, params: tuple | list = ()) -> tuple | None:
        return await ogc_pool.fetchone(await self.current_pool(), query, params, self.breaker)

    async def fetchone_text(self, query: str, params: tuple | list = ()) -> tuple[bytes | None, ...] | None:
        return await ogc_pool.fetchone_text(await self.current_pool(), query, params, self.breaker)

    async def fetchall(self, query: str, params: tuple | list = ()) -> list[tuple]:
        return await ogc_pool.fetchall(await self.current_pool(), query, params, self.breaker)


def ogc(request: Request) -> OgcState:
    """The app's OGC state (set up by the lifespan; see api/services.py)."""
    return request.app.state.services.ogc
