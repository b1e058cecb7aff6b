"""The async connection pool of the OGC hot paths.

One pool per app, opened by its lifespan on the app's event loop and held by api.ogc.state.OgcState
(which replaces it after the circuit breaker saw the database come back; every hand-out goes through
the breaker: refused at once while the database is unreachable, see gis/db/breaker.py).
Connections are autocommit, prepare repeated statements on the server
(psycopg prepares a query text after it has been run `prepare_threshold` times), and load `text` as
raw bytes: the GeoJSON and MVT built in the database go to the socket without a decode/encode trip.

`fetchone_text` is the thinnest read, for the hottest answers (one feature, a tile's version): it
speaks to libpq directly. On a one-feature answer psycopg's cursor machinery (a cursor, its
transformer and loaders, the prepared-statement bookkeeping) cost more CPU than everything else the
request does; without it the whole request takes ~40 % less CPU.
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from functools import lru_cache

import psycopg
from psycopg import errors as pg_errors
from psycopg import generators, pq
from psycopg.adapt import Loader
from psycopg.waiting import wait_async
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from gis.db.breaker import Breaker, get_breaker
from gis.db.engine import database_url
from gis.errors import DatabaseUnavailable, InvalidInput
from gis.settings import get_settings


class RawTextLoader(Loader):
    """`text` values as the bytes on the wire (UTF-8): spliced into answers as they are."""

    def load(self, data: bytes | bytearray | memoryview) -> bytes:
        return bytes(data)


async def _configure(conn: psycopg.AsyncConnection) -> None:
    for name in ("text", "varchar", "bpchar", "json"):
        conn.adapters.register_loader(name, RawTextLoader)


async def open_pool(url: str | None = None) -> AsyncConnectionPool:
    """An async pool for the app (opened by the lifespan, on the app's event loop, and again by
    api.ogc.state.OgcState after the breaker saw the database come back)."""
    settings = get_settings()
    pool = AsyncConnectionPool(
        url or database_url(), min_size=1, max_size=settings.ogc_pool_size, open=False,
        kwargs={"autocommit": True, "prepare_threshold": 1,
                "connect_timeout": max(2, settings.db_probe_timeout_s)},
        configure=_configure, timeout=settings.db_acquire_timeout_s,
    )
    await pool.open(wait=False)
    return pool


#: Longest single wait for a pooled connection before the breaker is looked at again.
SLICE_S = 0.2


async def _getconn(pool: AsyncConnectionPool, breaker: Breaker) -> psycopg.AsyncConnection:
    """A connection within the acquire timeout, given up at once when the breaker opens meanwhile."""
    deadline = time.monotonic() + get_settings().db_acquire_timeout_s
    while True:
        try:
            return await pool.getconn(timeout=max(0.01, min(SLICE_S, deadline - time.monotonic())))
        except PoolTimeout:
            breaker.record_failure()
            breaker.check()
            if time.monotonic() >= deadline:
                raise DatabaseUnavailable("no database connection became free in time; retry shortly",
                                          extra={"retry_after": breaker.retry_after_s}) from None


@asynccontextmanager
async def connection(pool: AsyncConnectionPool,
                     breaker: Breaker | None = None) -> AsyncIterator[psycopg.AsyncConnection]:
    """A connection of `pool` behind `breaker` (default: the configured database's)."""
    breaker = breaker or get_breaker()
    breaker.check()  # fails at once while the database is known to be unreachable
    conn = await _getconn(pool, breaker)
    try:
        yield conn
    except psycopg.errors.DataError as exc:
        # A value of the request that the database cannot read as the property's type (22xxx).
        raise InvalidInput(f"a value does not fit its property: {exc.diag.message_primary or exc}") from None
    except psycopg.OperationalError as exc:
        breaker.record_failure(exc)
        raise DatabaseUnavailable(f"database unreachable: {exc}") from exc
    finally:
        await pool.putconn(conn)


async def fetchone(pool: AsyncConnectionPool, query: str, params: tuple | list = (),
                   breaker: Breaker | None = None) -> tuple | None:
    async with connection(pool, breaker) as conn:
        cur = await conn.execute(query, params)
        return await cur.fetchone()


async def fetchall(pool: AsyncConnectionPool, query: str, params: tuple | list = (),
                   breaker: Breaker | None = None) -> list[tuple]:
    async with connection(pool, breaker) as conn:
        cur = await conn.execute(query, params)
        return await cur.fetchall()


#: Values `fetchone_text` sends as text parameters (PostgreSQL infers each one's type from the query).
TextParam = str | int | float | None | Sequence[str]
_PLAIN = (str, int, float, type(None))
#: Statement names of `fetchone_text`, per connection (an attribute of the connection object); the
#: oldest are deallocated past this many, as psycopg bounds its own.
_PREPARED_ATTR = "_citygrid_prepared"
PREPARED_MAX = 128
#: psycopg's wait interval (how often a wait looks up from the socket, e.g. for a cancelled task).
_WAIT_INTERVAL = 0.1
_PLACEHOLDER = re.compile(r"%(.)", re.S)


def plain(params: Sequence[object]) -> bool:
    """Whether `fetchone_text` can send these parameters: str, int, float, None, or lists of str."""
    return all((type(v) in _PLAIN and v is not True and v is not False)
               or (type(v) in (list, tuple) and all(type(i) is str for i in v)) for v in params)


def _text(value: TextParam) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, (list, tuple)):  # an array literal, every element quoted
        return ("{" + ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in value)
                + "}").encode()
    return str(value).encode()


@lru_cache(maxsize=1024)
def _numbered(query: str) -> bytes:
    """A psycopg query text (`%s` placeholders, `%%` for a percent sign) with PostgreSQL's `$n`."""
    n = 0

    def one(m: re.Match[str]) -> str:
        nonlocal n
        if m.group(1) == "%":
            return "%"
        if m.group(1) != "s":
            raise ValueError(f"fetchone_text takes %s placeholders only, not %{m.group(1)}")
        n += 1
        return f"${n}"

    return _PLACEHOLDER.sub(one, query).encode()


async def _result(conn: psycopg.AsyncConnection) -> pq.abc.PGresult:
    """The last result of what was sent on `conn` (a failed one raised as psycopg's error for it)."""
    pgconn = conn.pgconn
    results = await wait_async(generators.execute(pgconn), pgconn.socket, interval=_WAIT_INTERVAL)
    result = results[-1]
    if result.status not in (pq.ExecStatus.TUPLES_OK, pq.ExecStatus.COMMAND_OK):
        raise pg_errors.error_from_result(result, encoding=conn.info.encoding)
    return result


async def _deallocate(conn: psycopg.AsyncConnection, name: bytes) -> None:
    """Drops the prepared statement `name` on `conn`."""
    conn.pgconn.send_query(b"DEALLOCATE " + name)
    await _result(conn)


class _Statements:
    """What `fetchone_text` prepared on one connection: names by query text, oldest first."""

    def __init__(self) -> None:
        self.names: OrderedDict[bytes, bytes] = OrderedDict()
        self.made = 0


async def _prepared(conn: psycopg.AsyncConnection, sql: bytes) -> bytes:
    """The name under which `sql` is prepared on `conn`, preparing it the first time."""
    known: _Statements | None = getattr(conn, _PREPARED_ATTR, None)
    if known is None:
        known = _Statements()
        setattr(conn, _PREPARED_ATTR, known)
    name = known.names.get(sql)
    if name is not None:
        known.names.move_to_end(sql)
        return name
    if len(known.names) >= PREPARED_MAX:
        _, oldest = known.names.popitem(last=False)
        await _deallocate(conn, oldest)
    name = b"cg_%d" % known.made
    known.made += 1  # never reused on this connection, even after its names were forgotten
    conn.pgconn.send_prepare(name, sql)
    try:
        await _result(conn)
    except pg_errors.DuplicatePreparedStatement:  # left by a prepare whose answer was never read
        await _deallocate(conn, name)
        conn.pgconn.send_prepare(name, sql)
        await _result(conn)
    known.names[sql] = name
    return name


async def fetchone_text(pool: AsyncConnectionPool, query: str, params: Sequence[TextParam] = (),
                        breaker: Breaker | None = None) -> tuple[bytes | None, ...] | None:
    """The first row of `query`, each value as the text PostgreSQL sent (bytes), or None.

    The query text is prepared once per connection under its own name and then run by name with its
    parameters as text (see the module's note for why). Parameters: see `plain`."""
    if not plain(params):
        raise TypeError("fetchone_text takes str, int, float, None or lists of str; use fetchone")
    sql, values = _numbered(query), [_text(v) for v in params]
    async with connection(pool, breaker) as conn:
        result = await _run_prepared(conn, sql, values)
        if result.ntuples == 0:
            return None
        return tuple(result.get_value(0, i) for i in range(result.nfields))


async def _run_prepared(conn: psycopg.AsyncConnection, sql: bytes, values: list[bytes | None]) -> pq.abc.PGresult:
    """Runs `sql` by its prepared name; prepares it again once when the statement is gone (psycopg
    sends DEALLOCATE ALL when it clears its own statement cache) or its plan no longer fits the schema
    ("cached plan must not change result type" after a table was re-created)."""
    try:
        conn.pgconn.send_query_prepared(await _prepared(conn, sql), values)
        return await _result(conn)
    except pg_errors.InvalidSqlStatementName:
        getattr(conn, _PREPARED_ATTR).names.clear()
    except pg_errors.FeatureNotSupported:
        known: _Statements = getattr(conn, _PREPARED_ATTR)
        await _deallocate(conn, known.names.pop(sql))
    conn.pgconn.send_query_prepared(await _prepared(conn, sql), values)
    return await _result(conn)
